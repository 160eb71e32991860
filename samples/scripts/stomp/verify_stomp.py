#!/usr/bin/python3
"""tshark cross-check of stomp-rabbitmq (client-side log only).

  /usr/bin/python3 verify_stomp.py CAPTURE LOG [STREAMS_DIR]

The broker cannot be instrumented, so the log has only the client's lines:
`tcp` client sent (= c2s) and client received (= s2c), and `msg` lines of
side "client".  For every logged connection this finds the TCP stream with
the same endpoints, reassembles both directions with
`tshark -z follow,tcp,raw,N` and compares length and SHA-256 with the client's
tcp lines (and with the stream files, if given).  Then it compares the
WebSocket frames tshark dissects (opcode counts per direction; continuation
frames counted apart) with the client's msg lines (sent for c2s, received for
s2c).  Exit status non-zero on any mismatch.  (The payloads themselves are
compared by wscope's own tests.)
"""
import base64
import collections
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys


def tshark(*args):
    r = subprocess.run(["tshark", *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("tshark failed: %s" % r.stderr)
    return r.stdout


def norm_ep(s):
    host, port = s.rsplit(":", 1)
    return host.strip("[]"), int(port)


def main():
    cap, logf = sys.argv[1], sys.argv[2]
    streams_dir = sys.argv[3] if len(sys.argv) > 3 else None
    ok = True
    conns, tcp, msgs = {}, {}, collections.defaultdict(list)
    opener = gzip.open if logf.endswith(".gz") else open
    with opener(logf, "rt", encoding="utf-8") as f:
        for line in f:
            o = json.loads(line)
            if o["kind"] == "conn":
                conns[o["conn"]] = o
            elif o["kind"] == "tcp":
                tcp[(o["conn"], o["dir"])] = o
            elif o["kind"] == "msg":
                msgs[(o["conn"], o["dir"])].append(o)

    out = tshark("-r", cap, "-Y", "tcp.flags.syn==1 && tcp.flags.ack==0", "-T", "fields",
                 "-e", "tcp.stream", "-e", "ip.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "tcp.dstport")
    stream_of = {}
    for line in out.splitlines():
        st, s, sp, d, dp = line.split("\t")
        stream_of[(s, int(sp), d, int(dp))] = int(st)

    args = ["-r", cap, "-q"]
    for st in sorted(stream_of.values()):
        args += ["-z", "follow,tcp,raw,%d" % st]
    data = {}
    for block in tshark(*args).split("=" * 67):
        m = re.search(r"Filter: tcp\.stream eq (\d+)\nNode 0: (\S+)\nNode 1: (\S+)\n", block)
        if not m:
            continue
        b0, b1 = bytearray(), bytearray()
        for ln in block[m.end():].splitlines():
            if not ln.strip():
                continue
            if ln.startswith("\t"):
                b1 += bytes.fromhex(ln.strip())
            else:
                b0 += bytes.fromhex(ln.strip())
        data[int(m.group(1))] = {norm_ep(m.group(2)): bytes(b0), norm_ep(m.group(3)): bytes(b1)}

    # WebSocket frames as tshark dissects them, in stream order.
    out = tshark("-r", cap, "-Y", "websocket", "-T", "fields",
                 "-e", "tcp.stream", "-e", "tcp.srcport", "-e", "websocket.opcode",
                 "-e", "websocket.fin")
    frames = collections.defaultdict(list)
    for line in out.splitlines():
        st, sp, ops, _fins = (line.split("\t") + [""] * 4)[:4]
        for op in ops.split(","):
            frames[(int(st), int(sp))].append(int(op))

    print("capture %s: %d logged connections, %d TCP streams" % (os.path.basename(cap), len(conns), len(stream_of)))
    names = {1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}
    for k in sorted(conns):
        c = conns[k]
        cl = (c["client"]["ip"], c["client"]["port"])
        sv = (c["server"]["ip"], c["server"]["port"])
        st = stream_of.get(cl + sv)
        if st is None:
            print("  conn %d: NO STREAM" % k)
            ok = False
            continue
        parts = []
        for d, src in (("c2s", cl), ("s2c", sv)):
            wire = data.get(st, {}).get(src, b"")
            t = tcp.get((k, d))
            good = t is not None and (t["len"], t["sha256"]) == (len(wire), hashlib.sha256(wire).hexdigest())
            if streams_dir:
                with open(os.path.join(streams_dir, "%d.%s" % (k, d)), "rb") as f:
                    good = good and f.read() == wire
            ok = ok and good
            parts.append("%s %d bytes %s" % (d, len(wire), "ok" if good else "MISMATCH"))
            seen = collections.Counter(frames[(st, src[1])])
            logged = collections.Counter(m["opcode"] for m in msgs[(k, d)])
            for op, nm in names.items():
                if seen[op] != logged[nm]:
                    ok = False
                    parts.append("%s %s: tshark %d, log %d MISMATCH" % (d, nm, seen[op], logged[nm]))
                elif seen[op]:
                    parts.append("%s %s=%d" % (d, nm, seen[op]))
            if seen[0]:
                parts.append("%s continuation=%d" % (d, seen[0]))
        print("  conn %d = tcp.stream %d: %s" % (k, st, ", ".join(parts)))

    print("RESULT: %s" % ("OK" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
