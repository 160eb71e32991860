#!/usr/bin/python3
"""mkcaps.py - deterministic captures that attack wscope's terminal UI.

Usage:
  mkcaps.py OUTDIR [--only NAME[,NAME...]]

Writes OUTDIR/NAME.pcap (classic pcap, Ethernet/IPv4/TCP, microsecond
timestamps, correct IPv4 and TCP checksums) and, next to it, OUTDIR/NAME.json:
a sidecar that says exactly what the generator put in the capture. It is the
truth a test compares wscope against; nothing here ever reads wscope's
output. Same arguments, same bytes (fixed seeds, ISNs, masks and timestamps;
the compressed captures also depend on zlib giving the same output, which
one zlib version does).

Every capture is built from complete TCP connections 10.0.0.1:PORT ->
10.0.0.2:9000 (addresses written into the file; nothing is sent anywhere):
SYN, SYN-ACK, ACK; an HTTP/1.1 Upgrade request (Host, Upgrade, Connection,
Sec-WebSocket-Key, Sec-WebSocket-Version) answered by 101; the messages (one
frame each, client frames masked, each followed by the receiver's ACK); then
a close frame each way (client first, the server echoes) and FIN each way,
unless the capture says otherwise. TCP segments carry at most 1460 payload
bytes. The first packet of every capture is at 1700000000.000000.

Captures:

  brackets           the server sends 3000 '[' then 3000 ']' as one 6000-byte
                     text frame, then "after".
  controls           server text messages (all valid UTF-8) full of terminal
                     control: every C0 byte and DEL, backspaces over a command,
                     a bare CR, ESC sequences (clear screen, OSC 0 title,
                     OSC 52 clipboard, SGR colour), C1 controls as UTF-8,
                     bidi overrides and isolates, zero-width characters, a JSON
                     text with a raw newline and an escaped \\u001b, and a
                     binary message of all 256 byte values; the client sends a
                     text message that is not UTF-8 and a close frame whose
                     reason contains ESC [2J.
  badkey             Sec-WebSocket-Key with ESC / OSC sequences appended, a Host
                     header containing ESC [2J, and a Sec-WebSocket-Accept that
                     is valid-looking base64 but wrong (accept_mismatch).
  widehost           three connections: Host 例え.テスト:9000 path /チャット,
                     plain.example:9000 /chat, 😀emoji.example:9000 /x.
  korean             long Korean text with spaces (>= 400 characters), 300
                     Hangul characters without a space, a JSON text with 200
                     Hangul characters; the client sends Korean too.
  deflate-big        permessage-deflate with no context takeover both ways:
                     400 server messages of exactly 1 MiB of well-compressing
                     text each (RSV1, raw deflate, 00 00 ff ff cut), ~1 MB
                     on the wire in all; sidecar: length and SHA-256 of each.
  deflate-big-small  the same with 40 messages.
  lossy              20 client and 20 server messages, 100 ms apart each way,
                     interleaved over 2 s; the one segment carrying server
                     message 10 (its whole frame) is never written, though the
                     server's later sequence numbers and the client's ACKs
                     cover it: a gap of exactly that many bytes, at frame
                     boundaries on both sides.
  eof                the same exchange (nothing lost), then the capture ends:
                     no close frame, no FIN.
  fin-noclose        the same exchange, then FIN both ways, no close frame.
  rst                10 messages each way, then the server sends RST.
  close4001          the same exchange, then close frames with code 4001 and
                     reason "bye" both ways, then FIN both ways.
  many-conns         200 short connections (one message each way), 10 ms
                     apart, for list scrolling.

Sidecar (NAME.json, ASCII JSON): "capture", "packets", "first_ts_us",
"last_ts_us", "ws_connections", "description", capture-specific facts, and
"connections": each with client/server endpoints, host, path (as sent), key,
accept, accept_ok, extensions, deflate, first_packet, upgrade_packet, "end"
(what ended it in the file: close / fin / rst / eof), "close_codes" and
"messages". A message: index (1-based in its connection), dir (c2s/s2c),
opcode, length, compressed (+ wire_length), frames, packet (of its last byte;
first_packet when different), ts_us (that packet's time), sha256, b64 (the
payload, when at most 64 KiB), text (when a text message is valid UTF-8 and
at most 64 KiB), utf8_valid (text messages), close_code / close_reason
(close_reason_b64 when the reason is not UTF-8), label (what it is for), and
"lost": true with packet null when its segment was left out of the file.

Standard library only; it imports the pcap/TCP/WebSocket helpers of
tests/limits/adversarial.py.
"""
import argparse
import base64
import hashlib
import os
import struct
import sys

sys.dont_write_bytecode = True      # no __pycache__ left in tests/limits
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "limits"))
import adversarial as adv  # noqa: E402
from adversarial import (ACK, FIN, RST, OP_BIN, OP_CLOSE, OP_TEXT, OPNAME,  # noqa: E402
                         GUID, Pcap, WsConn, upgrade_request, write_sidecar, ws_frame)

T0 = 1700000000 * 1000000            # 2023-11-14T22:13:20Z, microseconds
MS = 1000
MSS = 1460
CIP, SIP, SPORT = "10.0.0.1", "10.0.0.2", 9000
INLINE_MAX = 65536                   # payloads up to this size are in the sidecar
UA = "mkcaps.py"


def accept_for(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def upgrade_response(accept, ext=None):
    h = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
         "Sec-WebSocket-Accept: %s" % accept]
    if ext:
        h.append("Sec-WebSocket-Extensions: %s" % ext)
    return ("\r\n".join(h) + "\r\n\r\n").encode()


def close_payload(code, reason=b""):
    return struct.pack("!H", code) + reason


class Conn:
    """One WebSocket connection from 10.0.0.1:cport to 10.0.0.2:9000 that
    records every message it puts in (or leaves out of) the capture."""

    def __init__(self, cap, name, cport, seed, host="ws.example:9000", path="/ws",
                 ext_req=None, ext_resp=None, no_ctx=(False, False), key=None, accept=None):
        self.cap = cap
        self.w = WsConn(cap, name, CIP, cport, SIP, SPORT, host=host, path=path,
                        ext_req=ext_req, ext_resp=ext_resp, no_ctx=no_ctx, seed=seed)
        self.t = self.w.t
        if key is not None:
            self.w.key = key
        self.key = self.w.key
        self.accept = accept if accept is not None else accept_for(self.key)
        self.msgs = []
        self.end = None
        self.close_codes = {}

    def open(self, ts_us=None):
        w = self.w
        w.first_packet = self.t.handshake(ts_us)
        self.t.send(0, upgrade_request(w.host, w.path, self.key, w.ext_req, None, ua=UA), MSS)
        _, w.upgrade_packet, _ = self.t.send(1, upgrade_response(self.accept, w.ext_resp), MSS)
        self.t.ack(0)

    def send(self, d, op, payload, ts_us=None, compress=False, lost=False, label=None, ack=True):
        """One message in one frame (client frames masked). lost: the frame
        must fit one segment, which is never written (sequence space and
        the peer's ACKs still cover it); ts_us is then the time it had."""
        wire = self.w.defl[d].compress(payload) if compress else payload
        mask = self.w.mask() if d == 0 else None
        data = ws_frame(op, wire, mask, rsv1=compress)
        rec = {"index": len(self.msgs) + 1, "dir": "c2s" if d == 0 else "s2c",
               "opcode": OPNAME[op], "length": len(payload), "compressed": compress, "frames": 1}
        if compress:
            rec["wire_length"] = len(wire)
        if lost:
            assert len(data) <= MSS and ts_us is not None
            rec["lost"] = True
            rec["packet"] = None
            rec["ts_us"] = ts_us
            rec["lost_bytes"] = len(data)
            rec["stream_offset"] = self.t.off[d]
            rec["seq"] = self.t.nxt[d]
            self.t.skip(d, len(data))
        else:
            first, last, off = self.t.send(d, data, MSS, ts_us)
            rec["packet"] = last
            if first != last:
                rec["first_packet"] = first
            rec["ts_us"] = self.cap.t
            rec["stream_offset"] = off
        rec["sha256"] = hashlib.sha256(payload).hexdigest()
        if len(payload) <= INLINE_MAX:
            rec["b64"] = base64.b64encode(payload).decode()
        if op == OP_TEXT:
            try:
                s = payload.decode("utf-8")
                rec["utf8_valid"] = True
                if len(payload) <= INLINE_MAX:
                    rec["text"] = s
            except UnicodeDecodeError:
                rec["utf8_valid"] = False
        if op == OP_CLOSE and len(payload) >= 2:
            rec["close_code"] = struct.unpack("!H", payload[:2])[0]
            try:
                rec["close_reason"] = payload[2:].decode("utf-8")
            except UnicodeDecodeError:
                rec["close_reason_b64"] = base64.b64encode(payload[2:]).decode()
            self.close_codes[rec["dir"]] = rec["close_code"]
        if label:
            rec["label"] = label
        self.msgs.append(rec)
        if ack:
            # the receiver's ACK; after a lost segment, at the time it
            # would have come (it covers the lost bytes)
            self.t.ack(1 - d, ts_us=ts_us + 100 if lost else None)
        return rec

    def text(self, d, s, **kw):
        return self.send(d, OP_TEXT, s.encode("utf-8") if isinstance(s, str) else s, **kw)

    def close_frames(self, code=1000, reason=b"", code2=None, reason2=None, ts_us=None):
        """A close frame from the client, then the server's."""
        self.send(0, OP_CLOSE, close_payload(code, reason), ts_us=ts_us, label="close")
        self.send(1, OP_CLOSE, close_payload(code if code2 is None else code2,
                                             reason if reason2 is None else reason2), label="close")
        self.end = "close"

    def fins(self, ts_us=None):
        """FIN from the server, FIN from the client, the server's last ACK."""
        t = self.t
        t._pkt(1, FIN | ACK, ts_us=ts_us)
        t.nxt[1] += 1
        t._pkt(0, FIN | ACK)
        t.nxt[0] += 1
        t._pkt(1, ACK)
        if self.end is None:
            self.end = "fin"

    def close(self, **kw):
        self.close_frames(**kw)
        self.fins()

    def rst(self, d=1):
        self.t._pkt(d, RST | ACK)
        self.end = "rst"

    def info(self):
        w = self.w
        c, s = self.t.eps
        return {"name": w.name, "client": {"ip": c[0], "port": c[1]},
                "server": {"ip": s[0], "port": s[1]}, "host": w.host, "path": w.path,
                "key": self.key, "accept": self.accept,
                "accept_ok": self.accept == accept_for(self.key),
                "extensions": w.ext_resp, "extensions_requested": w.ext_req,
                "deflate": w.deflate, "no_context_takeover": list(w.no_ctx) if w.deflate else None,
                "first_packet": w.first_packet, "upgrade_packet": w.upgrade_packet,
                "end": self.end or "eof", "close_codes": self.close_codes,
                "messages_c2s": sum(1 for m in self.msgs if m["dir"] == "c2s"),
                "messages_s2c": sum(1 for m in self.msgs if m["dir"] == "s2c"),
                "messages": self.msgs}


def finish(out, name, cap, conns, description, **extra):
    cap.close()
    side = {"capture": name + ".pcap", "generator": "tests/tui/mkcaps.py", "packets": cap.n,
            "first_ts_us": T0, "last_ts_us": cap.t, "ws_connections": len(conns),
            "description": description}
    side.update(extra)
    side["connections"] = [c.info() for c in conns]
    write_sidecar(os.path.join(out, name + ".json"), side)


def new_cap(out, name, step_us=100):
    return Pcap(os.path.join(out, name + ".pcap"), t0_us=T0, step_us=step_us)


# ---------------------------------------------------------------- captures

def gen_brackets(out):
    cap = new_cap(out, "brackets")
    c = Conn(cap, "brackets", 40001, seed=101, host="brackets.example:9000", path="/brackets")
    c.open(T0)
    c.text(1, "[" * 3000 + "]" * 3000, label="brackets")
    c.text(1, "after", label="after")
    c.close()
    finish(out, "brackets", cap, [c], "one server text frame of 3000 '[' then 3000 ']' "
           "(6000 bytes, five segments), then \"after\"")


CONTROL_MESSAGES = [
    ("c0_del", b"C0:" + bytes(range(0x20)) + b":DEL:\x7f:end"),
    ("backspaces", b"cmd: rm -rf /home" + b"\x08" * 13 + b"ls"),
    ("cr", b"visible\rHIDDEN"),
    ("esc_clear", b"before\x1b[2J\x1b[Hafter clear"),
    ("osc_title", b"title\x1b]0;pwned-title\x07set"),
    ("osc52", b"clip\x1b]52;c;cHduZWQ=\x07board"),
    ("sgr_red", b"\x1b[31mred\x1b[0m normal"),
    ("c1", "c1: NEL[\u0085] CSI[\u009b2J] OSC[\u009d0;c1-title\u0007] end".encode()),
    ("bidi", "bidi: \u202egnp.exe\u202c \u202dLTR\u202c \u2066LRI\u2069 \u2067RLI\u2069 "
             "\u2068FSI\u2069 end".encode()),
    ("zero_width", "zw: a\u200bb\u200cc\u200dd\u2060e\ufefff end".encode()),
    ("json_raw_newline", b'{"note":"line one\nline two","esc":"\\u001b[2J","n":1}'),
]


def gen_controls(out):
    cap = new_cap(out, "controls")
    c = Conn(cap, "controls", 40002, seed=102, host="controls.example:9000", path="/controls")
    c.open(T0)
    c.text(0, "hello, show me the controls", label="hello")
    for label, payload in CONTROL_MESSAGES:
        rec = c.text(1, payload, label=label)
        assert rec["utf8_valid"], label
    c.send(1, OP_BIN, bytes(range(256)), label="binary_256")
    rec = c.text(0, b"bad utf8: \xff\xfe end", label="invalid_utf8")
    assert rec["utf8_valid"] is False
    c.close(code=1000, reason=b"bye \x1b[2J", code2=1000, reason2=b"")
    finish(out, "controls", cap, [c], "server text messages full of terminal control sequences "
           "(C0, DEL, backspace, CR, ESC/OSC, C1 as UTF-8, bidi, zero-width, JSON with a raw "
           "newline), a binary message of all 256 byte values; the client sends invalid UTF-8 "
           "and a close reason with ESC [2J",
           labels=[m["label"] for m in c.msgs])


def gen_badkey(out):
    cap = new_cap(out, "badkey")
    evil = "\x1b[2J\x1b]0;pwned\x07\x1b]52;c;cHduZWQ=\x07"
    key = adv.ws_key("badkey") + evil
    wrong = base64.b64encode(hashlib.sha1(b"not the key" + GUID).digest()).decode()
    c = Conn(cap, "badkey", 40003, seed=103, host="bad\x1b[2Jhost.example:9000", path="/badkey",
             key=key, accept=wrong)
    assert wrong != accept_for(key)
    c.open(T0)
    c.text(0, "hello from a client with a bad key", label="hello")
    c.text(1, "hello from a server with a wrong accept", label="reply")
    c.close()
    finish(out, "badkey", cap, [c], "Sec-WebSocket-Key with ESC/OSC sequences appended, Host with "
           "ESC [2J, a valid-looking but wrong Sec-WebSocket-Accept (accept_mismatch)",
           key_suffix=evil)


WIDE = [("例え.テスト:9000", "/チャット"), ("plain.example:9000", "/chat"),
        ("😀emoji.example:9000", "/x")]


def gen_widehost(out):
    cap = new_cap(out, "widehost")
    conns = []
    for i, (host, path) in enumerate(WIDE):
        c = Conn(cap, "widehost-%d" % (i + 1), 40011 + i, seed=111 + i, host=host, path=path)
        c.open(T0 if i == 0 else T0 + i * 100 * MS)
        c.text(0, "hello %s" % host, label="hello")
        c.text(1, "welcome to %s%s" % (host, path), label="reply")
        c.close()
        conns.append(c)
    finish(out, "widehost", cap, conns, "three connections whose Host and path are wide (CJK, "
           "emoji) or plain", hosts=[h for h, _ in WIDE], paths=[p for _, p in WIDE])


KO_WORDS = ["안녕하세요", "웹소켓", "테스트", "메시지입니다", "한국어", "문장이", "화면에",
            "길게", "이어집니다", "줄바꿈", "없이", "계속", "출력됩니다", "서버가", "보낸",
            "데이터를", "확인합니다", "가나다라마바사", "아자차카타파하", "감사합니다"]


def korean_texts():
    words = []
    i = 0
    while len(" ".join(words)) < 420:
        words.append(KO_WORDS[(i * 7 + i // len(KO_WORDS)) % len(KO_WORDS)])
        i += 1
    long_spaced = " ".join(words) + " 끝"
    nospace = ("".join(KO_WORDS) * 5)[:300]
    hangul200 = ("".join(reversed(KO_WORDS)) * 5)[:200]
    assert len(nospace) == 300 and len(hangul200) == 200
    assert all(0xAC00 <= ord(ch) <= 0xD7A3 for ch in nospace + hangul200)
    assert len(long_spaced) >= 400 and "\n" not in long_spaced
    js = '{"msg":"%s","n":1}' % hangul200
    client = "클라이언트 메시지 잘 받았습니다 감사합니다"
    return long_spaced, nospace, js, client


def gen_korean(out):
    cap = new_cap(out, "korean")
    c = Conn(cap, "korean", 40004, seed=104, host="korean.example:9000", path="/korean")
    c.open(T0)
    long_spaced, nospace, js, client = korean_texts()
    c.text(0, client, label="client_korean")
    c.text(1, long_spaced, label="long_spaced")
    c.text(1, nospace, label="nospace_300")
    c.text(1, js, label="json_200")
    c.close()
    finish(out, "korean", cap, [c], "long Korean text with spaces, 300 Hangul characters with no "
           "space, a JSON text holding 200 Hangul characters; one Korean client message",
           chars={"long_spaced": len(long_spaced), "nospace_300": len(nospace),
                  "json_200": len(js), "client_korean": len(client)})


def big_text(k, size=1 << 20):
    """size bytes of JSON-ish lines, numbered with the message k."""
    block = b"".join(b'{"msg":%d,"line":%02d,"event":"tick","symbol":"WSCOPE","price":%d.%02d,'
                     b'"note":"abcdefghijklmnopqrstuvwxyz 0123456789"}\n' % (k, j, 100 + k, j)
                     for j in range(16))
    return (block * (size // len(block) + 1))[:size]


def gen_deflate_big(out, name, n):
    cap = new_cap(out, name, step_us=50)
    ext = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
    c = Conn(cap, name, 40005, seed=105, host="deflate.example:9000", path="/big",
             ext_req=ext, ext_resp=ext, no_ctx=(True, True))
    c.open(T0)
    c.text(0, "send me the big ones", compress=True, label="request")
    big = []
    for k in range(1, n + 1):
        body = big_text(k)
        r = c.send(1, OP_TEXT, body, compress=True, ts_us=T0 + k * 10 * MS, label="big")
        r["head"] = body[:200].decode()
        big.append(r)
    c.close()
    finish(out, name, cap, [c], "permessage-deflate, no context takeover both ways: %d server "
           "text messages of exactly 1 MiB each, compressed (RSV1), 10 ms apart" % n,
           big_messages=n, big_length=1 << 20,
           wire_bytes=sum(m["wire_length"] for m in big))


def exchange(out, name, seed, cport, lost=None, ending="close", rst_after=None):
    """20 client and 20 server messages, 100 ms apart each way, interleaved
    (client N at +N*100 ms, server N at +N*100+50 ms)."""
    cap = new_cap(out, name)
    c = Conn(cap, name, cport, seed=seed, host="lossy.example:9000", path="/" + name)
    c.open(T0)
    lost_rec = None
    for n in range(1, 21):
        c.text(0, "client message %d" % n, ts_us=T0 + n * 100 * MS)
        r = c.text(1, "server message %d" % n, ts_us=T0 + n * 100 * MS + 50 * MS, lost=n == lost)
        if n == lost:
            lost_rec = r
        if rst_after is not None and n == rst_after:
            break
    tend = T0 + 2100 * MS
    if ending == "close":
        c.close(ts_us=tend)
    elif ending == "close4001":
        c.close(code=4001, reason=b"bye", ts_us=tend)
    elif ending == "fin":
        c.fins(ts_us=tend)
    elif ending == "rst":
        c.t._pkt(1, RST | ACK, ts_us=T0 + (rst_after * 100 + 60) * MS)
        c.end = "rst"
    elif ending == "eof":
        c.end = "eof"
    return cap, c, lost_rec


def seen_lists(c):
    return {d: [m["text"] for m in c.msgs if m["dir"] == d and m["opcode"] == "text"
                and not m.get("lost")] for d in ("c2s", "s2c")}


def gen_lossy(out):
    cap, c, r = exchange(out, "lossy", 106, 40006, lost=10)
    after = [m for m in c.msgs if m["dir"] == "s2c" and m["index"] > r["index"]]
    finish(out, "lossy", cap, [c], "20 messages each way, 100 ms apart, interleaved; the segment "
           "carrying server message 10 (its whole frame) is not in the file, but the sequence "
           "numbers after it and the client's ACKs cover it",
           lost={"dir": "s2c", "bytes": r["lost_bytes"], "message": "server message 10",
                 "message_index": r["index"], "ts_us": r["ts_us"], "seq": r["seq"],
                 "stream_offset": r["stream_offset"], "frame_boundary_before": True,
                 "frame_boundary_after": True,
                 "next_s2c_packet": after[0]["packet"] if after else None},
           seen=seen_lists(c))


def gen_ending(out, name, seed, cport, ending, rst_after=None):
    cap, c, _ = exchange(out, name, seed, cport, ending=ending, rst_after=rst_after)
    desc = {"eof": "the capture ends with the connection open: no close frame, no FIN",
            "fin": "FIN both ways, no close frame",
            "rst": "the server sends RST after %s messages each way" % rst_after,
            "close4001": "close frames with code 4001 reason \"bye\" both ways, then FIN both ways"}
    finish(out, name, cap, [c], "messages each way, 100 ms apart, nothing lost; " + desc[ending],
           seen=seen_lists(c))


def gen_many(out, n=200):
    cap = new_cap(out, "many-conns")
    conns = []
    for i in range(n):
        c = Conn(cap, "conn-%03d" % (i + 1), 30001 + i, seed=1000 + i, host="many.example:9000",
                 path="/conn/%d" % (i + 1))
        c.open(T0 + i * 10 * MS)
        c.text(0, "hello from connection %d" % (i + 1), label="hello")
        c.text(1, "reply to connection %d" % (i + 1), label="reply")
        c.close()
        conns.append(c)
    finish(out, "many-conns", cap, conns, "%d short connections, 10 ms apart, one message each way "
           "and a normal close" % n)


GENERATORS = {
    "brackets": gen_brackets,
    "controls": gen_controls,
    "badkey": gen_badkey,
    "widehost": gen_widehost,
    "korean": gen_korean,
    "deflate-big": lambda out: gen_deflate_big(out, "deflate-big", 400),
    "deflate-big-small": lambda out: gen_deflate_big(out, "deflate-big-small", 40),
    "lossy": gen_lossy,
    "eof": lambda out: gen_ending(out, "eof", 107, 40007, "eof"),
    "fin-noclose": lambda out: gen_ending(out, "fin-noclose", 108, 40008, "fin"),
    "rst": lambda out: gen_ending(out, "rst", 109, 40009, "rst", rst_after=10),
    "close4001": lambda out: gen_ending(out, "close4001", 110, 40010, "close4001"),
    "many-conns": gen_many,
}
ALL = tuple(GENERATORS)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--only", help="comma-separated capture names: " + ", ".join(ALL))
    a = ap.parse_args()
    only = a.only.split(",") if a.only else list(ALL)
    bad = [x for x in only if x not in GENERATORS]
    if bad:
        ap.error("unknown capture(s): %s" % ", ".join(bad))
    os.makedirs(a.outdir, exist_ok=True)
    for name in ALL:
        if name in only:
            GENERATORS[name](a.outdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
