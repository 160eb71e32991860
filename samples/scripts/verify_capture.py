#!/usr/bin/python3
"""Cross-check a sample capture against its endpoint log using tshark.

  /usr/bin/python3 verify_capture.py CAPTURE NAME.endpoints.jsonl [STREAMS_DIR]

tshark is used as an independent second opinion (it is NOT where the ground
truth comes from).  For every logged connection the script finds the TCP
stream with the same client/server address and port, reassembles both
directions with `tshark -z follow,tcp,raw,N`, and compares length and
SHA-256 with what the endpoints logged (sender's "sent" and receiver's
"received").  It also counts TCP analysis flags (lost segments must be 0)
and, if STREAMS_DIR is given, compares the raw stream files too.
Exit status is non-zero on any mismatch.
"""

import gzip
import collections
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
    """'127.0.0.1:9501' / '[::1]:9501' -> (ip, port)"""
    host, port = s.rsplit(":", 1)
    return host.strip("[]"), int(port)


def main():
    cap, logf = sys.argv[1], sys.argv[2]
    streams_dir = sys.argv[3] if len(sys.argv) > 3 else None
    ok = True

    conns, tcp = {}, {}
    msgs = collections.Counter()
    opener = gzip.open if logf.endswith(".gz") else open
    with opener(logf, "rt", encoding="utf-8") as f:
        for line in f:
            o = json.loads(line)
            if o["kind"] == "conn":
                conns[o["conn"]] = o
            elif o["kind"] == "tcp":
                tcp[(o["conn"], o["side"], o["role"])] = o
            elif o["kind"] == "msg":
                msgs[(o["conn"], o["side"], o["role"], o["opcode"])] += 1

    # Stream numbers and endpoints, from the SYN packets.
    out = tshark("-r", cap, "-Y", "tcp.flags.syn==1 && tcp.flags.ack==0", "-T", "fields",
                 "-e", "tcp.stream", "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport",
                 "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport")
    stream_of = {}
    for line in out.splitlines():
        st, s4, s6, sp, d4, d6, dp = line.split("\t")
        stream_of[((s4 or s6), int(sp), (d4 or d6), int(dp))] = int(st)

    # Per-stream segment statistics.
    out = tshark("-r", cap, "-T", "fields", "-e", "tcp.stream", "-e", "tcp.srcport",
                 "-e", "tcp.len", "-e", "tcp.flags.fin", "-e", "tcp.flags.reset")
    seg = collections.defaultdict(lambda: collections.Counter())
    for line in out.splitlines():
        st, sp, ln, fin, rst = line.split("\t")
        c = seg[int(st)]
        c["packets"] += 1
        c["bytes:%s" % sp] += int(ln)
        c["fin"] += fin in ("1", "True")
        c["rst"] += rst in ("1", "True")

    # Reassembled payload per stream and direction.
    wanted = sorted(stream_of.values())
    args = ["-r", cap, "-q"]
    for st in wanted:
        args += ["-z", "follow,tcp,raw,%d" % st]
    out = tshark(*args)
    data = {}
    for block in out.split("=" * 67):
        m = re.search(r"Filter: tcp\.stream eq (\d+)\nNode 0: (\S+)\nNode 1: (\S+)\n", block)
        if not m:
            continue
        st = int(m.group(1))
        n0, n1 = norm_ep(m.group(2)), norm_ep(m.group(3))
        b0, b1 = bytearray(), bytearray()
        for ln in block[m.end():].splitlines():
            if not ln.strip():
                continue
            if ln.startswith("\t"):
                b1 += bytes.fromhex(ln.strip())
            else:
                b0 += bytes.fromhex(ln.strip())
        data[st] = {n0: bytes(b0), n1: bytes(b1)}

    print("capture %s: %d logged connections, %d TCP streams with SYN" %
          (os.path.basename(cap), len(conns), len(stream_of)))
    for k in sorted(conns):
        c = conns[k]
        cl = (c["client"]["ip"], c["client"]["port"])
        sv = (c["server"]["ip"], c["server"]["port"])
        st = stream_of.get(cl + sv)
        if st is None:
            print("  conn %d: NO STREAM for %r -> %r" % (k, cl, sv))
            ok = False
            continue
        s = seg[st]
        line = "  conn %d = tcp.stream %d (%s:%d): %d pkts, fin=%d rst=%d" % (
            k, st, cl[0], cl[1], s["packets"], s["fin"], s["rst"])
        for d, src, snd, rcv in (("c2s", cl, "client", "server"), ("s2c", sv, "server", "client")):
            wire = data.get(st, {}).get(src, b"")
            wl, wh = len(wire), hashlib.sha256(wire).hexdigest()
            seglen = s["bytes:%d" % src[1]]
            # A side that cannot see its raw bytes (the browser in
            # ws-chromium) has no tcp lines; the other side's line must exist.
            sent, recv = tcp.get((k, snd, "sent")), tcp.get((k, rcv, "received"))
            res = []
            for what, o in (("sent", sent), ("recv", recv)):
                if o is None:
                    res.append("%s:n/a" % what)
                    continue
                res.append("%s:%s" % (what, "ok" if (o["len"], o["sha256"]) == (wl, wh) else
                                     "MISMATCH(%d)" % o["len"]))
            good = (all(r.endswith("ok") or r.endswith("n/a") for r in res) and seglen == wl
                    and (sent is not None or recv is not None))
            if not good:
                ok = False
            if streams_dir:
                p = os.path.join(streams_dir, "%d.%s" % (k, d))
                if os.path.exists(p):
                    with open(p, "rb") as f:
                        fb = f.read()
                    res.append("file:%s" % ("ok" if fb == wire else "MISMATCH"))
                    ok = ok and fb == wire
            line += " | %s %d bytes (tcp.len sum %d) %s" % (d, wl, seglen, " ".join(res))
        print(line)

    flags = {}
    for f in ("tcp.analysis.lost_segment", "tcp.analysis.ack_lost_segment",
              "tcp.analysis.retransmission", "tcp.analysis.fast_retransmission",
              "tcp.analysis.out_of_order", "tcp.analysis.duplicate_ack",
              "tcp.analysis.zero_window"):
        out = tshark("-r", cap, "-Y", f, "-T", "fields", "-e", "frame.number")
        flags[f] = len(out.split())
    print("  tcp analysis: " + ", ".join("%s=%d" % (f.split(".")[-1], n) for f, n in flags.items()))
    if flags["tcp.analysis.lost_segment"] or flags["tcp.analysis.ack_lost_segment"]:
        ok = False

    if msgs:
        # WebSocket frames as tshark's own dissector sees them, per connection
        # and direction, compared with the endpoints' message logs: every
        # logged control message (ping/pong/close) is exactly one frame, and
        # every logged data message starts with exactly one text/binary frame
        # (continuation frames, opcode 0, are not counted).
        out = tshark("-r", cap, "-Y", "websocket", "-T", "fields", "-e", "tcp.stream",
                     "-e", "tcp.srcport", "-e", "websocket.opcode")
        seen = collections.Counter()
        for line in out.splitlines():
            st, sp, opl = line.split("\t")
            for op in opl.split(","):
                seen[(int(st), int(sp), int(op))] += 1
        names = {1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}
        for k in sorted(conns):
            c = conns[k]
            cl = (c["client"]["ip"], c["client"]["port"])
            sv = (c["server"]["ip"], c["server"]["port"])
            st = stream_of.get(cl + sv)
            parts = []
            for d, src, snd, rcv in (("c2s", cl, "client", "server"), ("s2c", sv, "server", "client")):
                for op, name in names.items():
                    t = seen[(st, src[1], op)]
                    a = msgs[(k, snd, "sent", name)]
                    b = msgs[(k, rcv, "received", name)]
                    if not (t == a == b):
                        ok = False
                        parts.append("%s %s: tshark %d, sent %d, received %d MISMATCH" % (d, name, t, a, b))
                    else:
                        parts.append("%s %s=%d" % (d, name, t))
                parts.append("%s continuation=%d" % (d, seen[(st, src[1], 0)]))
            print("  conn %d websocket frames (tshark vs log): %s" % (k, ", ".join(parts)))

    print("RESULT: %s" % ("OK" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
