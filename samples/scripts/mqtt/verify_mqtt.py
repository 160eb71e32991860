#!/usr/bin/python3
"""tshark cross-check of the mqtt-mosquitto sample (client-side log only).

  /usr/bin/python3 verify_mqtt.py CAPTURE LOG(.jsonl[.gz]) [STREAMS_DIR]

The broker (mosquitto) cannot be instrumented, so the log has only
side "client" tcp/msg lines; ../verify_capture.py wants both sides' msg
lines, hence this variant.  For every logged connection:
  * the TCP stream with the same addresses (from its SYN) is reassembled
    with `tshark -z follow,tcp,raw,N`; client sent == c2s bytes on the wire,
    client received == s2c bytes (length and SHA-256), and == the stream
    files if STREAMS_DIR is given;
  * tshark's WebSocket frames are counted per direction and opcode and
    compared with the client's msg lines (sent for c2s, received for s2c;
    continuation frames are not counted).
(tshark 4.0 does not hand these WebSocket payloads to its MQTT dissector,
so MQTT itself is not cross-checked here; the scenario parses the payloads
with mqtt-packet and compares with mqtt.js's events and mosquitto's log.)
Exit status is non-zero on any mismatch.
"""

import collections
import gzip
import hashlib
import json
import os
import subprocess
import sys


def tshark(*args):
    r = subprocess.run(["tshark", *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("tshark failed: %s" % r.stderr)
    return r.stdout


def main():
    cap, logf = sys.argv[1], sys.argv[2]
    streams_dir = sys.argv[3] if len(sys.argv) > 3 else None
    ok = True
    conns, tcp = {}, {}
    msgs = collections.Counter()
    apps = collections.Counter()
    opener = gzip.open if logf.endswith(".gz") else open
    with opener(logf, "rt", encoding="utf-8") as f:
        for line in f:
            o = json.loads(line)
            if o["kind"] == "conn":
                conns[o["conn"]] = o
            elif o["kind"] == "tcp":
                tcp[(o["conn"], o["role"])] = o
            elif o["kind"] == "msg":
                msgs[(o["conn"], o["dir"], o["opcode"])] += 1
            elif o["kind"] == "app":
                apps[(o["conn"], o["dir"])] += 1

    out = tshark("-r", cap, "-Y", "tcp.flags.syn==1 && tcp.flags.ack==0", "-T", "fields",
                 "-e", "tcp.stream", "-e", "ip.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "tcp.dstport")
    stream_of = {}
    for line in out.splitlines():
        st, sip, sp, dip, dp = line.split("\t")
        stream_of[(sip, int(sp), dip, int(dp))] = int(st)
    print("capture %s: %d logged connections, %d TCP streams with SYN"
          % (os.path.basename(cap), len(conns), len(stream_of)))
    if len(stream_of) != len(conns):
        ok = False

    ws_frames = collections.Counter()
    out = tshark("-r", cap, "-Y", "websocket", "-T", "fields", "-e", "tcp.stream", "-e", "tcp.srcport",
                 "-e", "websocket.opcode")
    for line in out.splitlines():
        st, sp, opl = line.split("\t")
        for op in opl.split(","):
            ws_frames[(int(st), int(sp), int(op))] += 1

    names = {1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}
    for k in sorted(conns):
        c = conns[k]
        cl = (c["client"]["ip"], c["client"]["port"])
        sv = (c["server"]["ip"], c["server"]["port"])
        st = stream_of.get(cl + sv)
        if st is None:
            print("  conn %d: NO STREAM for %r -> %r" % (k, cl, sv))
            ok = False
            continue
        raw = tshark("-r", cap, "-q", "-z", "follow,tcp,raw,%d" % st)
        # after the "Node 1:" header: lines of hex, s2c lines indented with a tab
        c2s, s2c = bytearray(), bytearray()
        started = False
        for line in raw.splitlines():
            if line.startswith("Node 1:"):
                started = True
                continue
            if not started or line.startswith("="):
                continue
            if line.startswith("\t"):
                s2c += bytes.fromhex(line.strip())
            elif line.strip():
                c2s += bytes.fromhex(line.strip())
        data = {"c2s": bytes(c2s), "s2c": bytes(s2c)}
        line = "  conn %d = tcp.stream %d (%s:%d)" % (k, st, cl[0], cl[1])
        for d, role, src in (("c2s", "sent", cl), ("s2c", "received", sv)):
            w = data[d]
            o = tcp.get((k, role))
            good = o is not None and (o["len"], o["sha256"]) == (len(w), hashlib.sha256(w).hexdigest())
            res = "client %s %s" % (role, "ok" if good else "MISMATCH")
            if streams_dir:
                p = os.path.join(streams_dir, "%d.%s" % (k, d))
                if os.path.exists(p):
                    with open(p, "rb") as f:
                        fg = f.read() == w
                    res += " file:%s" % ("ok" if fg else "MISMATCH")
                    good = good and fg
            ok = ok and good
            parts = []
            for op, name in names.items():
                t = ws_frames[(st, src[1], op)]
                a = msgs[(k, d, name)]
                if t != a:
                    ok = False
                    parts.append("%s tshark %d log %d MISMATCH" % (name, t, a))
                elif t:
                    parts.append("%s=%d" % (name, t))
            line += " | %s %d bytes, %s; ws %s; %d app records" % (
                d, len(w), res, " ".join(parts), apps[(k, d)])
        print(line)
    print("RESULT: %s" % ("OK" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
