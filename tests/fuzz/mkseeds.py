#!/usr/bin/python3
"""mkseeds.py - seed corpora for the fuzz targets, made from samples/.

Usage: mkseeds.py [--samples DIR] [--max-len N] OUT

Writes OUT/<target>/ for every target (see tests/fuzz/README.md for each
target's input format):

  pcap    every samples/*.pcap and *.pcapng as it is, and one small pcap per
          TCP connection of each sample (its first packets, up to --max-len)
  http    per HTTP connection: the start of each direction, client then
          server, in fuzz_http's format, uncut and cut into small pieces
  ws      per WebSocket connection (ws-*): the bytes after the handshake,
          as fuzz_ws chunks in capture order, with the variant byte matching
          the negotiated permessage-deflate parameters; a few also as
          --decode-as (no handshake)
  tls     per TLS connection (wss-*): both directions as fuzz_tls chunks in
          capture order, from the ClientHello on
  keylog  every samples/*.keys, and all of them together
  reasm   per TCP connection: its segments and ACKs in fuzz_reasm's format
          (offsets from the captures' sequence numbers), as captured, with
          each pair of data segments swapped, and with small caps, a wrap
          at 2^32 and some segments cut short
  json    per HTTP connection: the heads, payload bytes and their base64,
          numbers and nested objects as fuzz_json operations; and a few
          written by hand (UTF-8 edge cases, strings stretched past
          ESC_CHUNK)
  tui     the pcap seeds that leave room for it (up to --max-len), each
          with one of TUI_SCRIPTS appended as fuzz_tui's key script

and OUT/all.keys, the key logs of all samples in one file, for
WSCOPE_FUZZ_KEYLOG. Reads captures with tests/gen/pcaptool.py; Python 3
standard library only. Output is deterministic.
"""
import argparse
import base64
import json
import gzip
import hashlib
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "gen"))
import pcaptool  # noqa: E402

# app_NAME: fuzz_app with one decoder forced (WSCOPE_FUZZ_APP=NAME)
APP_ONLY = ("mqtt", "stomp", "socketio", "graphql", "graphql_legacy", "jsonrpc")
TARGETS = ("pcap", "http", "ws", "tls", "keylog", "reasm", "json", "tui", "app") + tuple("app_" + n for n in APP_ONLY)
HTTP_SEP = b"\xff\x00\xff\x00"
CHUNK_MAX = 0x3FFF
METHODS = (b"GET ", b"POST ", b"PUT ", b"HEAD ", b"DELETE ", b"OPTIONS ", b"PATCH ", b"CONNECT ")

# fuzz_tui key scripts: bytes below 0x80 are those keys, 0x80 up pick from
# `special` in fuzz_tui.c (0x80 Down, 0x82 PgDn, 0x85 End, 0x87 Right,
# 0x8a KEY_RESIZE, 0x8d a Hangul syllable, 0x94 Hangul and a space,
# 0x95 "text ", 0x96 "c2s ", 0x9a "/[a-z]+/").
TUI_SCRIPTS = (
    b"\n\nG",                                     # open, open the first message, its end
    b"\n\x80\nwx\x87xq\x82\ni",                   # views of a message, the connection
    b"/\x95\nnN\n\x85?",                          # search, matches, help
    b"\tf\x96\n\nG\x1b\x1bf\x9a\n\x8a",           # filters, resize
    b"\n/\x94\x8d\x8b\nt t\x80F\x1b",             # Hangul typed into a prompt, times, pause
    b"e\x8d\ns\n\n\ns\x1bq",                      # export and save prompts (cancelled)
)


def tui_seed(capture, k):
    """fuzz_tui's input: the capture, key script k, its length."""
    script = TUI_SCRIPTS[k % len(TUI_SCRIPTS)]
    return capture + script + bytes([len(script)])


# fuzz_ws variant bits 0-2: the 101 answer's extensions
WS_EXT_VARIANTS = {
    (): 1,
    ("client_no_context_takeover",): 2,
    ("server_no_context_takeover",): 3,
    ("client_no_context_takeover", "server_no_context_takeover"): 4,
}


class Quiet:
    def __call__(self, *a, **k):
        pass


def write_seed(outdir, target, name, data):
    d = os.path.join(outdir, target)
    os.makedirs(d, exist_ok=True)
    digest = hashlib.sha1(data).hexdigest()[:12]
    with open(os.path.join(d, "%s-%s" % (name, digest)), "wb") as f:
        f.write(data)


def streams_of(pkts, flows, recs):
    """Per flow: the new bytes of each packet in capture order as
    [(dir, bytes)], and the record indices of its packets."""
    out = {id(fl): ([], [], [0, 0]) for fl in flows}
    for i, p in enumerate(pkts):
        if p is None:
            continue
        events, idx, nxt = out[id(p.flow)]
        idx.append(i)
        data = p.tcp.payload
        if not data:
            continue
        off = p.data_off
        d = p.dir
        if off + len(data) <= nxt[d]:
            continue  # a retransmission
        if off < nxt[d]:
            data = data[nxt[d] - off:]
            off = nxt[d]
        # a hole (nothing is lost in the samples): the bytes after it anyway
        nxt[d] = off + len(data)
        events.append((d, bytes(data)))
    return [(fl, out[id(fl)][0], out[id(fl)][1]) for fl in flows]


def chunks(events, limit, flag=0):
    """fuzz_ws / fuzz_tls chunks: 2-byte header (bit 15 direction, bits
    0-13 length) and the bytes, cut at limit total bytes."""
    out = bytearray()
    for d, data in events:
        for k in range(0, len(data), CHUNK_MAX):
            piece = data[k:k + CHUNK_MAX]
            hdr = struct.pack(">H", (0x8000 if d else 0) | flag | len(piece))
            if len(out) + 2 + len(piece) > limit:
                room = limit - len(out) - 2
                if room > 0:
                    out += struct.pack(">H", (0x8000 if d else 0) | room) + piece[:room]
                return bytes(out)
            out += hdr + piece
    return bytes(out)


def reasm_events(pkts, idx):
    """One flow's segments and ACKs as (dir, kind, offset, len, fin) in
    capture order (kind "seg" or "ack"; offsets from the flow's base), and
    which directions had a SYN."""
    out, syn = [], [False, False]
    for i in idx:
        p = pkts[i]
        t, d = p.tcp, p.dir
        if t.flags & pcaptool.SYN:
            syn[d] = True
        fin = bool(t.flags & pcaptool.FIN)
        if t.payload or fin:
            out.append((d, "seg", p.data_off, len(t.payload), fin))
        if t.flags & pcaptool.ACK and p.flow.syn_seq[1 - d] is not None:
            out.append((1 - d, "ack", p.flow.rel(1 - d, t.ack), 0, False))
    return out, syn


def reasm_input(events, opt, limit, cut_every=0):
    """fuzz_reasm's input: 5 option bytes, then 6-byte records whose deltas
    are taken from a simple model of where each direction stands."""
    out = bytearray([opt, 0x12, 0x34, 0x56, 0x78])
    nxt, held = [0, 0], [[], []]
    nseg = 0
    for d, kind, off, ln, fin in events:
        delta = off - nxt[d]
        if not -0x8000 <= delta <= 0x7FFF or ln > 0xFFFF:
            continue
        if len(out) + 6 > limit:
            break
        if kind == "ack":
            if delta <= 0:
                continue
            out += struct.pack(">BhHB", (d << 7) | 0x40, delta, 0, 1)
            continue
        nseg += 1
        flags = (d << 7) | (0x10 if fin else 0)
        aux = 1
        if cut_every and nseg % cut_every == 0:
            flags |= 0x08
            aux = 128
        out += struct.pack(">BhHB", flags, delta, ln, aux)
        held[d].append((off, off + ln))
        held[d].sort()
        while held[d] and held[d][0][0] <= nxt[d]:
            nxt[d] = max(nxt[d], held[d].pop(0)[1])
    return bytes(out)


def swapped(events):
    """The data segments of each direction in pairs, second first."""
    ev = list(events)
    last = [None, None]
    for i, e in enumerate(ev):
        if e[1] != "seg" or e[3] == 0:
            continue
        j = last[e[0]]
        if j is None:
            last[e[0]] = i
        else:
            ev[i], ev[j] = ev[j], ev[i]
            last[e[0]] = None
    return ev


def json_str_op(kind, data, align=0):
    """A fuzz_json string operation (kind 0-3, or 0x1e for json_str)."""
    data = data[:0xFFFF]
    return bytes([kind | (align << 3)]) + struct.pack(">H", len(data)) + data


def json_stretch_op(kind, pick, data):
    return bytes([kind | 0x80, pick]) + struct.pack(">H", len(data)) + data


def json_input(texts, binaries, n):
    out = bytearray()
    for i, t in enumerate(texts):
        out += json_str_op(2, t, i % 16)
    out += bytes([0x05])  # an object
    for i, b in enumerate(binaries):
        out += json_str_op(0, b, (i + 3) % 16)
        out += json_str_op(3, b[:3000], (i + 5) % 16)
    out += bytes([0x0D])  # its end
    out += bytes([0x04]) + struct.pack(">Q", n)
    out += bytes([0x0C]) + struct.pack(">q", -n)
    out += bytes([0x14]) + struct.pack(">QI", 1700000000 + n, 123456789)
    out += bytes([0x07, 0x1E, 0x06, 0x0E, 0x16])  # next record: true, false, null
    return bytes(out)


def json_handmade():
    edge = (b"plain", b"tab\there \"q\" \x7f \x00 \x1f end", "\u00e9\u20ac\U0001F600".encode(),
            b"\xc0\xaf \xe0\x80\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xf8 \xff \x80",
            b"cut \xe2\x82", b"cut \xf0\x9f\x98", "\U0010FFFF".encode())
    yield "utf8-edges", b"".join(json_str_op(k, e, a) for k in (0, 2) for a, e in enumerate(edge))
    yield "chars", json_str_op(1, bytes(range(256)) * 3, 7)
    # stretched past 16, ESC_CHUNK and 2 * ESC_CHUNK, ending mid-character
    yield "stretch", (json_stretch_op(0, 5, "a\u20acb\"".encode()) + json_stretch_op(0, 19, b"\xe2\x82\xac")
                      + json_stretch_op(0, 20, b"x\xf0\x9f\x98\x80") + json_stretch_op(2, 26, b"\x01")
                      + json_stretch_op(1, 21, b"\xc1\x02\x03") + json_stretch_op(3, 19, b"\xff\x00"))
    yield "numbers", b"".join(bytes([0x04 | (h << 3)]) + struct.pack(">Q", v) + (b"\x3b\x9a\xc9\xff" if h >= 2 else b"")
                              for v in (0, 9, 10, 99, 100, 2**63 - 1, 2**63, 2**64 - 1) for h in range(4))
    yield "nested", bytes([0x05] * 20 + [0x0D] * 3 + [0x16, 0x07, 0x07, 0x05, 0x0D])


def joined(events, d):
    return b"".join(x for dd, x in events if dd == d)


def head_end(b):
    i = b.find(b"\r\n\r\n")
    return -1 if i < 0 else i + 4


def ws_variant(resp_head):
    m = re.search(rb"(?im)^sec-websocket-extensions:[ \t]*([^\r\n]*)", resp_head)
    if not m:
        return 0
    items = [x.strip() for x in m.group(1).decode("latin-1").split(",")]
    for it in items:
        parts = [x.strip().lower() for x in it.split(";")]
        if parts[0] != "permessage-deflate":
            continue
        params = tuple(sorted(x for x in parts[1:] if x.endswith("no_context_takeover")))
        if any("max_window_bits=" in x and not x.endswith("=15") for x in parts[1:]):
            return 5
        return WS_EXT_VARIANTS.get(params, 1)
    return 0


def pcap_file(frames, linktype):
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype))
    for f in frames:
        sec, ns = divmod(f.ts, 1_000_000_000)
        out += struct.pack("<IIII", sec & 0xFFFFFFFF, ns // 1000, len(f.data), f.orig_len)
        out += f.data
    return bytes(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", default=os.path.join(HERE, "..", "..", "samples"))
    ap.add_argument("--max-len", type=int, default=65536)
    ap.add_argument("out")
    a = ap.parse_args(argv)
    limit = a.max_len
    for t in TARGETS:
        os.makedirs(os.path.join(a.out, t), exist_ok=True)
    counts = dict.fromkeys(TARGETS, 0)

    def seed(target, name, data):
        write_seed(a.out, target, name, data)
        counts[target] += 1

    names = sorted(os.listdir(a.samples))
    keys = b""
    for n in names:
        if n.endswith(".keys"):
            with open(os.path.join(a.samples, n), "rb") as f:
                k = f.read()
            seed("keylog", n[:-5], k)
            keys += k if k.endswith(b"\n") or not k else k + b"\n"
    if keys:
        seed("keylog", "all", keys)
    with open(os.path.join(a.out, "all.keys"), "wb") as f:
        f.write(keys)

    decode_as_left = 4
    tui_room = max(len(x) for x in TUI_SCRIPTS) + 1
    for n in names:
        if not (n.endswith(".pcap") or n.endswith(".pcapng")):
            continue
        base = n.rsplit(".", 1)[0]
        path = os.path.join(a.samples, n)
        with open(path, "rb") as f:
            whole = f.read()
        seed("pcap", base, whole)
        if len(whole) + tui_room <= limit:
            seed("tui", base, tui_seed(whole, counts["tui"]))
        frames, _kind = pcaptool.read_capture(path, Quiet())
        recs, _skipped = pcaptool.frames_to_recs(frames, Quiet())
        pkts, flows = pcaptool.analyze(recs)
        for fi, (fl, events, idx) in enumerate(streams_of(pkts, flows, recs)):
            tag = "%s-%d" % (base, fi)
            # pcap: this connection's first packets
            sel, size = [], 24
            for i in idx:
                fr = frames[recs[i].frame - 1]
                if size + 16 + len(fr.data) > limit:
                    break
                sel.append(fr)
                size += 16 + len(fr.data)
            if sel:
                seed("pcap", tag, pcap_file(sel, sel[0].linktype))
                # tui: the same with room for a key script
                while sel and size + tui_room > limit:
                    size -= 16 + len(sel.pop().data)
                if sel:
                    seed("tui", tag, tui_seed(pcap_file(sel, sel[0].linktype), counts["tui"]))
            # reasm: the connection's segments and ACKs
            rev, syn = reasm_events(pkts, idx)
            if rev:
                opt = (0x02 if syn[0] else 0) | (0x04 if syn[1] else 0)
                seed("reasm", tag, reasm_input(rev, opt, 4096))
                if fi % 2 == 0:
                    seed("reasm", tag + "-swapped", reasm_input(swapped(rev), opt | 0x08, 4096))
                if fi % 4 == 1:
                    seed("reasm", tag + "-caps", reasm_input(swapped(rev), opt | 0x01 | 0x10 | 0x20 | 0x80, 4096, 5))
            c2s, s2c = joined(events, 0), joined(events, 1)
            if not c2s:
                continue
            if fi % 2 == 0:
                he, re_ = head_end(c2s), head_end(s2c)
                texts = [x[:max(h, 0)][:2000] for x, h in ((c2s, he), (s2c, re_)) if h > 0]
                bins = [c2s[max(he, 0):][:2000], s2c[max(re_, 0):][:2000]]
                seed("json", tag, json_input(texts or [c2s[:200]], [b for b in bins if b], fi))
            if c2s.startswith(METHODS):
                body = c2s[:4096] + HTTP_SEP + s2c[:4096]
                seed("http", tag, b"\x00" + body[:limit - 1])
                # cut into pieces of 1, 7, 2 and 13 bytes, server first
                seed("http", tag + "-cut", b"\x14\x01\x07\x02\x0d" + body[:limit - 5])
                he, re_ = head_end(c2s), head_end(s2c)
                if re_ > 0 and b" 101 " in s2c[:re_].split(b"\r\n")[0] + b" ":
                    # WebSocket: the events after each side's head
                    v = ws_variant(s2c[:re_])
                    skip = [he, re_]
                    rest = []
                    for d, x in events:
                        if skip[d] >= len(x):
                            skip[d] -= len(x)
                            continue
                        rest.append((d, x[skip[d]:]))
                        skip[d] = 0
                    seed("ws", tag, bytes([v | 0x40]) + chunks(rest, limit - 1))
                    if fi % 3 == 0:
                        seed("ws", tag + "-frames", bytes([v | 0x08 | 0x10 | 0x20]) + chunks(rest, 8192))
                    if decode_as_left > 0:
                        decode_as_left -= 1
                        seed("ws", tag + "-decode-as", bytes([0x80 | 0x08]) + chunks(rest, 8192))
                        seed("ws", tag + "-decode-auto", bytes([0x80 | 0x08 | 7]) + chunks(rest, 8192))
            elif c2s[:1] == b"\x16":
                seed("tls", tag, chunks(events, limit))
                # live: waiting for the secrets, which come after a few
                # pieces (0xffff: wait mode; 0x7ffe: keys; 0x7ffd: end)
                k = min(6, len(events))
                seed("tls", tag + "-late-keys", b"\xff\xff" + chunks(events[:k], limit // 2) +
                     b"\x7f\xfe" + chunks(events[k:], limit // 2) + b"\x7f\xfd")
    for name, data in json_handmade():
        seed("json", name, data)
    # app: the subprotocol samples' messages as their endpoints logged them
    # sending, per connection, for the decoder of the sample and for the
    # probe (byte 0: the decoder's place in app_decoders[], 6: the probe)
    order = {"mqtt-mosquitto": 0, "stomp-rabbitmq": 1, "sio": 2, "sio-v2": 7, "graphql-ws": 3, "jsonrpc": 5}
    # the single-decoder targets each sample seeds (the legacy graphql
    # protocol has no sample: the current one's messages are its seeds)
    only = {"mqtt-mosquitto": ["mqtt"], "stomp-rabbitmq": ["stomp"], "sio": ["socketio"], "sio-v2": ["socketio"],
            "graphql-ws": ["graphql", "graphql_legacy"], "jsonrpc": ["jsonrpc"]}
    for n in names:
        if not n.endswith(".endpoints.jsonl.gz") or n[:-len(".endpoints.jsonl.gz")] not in order:
            continue
        base = n[:-len(".endpoints.jsonl.gz")]
        per, polls = {}, []
        with gzip.open(os.path.join(a.samples, n), "rt") as f:
            for line in f:
                r = json.loads(line)
                if r["kind"] == "http_exchange" and r["side"] == "server":
                    # a long-polling body that carries packets (bit 3)
                    post = r["method"] == "POST"
                    p = base64.b64decode(r["req_body_b64"] if post else r["resp_body_b64"])
                    if p:
                        polls.append(bytes([8 | (0 if post else 1), len(p) >> 8 & 255, len(p) & 255]) + p[:65535])
                if r["kind"] != "msg" or r["opcode"] not in ("text", "binary"):
                    continue
                # what was sent; a broker's side from what its peer received
                if r["side"] == ("client" if r["dir"] == "c2s" else "server") or base in ("mqtt-mosquitto", "stomp-rabbitmq"):
                    if base in ("mqtt-mosquitto", "stomp-rabbitmq") and r["side"] != "client":
                        continue
                    if base not in ("mqtt-mosquitto", "stomp-rabbitmq") and r["role"] != "sent":
                        continue
                    per.setdefault(r["conn"], []).append(r)
        for conn, recs in sorted(per.items()):
            body = b""
            for r in recs:
                p = base64.b64decode(r["b64"])
                h = (1 if r["dir"] == "s2c" else 0) | (2 if r["opcode"] == "binary" else 0)
                item = bytes([h, len(p) >> 8 & 255, len(p) & 255]) + p[:65535]
                if len(body) + len(item) + 1 > limit:
                    break
                body += item
            seed("app", "%s-%d" % (base, conn), bytes([order[base] | 8]) + body)
            seed("app", "%s-%d-probe" % (base, conn), bytes([6 | 8 | 16]) + body)
            for t in only[base]:
                seed("app_" + t, "%s-%d" % (base, conn), bytes([order[base] | 8]) + body)
                seed("app_" + t, "%s-%d-redact" % (base, conn), bytes([order[base] | 8 | 16]) + body)
        if polls:
            seed("app", "%s-polling" % base, bytes([order[base] | 8]) + b"".join(polls)[:limit])
            seed("app_socketio", "%s-polling" % base, bytes([order[base] | 8]) + b"".join(polls)[:limit])
    for t in TARGETS:
        print("mkseeds: %s: %d seeds" % (t, counts[t]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
