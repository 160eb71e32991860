#!/usr/bin/python3
"""Cross-check a WebSocket-over-TLS sample capture against its endpoint log
and key log, using tshark as an independent second opinion.

  /usr/bin/python3 verify_tls.py CAPTURE NAME.endpoints.jsonl[.gz] NAME.keys [STREAMS_DIR]

For every logged connection (matched to the tshark tcp.stream with the same
client and server address and port):

* ciphertext: `-z follow,tcp,raw,N` length and SHA-256 per direction equal the
  "tcp" lines (sender's sent, receiver's received; a side that could not log
  its raw bytes shows n/a), the sum of tcp.len agrees, no lost segments;
* plaintext: with `-o tls.keylog_file:KEYS` and `-d tcp.port==P,tls` for the
  server ports, `-z follow,tls,raw,N` length and SHA-256 per direction equal
  the "plain" lines (and STREAMS_DIR/K.DIR.plain, K.DIR where present);
* WebSocket: tshark's frame counts per opcode and direction over the
  decrypted stream equal the "msg" lines (as verify_capture.py does);
* TLS: from the decrypted handshake as tshark dissects it: negotiated
  version, cipher suite id, SNI (ClientHello), ALPN (ServerHello or
  EncryptedExtensions), encrypt_then_mac / extended_master_secret (TLS 1.2
  ServerHello), resumption (TLS 1.2: no server Certificate; TLS 1.3:
  pre_shared_key in the ServerHello) equal every "tls" line of the
  connection (SNI: the client's line; the server's line may be null on a
  resumed TLS 1.2 connection, see README);
* KeyUpdate: every TLS 1.3 KeyUpdate tshark decrypts (direction,
  request_update, and the number of application-data bytes before it in
  that direction) equals the "keyupdate" lines, and no encrypted record is
  left undecrypted.

Exit status is non-zero on any mismatch.
"""

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


def aslist(x):
    if x is None:
        return []
    return x if isinstance(x, list) else [x]


def walk(obj, key):
    """Every value of `key` anywhere inside obj (dicts / lists)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == key:
                for x in aslist(v):
                    yield x
            else:
                yield from walk(v, key)
    elif isinstance(obj, list):
        for v in obj:
            yield from walk(v, key)


def follow(cap, proto, streams, extra):
    args = ["-r", cap, "-q"] + extra
    for st in streams:
        args += ["-z", "follow,%s,raw,%d" % (proto, st)]
    out = tshark(*args)
    data = {}
    for block in out.split("=" * 67):
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
        data[int(m.group(1))] = (m.group(2), bytes(b0), m.group(3), bytes(b1))
    return data


def main():
    # --copies N: every packet is in the capture N times (dumpcap on two
    # interfaces that both see loopback): the TCP payload adds up N times
    copies = 1
    if len(sys.argv) > 2 and sys.argv[1] == "--copies":
        copies = int(sys.argv[2])
        del sys.argv[1:3]
    cap, logf, keys = sys.argv[1], sys.argv[2], sys.argv[3]
    streams_dir = sys.argv[4] if len(sys.argv) > 4 else None
    ok = True

    conns, lines, tlsl, kul = {}, {}, collections.defaultdict(list), collections.defaultdict(list)
    msgs = collections.Counter()
    opener = gzip.open if logf.endswith(".gz") else open
    with opener(logf, "rt", encoding="utf-8") as f:
        for line in f:
            o = json.loads(line)
            k = o["kind"]
            if k == "conn":
                conns[o["conn"]] = o
            elif k in ("tcp", "plain"):
                lines[(k, o["conn"], o["side"], o["role"])] = o
            elif k == "tls":
                tlsl[o["conn"]].append(o)
            elif k == "keyupdate":
                kul[o["conn"]].append(o)
            elif k == "msg":
                msgs[(o["conn"], o["side"], o["role"], o["opcode"])] += 1
    ports = sorted({c["server"]["port"] for c in conns.values()})
    dec = ["-o", "tls.keylog_file:" + keys]
    for p in ports:
        dec += ["-d", "tcp.port==%d,tls" % p]

    out = tshark("-r", cap, "-Y", "tcp.flags.syn==1 && tcp.flags.ack==0", "-T", "fields",
                 "-e", "tcp.stream", "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport",
                 "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport")
    stream_of = {}
    for line in out.splitlines():
        st, s4, s6, sp, d4, d6, dp = line.split("\t")
        stream_of[((s4 or s6), int(sp), (d4 or d6), int(dp))] = int(st)
    out = tshark("-r", cap, "-T", "fields", "-e", "tcp.stream", "-e", "tcp.srcport", "-e", "tcp.len")
    seg = collections.defaultdict(collections.Counter)
    for line in out.splitlines():
        st, sp, ln = line.split("\t")
        seg[int(st)]["packets"] += 1
        seg[int(st)]["bytes:%s" % sp] += int(ln)
    wanted = sorted(stream_of.values())
    wire = follow(cap, "tcp", wanted, [])
    plain = follow(cap, "tls", wanted, dec)

    # Decrypted TLS structure, per stream and direction, in stream order.
    js = json.loads(tshark("-r", cap, "-Y", "tls", "-T", "json", "--no-duplicate-keys",
                           "-J", "tcp tls", *dec) or "[]")
    hs = collections.defaultdict(list)       # stream -> [(srcport, handshake dict)]
    recs = collections.defaultdict(list)     # (stream, srcport) -> [record dict]
    for pkt in js:
        lay = pkt["_source"]["layers"]
        st, sp = int(lay["tcp"]["tcp.stream"]), int(lay["tcp"]["tcp.srcport"])
        for t in aslist(lay.get("tls")):
            if not isinstance(t, dict):
                continue
            for r in aslist(t.get("tls.record")):
                if not isinstance(r, dict):
                    continue
                recs[(st, sp)].append(r)
                for h in aslist(r.get("tls.handshake")):
                    if isinstance(h, dict) and "tls.handshake.type" in h:
                        hs[st].append((sp, h, r))

    names = {1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}
    out = tshark("-r", cap, "-Y", "websocket", "-T", "fields", "-e", "tcp.stream",
                 "-e", "tcp.srcport", "-e", "websocket.opcode", *dec)
    seen = collections.Counter()
    for line in out.splitlines():
        st, sp, opl = line.split("\t")
        for op in opl.split(","):
            seen[(int(st), int(sp), int(op))] += 1

    print("capture %s: %d logged connections, %d TCP streams with SYN, key log %s (%d lines)" % (
        os.path.basename(cap), len(conns), len(stream_of), os.path.basename(keys),
        sum(1 for l in open(keys, encoding="latin1") if l.strip() and not l.startswith("#"))))
    for k in sorted(conns):
        c = conns[k]
        cl = (c["client"]["ip"], c["client"]["port"])
        sv = (c["server"]["ip"], c["server"]["port"])
        st = stream_of.get(cl + sv)
        if st is None:
            print("  conn %d: NO STREAM for %r -> %r" % (k, cl, sv))
            ok = False
            continue
        print("  conn %d = tcp.stream %d (%s:%d -> %d), %d packets" % (k, st, cl[0], cl[1], sv[1],
                                                                      seg[st]["packets"]))
        # -- ciphertext and plaintext streams
        for layer, data in (("tcp", wire), ("plain", plain)):
            got = data.get(st)
            by = {}
            if got:
                n0, b0, n1, b1 = got
                first = norm_ep(n0) if re.match(r".+:\d+$", n0) and not n0.startswith(":") else None
                if first in (None, cl):
                    by = {"c2s": b0, "s2c": b1}
                else:
                    by = {"c2s": b1, "s2c": b0}
            parts = []
            for d, snd, rcv in (("c2s", "client", "server"), ("s2c", "server", "client")):
                b = by.get(d, b"")
                bl, bh = len(b), hashlib.sha256(b).hexdigest()
                res = []
                present = 0
                for what, role, side in (("sent", "sent", snd), ("recv", "received", rcv)):
                    o = lines.get((layer, k, side, role))
                    if o is None:
                        res.append("%s:n/a" % what)
                        continue
                    present += 1
                    good = (o["len"], o["sha256"]) == (bl, bh)
                    res.append("%s:%s" % (what, "ok" if good else "MISMATCH(%d)" % o["len"]))
                    ok = ok and good
                if present == 0:
                    ok = False
                    res.append("NO LOG LINE")
                if layer == "tcp" and seg[st]["bytes:%d" % (cl[1] if d == "c2s" else sv[1])] != bl * copies:
                    ok = False
                    res.append("tcp.len-sum MISMATCH")
                if streams_dir:
                    p = os.path.join(streams_dir, "%d.%s%s" % (k, d, ".plain" if layer == "plain" else ""))
                    if os.path.exists(p):
                        with open(p, "rb") as f:
                            fb = f.read()
                        res.append("file:%s" % ("ok" if fb == b else "MISMATCH"))
                        ok = ok and fb == b
                parts.append("%s %d bytes %s" % (d, bl, " ".join(res)))
            print("    %-5s %s" % (layer, " | ".join(parts)))

        # -- TLS handshake as tshark sees it
        sh = [(sp, h, r) for sp, h, r in hs[st] if h["tls.handshake.type"] == "2"]
        ch = [(sp, h, r) for sp, h, r in hs[st] if h["tls.handshake.type"] == "1"]
        if len(sh) != 1 or len(ch) != 1:
            print("    tls: %d ClientHello, %d ServerHello in tshark: MISMATCH" % (len(ch), len(sh)))
            ok = False
            continue
        shd = sh[0][1]
        ext = {int(x) for x in walk(shd, "tls.handshake.extension.type")}
        sv_ver = list(walk(shd, "tls.handshake.extensions.supported_version"))
        version = "TLSv1.3" if "0x0304" in sv_ver else {"0x0303": "TLSv1.2"}.get(shd.get("tls.handshake.version"), "?")
        suite = "0x%04X" % int(shd["tls.handshake.ciphersuite"], 16)
        sni = next(walk(ch[0][1], "tls.handshake.extensions_server_name"), None)
        alpn = None
        for sp, h, r in hs[st]:
            if sp == sv[1] and h["tls.handshake.type"] in ("2", "8"):
                alpn = next(walk(h, "tls.handshake.extensions_alpn_str"), alpn)
        certs = [1 for sp, h, r in hs[st] if sp == sv[1] and h["tls.handshake.type"] == "11"]
        resumed = (41 in ext) if version == "TLSv1.3" else not certs
        ts = {"version": version, "cipher_suite": suite, "alpn": alpn, "resumed": resumed}
        if version == "TLSv1.2":
            ts["encrypt_then_mac"] = 22 in ext
            ts["extended_master_secret"] = 23 in ext
        res = []
        for o in tlsl[k]:
            bad = [f for f, v in ts.items() if f in o and o[f] != v]
            if o["side"] == "client" and o.get("sni") != sni:
                bad.append("sni")
            if o["side"] == "server" and o.get("sni") not in (sni, None if resumed and version == "TLSv1.2" else sni):
                bad.append("sni")
            res.append("%s:%s" % (o["side"], "ok" if not bad else "MISMATCH(%s)" % ",".join(bad)))
            ok = ok and not bad
        if not tlsl[k]:
            res.append("NO tls LINES")
            ok = False
        print("    tls   tshark: %s %s sni=%s alpn=%s resumed=%s%s | log %s" % (
            version, suite, sni, alpn, resumed,
            " etm=%s ems=%s" % (ts["encrypt_then_mac"], ts["extended_master_secret"]) if version == "TLSv1.2" else "",
            " ".join(res)))

        # -- records: undecrypted ones, KeyUpdates and their offsets
        kus, undecrypted = [], 0
        for d, port in (("c2s", cl[1]), ("s2c", sv[1])):
            off, n = 0, 0
            for r in recs[(st, port)]:
                ct = r.get("tls.record.content_type")
                if r.get("tls.record.opaque_type") == "23" and ct is None:
                    undecrypted += 1
                if version == "TLSv1.3" and r.get("tls.record.opaque_type") == "23" and ct == "23":
                    off += int(r["tls.record.length"]) - 17   # AEAD tag + inner type, no padding
                for h in aslist(r.get("tls.handshake")):
                    if isinstance(h, dict) and h.get("tls.handshake.type") == "24":
                        n += 1
                        req = next(walk(r, "tls.handshake.key_update.request_update"), None)
                        kus.append((d, n, req == "1", off))
        logged = sorted((o["dir"], o["seq"], o["request_update"], o["offset"]) for o in kul[k])
        good = sorted(kus) == logged and undecrypted == 0
        ok = ok and good
        if kus or logged or undecrypted:
            print("    keyupdate tshark %s, log %s, undecrypted records %d: %s" % (
                ["%s#%d%s@%d" % (d, n, " req" if q else "", o) for d, n, q, o in sorted(kus)],
                ["%s#%d%s@%d" % (d, n, " req" if q else "", o) for d, n, q, o in logged],
                undecrypted, "ok" if good else "MISMATCH"))

        # -- WebSocket frames over the decrypted stream
        parts = []
        wsok = True
        for d, src, snd, rcv in (("c2s", cl, "client", "server"), ("s2c", sv, "server", "client")):
            for op, name in names.items():
                t = seen[(st, src[1], op)]
                a = msgs[(k, snd, "sent", name)]
                b = msgs[(k, rcv, "received", name)]
                if not (t == a == b):
                    wsok = False
                    parts.append("%s %s: tshark %d, sent %d, received %d MISMATCH" % (d, name, t, a, b))
                elif t:
                    parts.append("%s %s=%d" % (d, name, t))
            if seen[(st, src[1], 0)]:
                parts.append("%s continuation=%d" % (d, seen[(st, src[1], 0)]))
        ok = ok and wsok
        print("    websocket (tshark vs log): %s" % (", ".join(parts) or "no frames (none logged)"))

    flags = {}
    for f in ("tcp.analysis.lost_segment", "tcp.analysis.ack_lost_segment",
              "tcp.analysis.retransmission", "tcp.analysis.out_of_order"):
        flags[f] = len(tshark("-r", cap, "-Y", f, "-T", "fields", "-e", "frame.number").split())
    print("  tcp analysis: " + ", ".join("%s=%d" % (f.split(".")[-1], n) for f, n in flags.items()))
    if flags["tcp.analysis.lost_segment"] or flags["tcp.analysis.ack_lost_segment"]:
        ok = False
    print("RESULT: %s" % ("OK" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
