#!/usr/bin/env python3
"""adversarial.py - deterministic adversarial captures for wscope's limits.

Usage:
  adversarial.py OUTDIR [--small] [--only NAME[,NAME...]]

Writes classic pcap files (Ethernet, IPv4, TCP, microsecond timestamps,
correct IPv4 and TCP checksums) and, next to each NAME.pcap, a NAME.json
sidecar saying exactly what the generator put in it: connections, their
endpoints and handshake, every WebSocket message (direction, opcode, exact
length, payload or its SHA-256, the packet that carries its last byte), and
the numbers a test needs (packet counts, where holes are, timelines). The
sidecar is the truth the tests compare wscope against; nothing here ever
reads wscope's output.

Captures (full size; --small gives the reduced sizes used by make check):

  syn-flood.pcap     1,000,000 SYNs (small: 50,000), each from a distinct
                     source address/port, to one server; never answered.
  conns-10k.pcap     10,000 WebSocket connections (small: 2,000) that complete
                     the handshake and Upgrade, exchange a message or two
                     (one in 20 with permessage-deflate, both directions
                     compressed), and all stay open to the end; then the
                     first and the last 5% send one more message each.
  frame-2e62.pcap    an upgraded connection whose client sends a masked frame
                     header claiming 2^62 bytes, then 300 MiB (small: 24 MiB)
                     of its payload, while its server keeps sending messages;
                     a second, normal permessage-deflate connection whose
                     messages must all decode; a third whose client claims a
                     length with the most significant bit set (2^63).
  deflate-bomb.pcap  permessage-deflate connections whose server sends one
                     message that inflates to 1 GiB of zeros (small: 80 MiB;
                     ~1 MB compressed), followed by normal compressed
                     messages that must still decode; plus messages that
                     inflate to exactly 1 MiB and 1 MiB + 1 byte.
  ooo-1byte.pcap     an upgraded connection whose client starts a frame,
                     then leaves a 1000-byte hole (that segment is never
                     captured) and sends 300,000 (small: 100,000) 1-byte
                     segments beyond it; the server only ever acknowledges
                     up to the start of the hole.
  idle.pcap          WebSocket connections (and one plain HTTP flow) that go
                     quiet for chosen times over ~12 minutes of capture time,
                     to test --idle-timeout at 30 s and at the default 300 s.
  handshakes.pcap    2,000 (small: 300) WebSocket connections whose upgrade
                     requests carry about 44 KB of long header values each
                     (path and query, Origin, User-Agent, subprotocols and
                     extensions offered), all open to the end.
  payload.pcap       messages of lengths around 1 KiB and 1 MiB (text with
                     multi-byte characters at the cut, binary, fragmented,
                     compressed) to test --max-payload.

Standard library only. Same arguments, same bytes.
"""
import argparse
import array
import base64
import hashlib
import json
import os
import struct
import sys
import zlib

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
T0_US = 1767225600 * 1000000          # 2026-01-01T00:00:00Z
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
OP_CONT, OP_TEXT, OP_BIN, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10
OPNAME = {0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}
MSS = 1448

FULL = dict(syn=1000000, conns=10000, frame_payload=300 << 20, bomb=1 << 30, ooo=300000, handshakes=2000)
SMALL = dict(syn=50000, conns=2000, frame_payload=24 << 20, bomb=80 << 20, ooo=100000, handshakes=300)


# ---------------------------------------------------------------- checksums

def _sum16(b):
    """Ones' complement sum of b in native 16-bit words (RFC 1071: the sum is
    byte-order independent, so storing the result natively is correct)."""
    if len(b) & 1:
        b += b"\0"
    return sum(array.array("H", b))


def _fold(s):
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def _csum_native(s):
    return struct.pack("=H", ~_fold(s) & 0xFFFF)


def ip4(s):
    return bytes(int(x) for x in s.split("."))


ETH_HDR = bytes.fromhex("020000000002" "020000000001" "0800")


def tcp_frame(src, sport, dst, dport, seq, ack, flags, payload=b"", ipid=0, win=65535):
    """Ethernet + IPv4 + TCP (no options), checksums correct."""
    tcp_len = 20 + len(payload)
    iph = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + tcp_len, ipid & 0xFFFF, 0x4000,
                                64, 6, 0, src, dst))
    iph[10:12] = _csum_native(_sum16(bytes(iph)))
    tcph = bytearray(struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                                 0x50, flags, win, 0, 0))
    pseudo = src + dst + struct.pack("!BBH", 0, 6, tcp_len)
    tcph[16:18] = _csum_native(_sum16(pseudo) + _sum16(bytes(tcph)) + _sum16(payload))
    return ETH_HDR + bytes(iph) + bytes(tcph) + payload


# ---------------------------------------------------------------- pcap

class Pcap:
    """Classic pcap writer with its own capture clock (microseconds)."""

    def __init__(self, path, t0_us=T0_US, step_us=100):
        self.path = path
        self.f = open(path, "wb", buffering=1 << 20)
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        self.n = 0           # records written; packet numbers count from 1
        self.t = t0_us
        self.step = step_us
        self.bytes = 0
        self.tags = None     # a list: the owner tag of every packet, in order
        self.tag = None

    def write(self, frame, ts_us=None):
        if ts_us is None:
            self.t += self.step
        else:
            assert ts_us >= self.t, "time must not go back"
            self.t = ts_us
        self.f.write(struct.pack("<IIII", self.t // 1000000, self.t % 1000000, len(frame), len(frame)))
        self.f.write(frame)
        self.n += 1
        self.bytes += len(frame)
        if self.tags is not None:
            self.tags.append(self.tag)
        return self.n

    def close(self):
        self.f.close()


# ---------------------------------------------------------------- TCP

class Tcp:
    """One TCP connection: direction 0 is client -> server, 1 the reverse."""

    def __init__(self, cap, cip, cport, sip, sport, isn_c, isn_s):
        self.cap = cap
        self.ep = [(ip4(cip), cport), (ip4(sip), sport)]
        self.eps = [(cip, cport), (sip, sport)]
        self.nxt = [isn_c & 0xFFFFFFFF, isn_s & 0xFFFFFFFF]
        self.off = [0, 0]    # stream offset of the next byte per direction
        self.ipid = [isn_c & 0xFFFF, isn_s & 0xFFFF]
        self.tag = None      # recorded per packet when the capture keeps tags

    def _pkt(self, d, flags, payload=b"", seq=None, ack=None, ts_us=None):
        (src, sp), (dst, dp) = self.ep[d], self.ep[1 - d]
        if seq is None:
            seq = self.nxt[d]
        if ack is None:
            ack = self.nxt[1 - d] if flags & ACK else 0
        self.ipid[d] += 1
        self.cap.tag = self.tag
        return self.cap.write(tcp_frame(src, sp, dst, dp, seq, ack, flags, payload, self.ipid[d]), ts_us)

    def handshake(self, ts_us=None):
        n = self._pkt(0, SYN, ts_us=ts_us)
        self.nxt[0] += 1
        self._pkt(1, SYN | ACK)
        self.nxt[1] += 1
        self._pkt(0, ACK)
        return n

    def send(self, d, data, mss=MSS, ts_us=None):
        """Sends data in order in segments of at most mss bytes. Returns
        (first packet, last packet, stream offset of the first byte)."""
        first = None
        start = self.off[d]
        pos = 0
        while pos < len(data):
            chunk = data[pos:pos + mss]
            last = pos + len(chunk) >= len(data)
            n = self._pkt(d, ACK | (PSH if last else 0), chunk, ts_us=ts_us if first is None else None)
            first = first or n
            self.nxt[d] += len(chunk)
            self.off[d] += len(chunk)
            pos += len(chunk)
        return first, n, start

    def skip(self, d, n):
        """Advances the sequence space by n bytes that are never captured."""
        self.nxt[d] += n
        self.off[d] += n

    def ack(self, d, ack=None, ts_us=None):
        return self._pkt(d, ACK, b"", ack=ack, ts_us=ts_us)



# ---------------------------------------------------------------- WebSocket

def ws_key(tag):
    return base64.b64encode(hashlib.md5(b"wscope-key-" + tag.encode()).digest()).decode()


def ws_accept(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def upgrade_request(host, path, key, ext=None, proto=None, ua="adversarial.py", extra=()):
    h = ["GET %s HTTP/1.1" % path, "Host: %s" % host, "Upgrade: websocket",
         "Connection: Upgrade", "Sec-WebSocket-Key: %s" % key, "Sec-WebSocket-Version: 13",
         "User-Agent: %s" % ua] + list(extra)
    if proto:
        h.append("Sec-WebSocket-Protocol: %s" % proto)
    if ext:
        h.append("Sec-WebSocket-Extensions: %s" % ext)
    return ("\r\n".join(h) + "\r\n\r\n").encode()


def upgrade_response(key, ext=None, proto=None):
    h = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
         "Sec-WebSocket-Accept: %s" % ws_accept(key)]
    if proto:
        h.append("Sec-WebSocket-Protocol: %s" % proto)
    if ext:
        h.append("Sec-WebSocket-Extensions: %s" % ext)
    return ("\r\n".join(h) + "\r\n\r\n").encode()


def xor_mask(data, mask, pos=0):
    """RFC 6455 masking of data that starts at payload offset pos."""
    n = len(data)
    if n == 0:
        return b""
    m = mask[pos % 4:] + mask[:pos % 4]
    out = bytearray()
    step = 1 << 20       # a multiple of 4: the mask stays aligned per chunk
    for i in range(0, n, step):
        c = data[i:i + step]
        rep = (m * (len(c) // 4 + 1))[:len(c)]
        out += (int.from_bytes(c, "little") ^ int.from_bytes(rep, "little")).to_bytes(len(c), "little")
    return bytes(out)


def frame_header(op, length, mask=None, fin=True, rsv1=False):
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | op
    mb = 0x80 if mask is not None else 0
    if length < 126:
        h = bytes([b0, mb | length])
    elif length < 65536:
        h = struct.pack("!BBH", b0, mb | 126, length)
    else:
        h = struct.pack("!BBQ", b0, mb | 127, length)
    return h + (mask or b"")


def ws_frame(op, payload, mask=None, fin=True, rsv1=False):
    body = xor_mask(payload, mask) if mask is not None else payload
    return frame_header(op, len(payload), mask, fin, rsv1) + body


class Deflater:
    """permessage-deflate sender: raw deflate, sync flush, 00 00 ff ff cut."""

    def __init__(self, no_context=False, level=6):
        self.no_context = no_context
        self.level = level
        self.c = zlib.compressobj(level, zlib.DEFLATED, -15)

    def compress(self, msg, chunks=None):
        out = bytearray()
        if chunks is None:
            out += self.c.compress(msg)
        else:
            for ch in chunks:
                out += self.c.compress(ch)
        out += self.c.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(b"\x00\x00\xff\xff")
        del out[-4:]
        if self.no_context:
            self.c = zlib.compressobj(self.level, zlib.DEFLATED, -15)
        return bytes(out)


def inflate_fresh(comp):
    d = zlib.decompressobj(-15)
    return d.decompress(comp + b"\x00\x00\xff\xff")


class MaskGen:
    def __init__(self, seed):
        self.i = seed

    def __call__(self):
        self.i += 1
        v = (self.i * 2654435761 + 0x5BD1E995) & 0xFFFFFFFF
        return struct.pack("!I", v or 1)


def msg_rec(d, op, payload, packet, first_packet, frames=1, compressed=False,
            wire_length=None, inline_max=2 << 20, length=None, ts_us=None):
    """The sidecar's record of one message."""
    n = len(payload) if length is None else length
    r = {"dir": "c2s" if d == 0 else "s2c", "opcode": OPNAME[op], "length": n,
         "compressed": compressed, "frames": frames, "packet": packet}
    if first_packet != packet:
        r["first_packet"] = first_packet
    if compressed:
        r["wire_length"] = wire_length
    if ts_us is not None:
        r["ts_us"] = ts_us
    if payload is not None and len(payload) <= inline_max:
        r["b64"] = base64.b64encode(payload).decode()
    elif payload is not None:
        r["sha256"] = hashlib.sha256(payload).hexdigest()
        r["prefix_b64"] = base64.b64encode(payload[:65536]).decode()
    return r


class WsConn:
    """A WebSocket connection over Tcp, recording what it sends."""

    def __init__(self, cap, name, cip, cport, sip, sport, host="example.test", path="/ws",
                 ext_req=None, ext_resp=None, proto_req=None, proto_resp=None,
                 no_ctx=(False, False), seed=0, ua="adversarial.py", extra=()):
        self.ua, self.extra = ua, extra
        self.t = Tcp(cap, cip, cport, sip, sport, 0x10000000 + seed * 7919, 0x80000000 + seed * 104729)
        self.cap = cap
        self.name = name
        self.host, self.path = host, path
        self.ext_req, self.ext_resp = ext_req, ext_resp
        self.proto_req, self.proto_resp = proto_req, proto_resp
        self.key = ws_key(name)
        self.deflate = ext_resp is not None and "permessage-deflate" in ext_resp
        self.defl = [Deflater(no_ctx[0]), Deflater(no_ctx[1])] if self.deflate else None
        self.no_ctx = no_ctx
        self.mask = MaskGen(seed * 1000)
        self.messages = []
        self.first_packet = None
        self.upgrade_packet = None

    def open(self, ts_us=None):
        self.first_packet = self.t.handshake(ts_us)
        self.first_ts = self.cap.t
        self.t.send(0, upgrade_request(self.host, self.path, self.key, self.ext_req, self.proto_req,
                                       self.ua, self.extra))
        _, self.upgrade_packet, _ = self.t.send(1, upgrade_response(self.key, self.ext_resp, self.proto_resp))

    def message(self, d, op, payload, compress=False, fragments=1, mss=MSS, ts_us=None):
        """Sends one message (data or control), fragmented into `fragments`
        frames; returns its sidecar record."""
        wire = self.defl[d].compress(payload) if compress else payload
        if fragments <= 1 or op >= 8:
            parts = [wire]
        else:
            k = -(-len(wire) // fragments)
            parts = [wire[i * k:(i + 1) * k] for i in range(fragments)]
        data = bytearray()
        for i, part in enumerate(parts):
            mask = self.mask() if d == 0 else None
            fop = op if i == 0 else OP_CONT
            data += ws_frame(fop, part, mask, fin=i == len(parts) - 1, rsv1=compress and i == 0)
        first, last, _ = self.t.send(d, bytes(data), mss, ts_us)
        self.last_wire = wire
        rec = msg_rec(d, op, payload, last, first, frames=len(parts), compressed=compress,
                      wire_length=len(wire) if compress else None, ts_us=self.cap.t)
        self.messages.append(rec)
        return rec

    def info(self):
        c, s = self.t.eps
        return {"name": self.name, "client": {"ip": c[0], "port": c[1]},
                "server": {"ip": s[0], "port": s[1]}, "host": self.host, "path": self.path,
                "extensions": self.ext_resp, "extensions_requested": self.ext_req,
                "subprotocol": self.proto_resp, "subprotocol_requested": self.proto_req,
                "deflate": self.deflate, "first_packet": self.first_packet,
                "upgrade_packet": self.upgrade_packet, "messages": self.messages}


def write_sidecar(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")


# ---------------------------------------------------------------- captures

def gen_syn_flood(out, n):
    """n SYNs, every one from a distinct (address, port), never answered.
    Built from one template with the varying words patched in and the
    checksums updated incrementally (RFC 1624), so 1M take a few seconds."""
    path = os.path.join(out, "syn-flood.pcap")
    dst, dport = ip4("192.0.2.1"), 80
    per_ip = 50000
    tmpl = bytearray(tcp_frame(ip4("0.0.0.0"), 0, dst, dport, 0, 0, SYN, b"", 0))
    # checksums of the template computed with zero source/port/seq/id
    ip_base = (~struct.unpack("!H", tmpl[24:26])[0]) & 0xFFFF
    tcp_base = (~struct.unpack("!H", tmpl[50:52])[0]) & 0xFFFF
    f = open(path, "wb", buffering=1 << 22)
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
    rec = struct.Struct("<IIII")
    t = T0_US
    flen = len(tmpl)
    pack_ip = struct.Struct("!H").pack_into
    pack_words = struct.Struct("!HH").pack_into
    pack_seq = struct.Struct("!I").pack_into
    for i in range(n):
        a = 0x0A000000 + 0x100 + i // per_ip          # 10.0.1.0, 10.0.1.1, ...
        port = 10000 + i % per_ip
        seq = (i * 2654435761) & 0xFFFFFFFF
        ipid = i & 0xFFFF
        hi, lo = a >> 16, a & 0xFFFF
        s_hi, s_lo = seq >> 16, seq & 0xFFFF
        ip_sum = _fold(ip_base + hi + lo + ipid)
        tcp_sum = _fold(tcp_base + hi + lo + port + s_hi + s_lo)
        pack_ip(tmpl, 18, ipid)
        pack_ip(tmpl, 24, ~ip_sum & 0xFFFF)
        pack_words(tmpl, 26, hi, lo)
        pack_ip(tmpl, 34, port)
        pack_seq(tmpl, 38, seq)
        pack_ip(tmpl, 50, ~tcp_sum & 0xFFFF)
        t += 10
        f.write(rec.pack(t // 1000000, t % 1000000, flen, flen))
        f.write(tmpl)
    f.close()
    write_sidecar(os.path.join(out, "syn-flood.json"), {
        "capture": "syn-flood.pcap", "packets": n, "syns": n, "tcp_flows": n,
        "server": {"ip": "192.0.2.1", "port": dport},
        "sources": "10.0.1.0 + i // %d, port 10000 + i %% %d (all distinct)" % (per_ip, per_ip),
        "first_ts_us": T0_US + 10, "last_ts_us": t, "ws_connections": 0, "messages": 0,
        "description": "SYNs from distinct source address/port pairs, 10 us apart, never answered"})


def gen_conns(out, n):
    """n WebSocket connections, all open to the end of the capture."""
    path = os.path.join(out, "conns-10k.pcap")
    cap = Pcap(path, step_us=50)
    cap.tags = []
    conns = []
    batch = 50      # connections set up and talking interleaved, 50 at a time
    servers = ["192.0.2.%d" % (10 + k) for k in range(4)]
    for b0 in range(0, n, batch):
        group = []
        for i in range(b0, min(n, b0 + batch)):
            deflate = i % 20 == 7
            ext_req = ext_resp = None
            no_ctx = (False, False)
            if deflate:
                ext_req = "permessage-deflate; client_max_window_bits"
                if (i // 20) % 2 == 0:
                    ext_resp = "permessage-deflate"
                else:
                    ext_resp = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
                    no_ctx = (True, True)
            proto_req = proto_resp = None
            if i % 3 == 0:
                proto_req, proto_resp = "chat, superchat", "chat"
            cip = "10.%d.%d.%d" % (1 + i // 60000, (i // 250) % 240, 1 + i % 250)
            c = WsConn(cap, "c%d" % i, cip, 20000 + i % 40000, servers[i % 4], 8080,
                       host="svc%d.example.test" % (i % 4), path="/stream/%d" % i,
                       ext_req=ext_req, ext_resp=ext_resp, proto_req=proto_req,
                       proto_resp=proto_resp, no_ctx=no_ctx, seed=i + 1)
            c.index = i
            c.t.tag = i
            group.append(c)
        for c in group:
            c.open()
        for c in group:
            i = c.index
            c.message(0, OP_TEXT, ('{"op":"subscribe","id":%d,"topic":"ticker.%d","note":"hello from '
                                   'client %d"}' % (i, i % 97, i)).encode(), compress=c.deflate)
        for c in group:
            i = c.index
            if i % 7 == 3:
                payload = hashlib.sha256(b"bin%d" % i).digest() * (1 + i % 9)
                c.message(1, OP_BIN, payload, compress=c.deflate)
            else:
                c.message(1, OP_TEXT, ('{"op":"ack","id":%d,"topic":"ticker.%d","price":%d.%02d,'
                                       '"msg":"subscribed to ticker.%d"}' % (
                                           i, i % 97, 100 + i % 900, i % 100, i % 97)).encode(),
                          compress=c.deflate)
            if i % 5 == 0:
                c.message(1, OP_TEXT, ('{"op":"update","id":%d,"topic":"ticker.%d","price":%d.%02d}' % (
                    i, i % 97, 101 + i % 900, (i * 7) % 100)).encode(), compress=c.deflate)
        conns.extend(group)
    # A last round: the oldest and the newest 5% each send one more message,
    # the newest ones last (the most recently active at the end).
    k = max(1, n // 20)
    late = list(range(k)) + list(range(n - k, n))
    for i in late:
        c = conns[i]
        c.message(0, OP_TEXT, ('{"op":"ping","id":%d,"seq":2,"topic":"ticker.%d","note":"still here, '
                               'client %d"}' % (i, i % 97, i)).encode(), compress=c.deflate)
        c.message(1, OP_TEXT, ('{"op":"pong","id":%d,"seq":2,"topic":"ticker.%d","note":"still here, '
                               'client %d"}' % (i, i % 97, i)).encode(), compress=c.deflate)
    cap.close()
    infos = []
    for c in conns:
        d = c.info()
        d["end"] = "eof"
        d["last_round"] = c.index in late
        infos.append(d)
    write_sidecar(os.path.join(out, "conns-10k.json"), {
        "capture": "conns-10k.pcap", "packets": cap.n, "tcp_flows": n, "ws_connections": n,
        "messages": sum(len(c.messages) for c in conns),
        "deflate_connections": sum(1 for c in conns if c.deflate),
        "inflaters": sum(2 for c in conns if c.deflate),
        "last_round_oldest": list(range(k)), "last_round_newest": list(range(n - k, n)),
        "first_ts_us": T0_US + 50, "last_ts_us": cap.t,
        "packet_conn": cap.tags,
        "description": "%d WebSocket connections open at once; one in 20 with permessage-deflate "
                       "(both directions compressed); none ends before the capture does" % n,
        "connections": infos})


def gen_handshakes(out, n):
    """n WebSocket connections whose upgrade requests carry long header
    values (path and query, Origin, User-Agent, the subprotocols and
    extensions offered: about 44 KB a head), all open to the end."""
    path = os.path.join(out, "handshakes.pcap")
    cap = Pcap(path, step_us=50)
    cap.tags = []
    conns = []
    for i in range(n):
        pad = hashlib.sha256(b"hs%d" % i).hexdigest()
        query = "&".join("k%d=%s" % (j, pad) for j in range(160))           # ~11 KB
        ua = "agent/%d (%s)" % (i, " ".join(pad for _ in range(180)))          # ~12 KB
        origin = "https://%s.example.test" % ("o" + pad * 120)                 # ~8 KB
        protos = ", ".join("p%d-%s" % (j, pad[:24]) for j in range(300))       # ~9 KB
        exts = ", ".join("x-ext-%d; v=%s" % (j, pad[:16]) for j in range(150))  # ~4 KB
        cip = "10.%d.%d.%d" % (50 + i // 60000, (i // 250) % 240, 1 + i % 250)
        c = WsConn(cap, "h%d" % i, cip, 30000 + i % 30000, "192.0.2.20", 8080,
                   host="hs.example.test", path="/hs/%d?%s" % (i, query), ext_req=exts,
                   proto_req="chat, " + protos, proto_resp="chat", seed=i + 7, ua=ua,
                   extra=["Origin: %s" % origin])
        c.index = i
        c.t.tag = i
        c.open()
        c.message(0, OP_TEXT, b'{"hello":%d}' % i)
        c.message(1, OP_TEXT, b'{"welcome":%d}' % i)
        conns.append(c)
    cap.close()
    infos = []
    for c in conns:
        d = c.info()
        d["end"] = "eof"
        infos.append(d)
    write_sidecar(os.path.join(out, "handshakes.json"), {
        "capture": "handshakes.pcap", "packets": cap.n, "tcp_flows": n, "ws_connections": n,
        "messages": sum(len(c.messages) for c in conns), "packet_conn": cap.tags,
        "request_head_bytes": len(upgrade_request(conns[0].host, conns[0].path, conns[0].key,
                                                  conns[0].ext_req, conns[0].proto_req, conns[0].ua,
                                                  conns[0].extra)),
        "description": "%d WebSocket connections with long upgrade headers, open at once" % n,
        "connections": infos})


def pattern_block(size, seed):
    blk = bytearray()
    h = hashlib.sha256(seed).digest()
    while len(blk) < size:
        h = hashlib.sha256(h).digest()
        blk += h
    return bytes(blk[:size])


def gen_frame_2e62(out, payload_bytes):
    path = os.path.join(out, "frame-2e62.pcap")
    cap = Pcap(path, step_us=20)
    a = WsConn(cap, "huge", "10.9.0.1", 40001, "192.0.2.20", 8080, host="huge.example.test",
               path="/upload", seed=1)
    b = WsConn(cap, "normal", "10.9.0.2", 40002, "192.0.2.20", 8080, host="normal.example.test",
               path="/chat", ext_req="permessage-deflate; client_max_window_bits",
               ext_resp="permessage-deflate", seed=2)
    c = WsConn(cap, "msb", "10.9.0.3", 40003, "192.0.2.20", 8080, host="msb.example.test",
               path="/bad", seed=3)
    a.open()
    b.open()
    c.open()
    a.message(1, OP_TEXT, b"welcome: send your file")
    a.message(0, OP_TEXT, b"sending a big one")
    b.message(0, OP_TEXT, b"hello, I am the normal connection", compress=True)
    b.message(1, OP_TEXT, b"hello, normal connection: all fine here", compress=True)
    # The client of A claims 2^62 bytes (top bit clear: a valid length).
    claim = 1 << 62
    mask = b"\x37\xfa\x21\x3d"
    hdr = frame_header(OP_BIN, claim, mask)
    first_hdr_pkt, hdr_pkt, hdr_off = a.t.send(0, hdr)
    # Its payload: payload_bytes of wire bytes (the unmasked content is
    # irrelevant); the server acknowledges as it goes, sends a tick message
    # every 2 MiB, and B keeps talking.
    blk = pattern_block(1 << 20, b"frame-2e62")
    sent = 0
    tick = 0
    bmsgs = 0
    while sent < payload_bytes:
        chunk = blk[:min(len(blk), payload_bytes - sent)]
        a.t.send(0, chunk)
        sent += len(chunk)
        a.t.ack(1)
        if sent % (2 << 20) == 0:
            tick += 1
            a.message(1, OP_TEXT, ("tick %d: %d bytes received" % (tick, sent)).encode())
            bmsgs += 1
            b.message(0, OP_TEXT, ("normal message %d while the other connection uploads" % bmsgs).encode(),
                      compress=True)
            b.message(1, OP_BIN, hashlib.sha256(b"normal%d" % bmsgs).digest() * 3, compress=True)
    # C: a length with the most significant bit set, then a few bytes.
    c.message(1, OP_TEXT, b"hi msb")
    c_hdr = frame_header(OP_BIN, 1 << 63, b"\x01\x02\x03\x04")
    _, c_hdr_pkt, _ = c.t.send(0, c_hdr + b"\xaa" * 100)
    c.message(1, OP_TEXT, b"server still talks after the bad length")
    b.message(0, OP_TEXT, b"last normal message", compress=True)
    b.message(1, OP_TEXT, b"last normal answer", compress=True)
    cap.close()
    ia, ib, ic = a.info(), b.info(), c.info()
    ia["end"] = ib["end"] = ic["end"] = "eof"
    ia["huge_frame"] = {"dir": "c2s", "opcode": "binary", "claimed_length": claim, "masked": True,
                        "mask": mask.hex(), "header_packet": hdr_pkt, "payload_sent": payload_bytes,
                        "stream_offset": hdr_off}
    ic["msb_frame"] = {"dir": "c2s", "claimed_length": 1 << 63, "header_packet": c_hdr_pkt}
    write_sidecar(os.path.join(out, "frame-2e62.json"), {
        "capture": "frame-2e62.pcap", "packets": cap.n, "tcp_flows": 3, "ws_connections": 3,
        "description": "client frame header claiming 2^62 bytes followed by %d payload bytes; a normal "
                       "deflate connection alongside; a third connection claiming 2^63 (MSB set)" % payload_bytes,
        "connections": [ia, ib, ic]})


def gen_deflate_bomb(out, bomb_bytes):
    path = os.path.join(out, "deflate-bomb.pcap")
    cap = Pcap(path, step_us=20)
    # A: no context takeover on either side.
    a = WsConn(cap, "bomb-no-context", "10.8.0.1", 41001, "192.0.2.30", 8080, host="bomb.example.test",
               path="/a", ext_req="permessage-deflate; client_max_window_bits",
               ext_resp="permessage-deflate; server_no_context_takeover; client_no_context_takeover",
               no_ctx=(True, True), seed=11)
    # B: context takeover: the message after the bomb is compressed with the
    # same (continuing) compressor, but refers to nothing in the window (checked
    # below), so a fresh inflater decodes it too.
    b = WsConn(cap, "bomb-takeover", "10.8.0.2", 41002, "192.0.2.30", 8080, host="bomb.example.test",
               path="/b", ext_req="permessage-deflate", ext_resp="permessage-deflate", seed=12)
    # C: messages that inflate to exactly 1 MiB and 1 MiB + 1.
    c = WsConn(cap, "edges", "10.8.0.3", 41003, "192.0.2.30", 8080, host="bomb.example.test",
               path="/c", ext_req="permessage-deflate",
               ext_resp="permessage-deflate; server_no_context_takeover", no_ctx=(False, True), seed=13)
    for w in (a, b, c):
        w.open()
    a.message(0, OP_TEXT, b"give me the big file", compress=True)
    a.message(1, OP_TEXT, b"here it comes", compress=True)
    b.message(1, OP_TEXT, b"here it comes too", compress=True)

    def bomb(w):
        comp = w.defl[1].compress(None, chunks=(bytes(1 << 20) for _ in range(bomb_bytes >> 20)))
        first, last, _ = w.t.send(1, ws_frame(OP_BIN, comp, None, rsv1=True))
        rec = msg_rec(1, OP_BIN, None, last, first, compressed=True, wire_length=len(comp),
                      length=bomb_bytes, ts_us=cap.t)
        rec["zeros"] = True
        rec["bomb"] = True
        w.messages.append(rec)
        return comp

    bomb(a)
    a.message(1, OP_TEXT, "after the bomb: this must decode exactly, ünïcödé ✓".encode(),
                        compress=True)
    a.message(0, OP_TEXT, b"thanks, got it", compress=True)
    bomb(b)
    after_b = "after the bomb, with context takeover: 1234567890 ✓".encode()
    b.message(1, OP_TEXT, after_b, compress=True)
    # It refers to nothing in the window (all zeros): a fresh inflater, as
    # after a bomb, decodes it exactly.
    assert inflate_fresh(b.last_wire) == after_b
    b.message(1, OP_TEXT, "and one more, referring back: after the bomb, with context takeover".encode(),
              compress=True)
    mib = 1 << 20
    body = b"".join(b"line %07d of an edge-size message\n" % i for i in range(mib // 34 + 2))
    c.message(1, OP_BIN, body[:mib], compress=True)
    c.message(1, OP_BIN, body[:mib + 1], compress=True)
    c.message(1, OP_TEXT, b"edges done", compress=True)
    cap.close()
    infos = [w.info() for w in (a, b, c)]
    for i in infos:
        i["end"] = "eof"
    write_sidecar(os.path.join(out, "deflate-bomb.json"), {
        "capture": "deflate-bomb.pcap", "packets": cap.n, "tcp_flows": 3, "ws_connections": 3,
        "bomb_length": bomb_bytes, "edge_lengths": [mib, mib + 1],
        "description": "server messages inflating to %d zero bytes (one per connection A and B), "
                       "then normal compressed messages; messages of exactly 1 MiB and 1 MiB + 1 "
                       "inflated on C" % bomb_bytes,
        "connections": infos})


def gen_ooo(out, nseg, name="ooo-1byte"):
    path = os.path.join(out, name + ".pcap")
    cap = Pcap(path, step_us=10)
    w = WsConn(cap, "ooo", "10.7.0.1", 42001, "192.0.2.40", 8080, host="ooo.example.test",
               path="/ooo", seed=21)
    w.open()
    w.message(1, OP_TEXT, b"ready")
    hole = 1000
    lead = 100
    length = lead + hole + nseg
    mask = b"\x11\x22\x33\x44"
    hdr = frame_header(OP_BIN, length, mask)
    # the frame header and the first bytes in order
    content = pattern_block(length, b"ooo")
    wire = xor_mask(content, mask)
    _, hdr_pkt, hdr_off = w.t.send(0, hdr + wire[:lead])
    w.t.ack(1)
    hole_off = w.t.off[0]
    w.t.skip(0, hole)           # the segment that is never captured
    seg_pkts = []
    hole_ack = w.t.nxt[0] - hole  # what the server acknowledges: the hole's start
    acks = 0
    for i in range(nseg):
        n = w.t._pkt(0, ACK | PSH, wire[lead + hole + i:lead + hole + i + 1])
        w.t.nxt[0] += 1
        w.t.off[0] += 1
        if i < 5000:
            seg_pkts.append(n)
        if (i + 1) % 1000 == 0:
            w.t.ack(1, ack=hole_ack)   # duplicate ACK: never past the hole
            acks += 1
    last = n
    cap.close()
    info = w.info()
    info["end"] = "eof"
    info["ooo_message"] = {"dir": "c2s", "opcode": "binary", "length": length, "gap": True,
                           "packet": last, "header_packet": hdr_pkt}
    write_sidecar(os.path.join(out, name + ".json"), {
        "capture": name + ".pcap", "packets": cap.n, "tcp_flows": 1, "ws_connections": 1,
        "hole_offset": hole_off, "hole_length": hole, "lead_bytes": lead,
        "one_byte_segments": nseg, "dup_acks": acks,
        "c2s_stream_bytes": w.t.off[0], "s2c_stream_bytes": w.t.off[1], "seg_packets_first_5000": seg_pkts,
        "last_packet": last,
        "description": "client frame of %d bytes: %d bytes in order, a %d-byte hole never filled nor "
                       "acknowledged, then %d one-byte segments" % (length, lead, hole, nseg),
        "connections": [info]})


def gen_idle(out):
    """Connections going quiet for chosen lengths of capture time."""
    path = os.path.join(out, "idle.pcap")
    cap = Pcap(path, step_us=100)
    S = 1000000
    t0 = T0_US
    names = ["A", "B", "C", "D", "E", "F"]
    ws = {}
    for k, nm in enumerate(names):
        ws[nm] = WsConn(cap, nm, "10.6.0.%d" % (k + 1), 43001 + k, "192.0.2.50", 8080,
                        host="idle.example.test", path="/%s" % nm, seed=31 + k)
    plain = Tcp(cap, "10.6.0.99", 43099, "192.0.2.50", 80, 0x1111, 0x2222)
    # events: (time offset in microseconds, what)
    ev = []
    for k, nm in enumerate(names):
        ev.append((k * 10000, nm, "open"))
    ev.append((70000, "G", "http"))
    ev.append((1 * S, "A", "msg"))           # A: quiet from here on
    ev.append((2 * S, "C", "msg"))           # C: silent exactly 30 s, then a message
    ev.append((32 * S, "C", "msg"))
    ev.append((3 * S, "D", "msg"))           # D: silent 30.000001 s, then a message
    ev.append((33 * S + 1, "D", "msg"))
    ev.append((5 * S, "E", "msg"))           # E: silent 301 s
    ev.append((306 * S, "E", "msg"))
    ev.append((6 * S, "F", "msg"))           # F: silent 299 s
    ev.append((305 * S, "F", "msg"))
    for s in range(10, 720, 10):             # B: a ping/pong every 10 s
        ev.append((s * S + 500000, "B", "ping"))
    ev.sort(key=lambda e: e[0])
    pkts = []          # (ts_us, connection name) of every packet, in order
    seen = 0
    for off, nm, what in ev:
        ts = t0 + off
        if what == "open":
            ws[nm].open(ts_us=ts)
        elif what == "http":
            plain.handshake(ts_us=ts)
            plain.send(0, b"GET /health HTTP/1.1\r\nHost: idle.example.test\r\n\r\n")
            plain.send(1, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        elif what == "msg":
            ws[nm].message(0, OP_TEXT, ("%s says hello at +%d us" % (nm, off)).encode(), ts_us=ts)
        elif what == "ping":
            ws[nm].message(0, OP_PING, b"keepalive %d" % off, ts_us=ts)
            ws[nm].message(1, OP_PONG, b"keepalive %d" % off)
        while seen < cap.n:
            seen += 1
            pkts.append((None, "G" if what == "http" else nm))
    cap.close()
    # the timestamp of every packet, read back from the file just written
    ts_list = []
    with open(path, "rb") as f:
        f.read(24)
        while True:
            h = f.read(16)
            if len(h) < 16:
                break
            sec, usec, incl, _ = struct.unpack("<IIII", h)
            f.seek(incl, 1)
            ts_list.append(sec * 1000000 + usec)
    assert len(ts_list) == len(pkts)
    pkts = [(ts_list[i], pkts[i][1]) for i in range(len(pkts))]
    expect = {}
    for T in (30, 300):
        expect[str(T)] = idle_expectations(pkts, T, names + ["G"], ws)
    infos = [ws[nm].info() for nm in names]
    c, s = plain.eps
    write_sidecar(os.path.join(out, "idle.json"), {
        "capture": "idle.pcap", "packets": cap.n, "ws_connections": len(names),
        "description": "WebSocket connections A-F and a plain HTTP flow G going quiet for chosen "
                       "lengths of capture time; B pings every 10 s to the end",
        "plain_flow": {"name": "G", "client": {"ip": c[0], "port": c[1]},
                       "server": {"ip": s[0], "port": s[1]}},
        "packet_ts_us": [p[0] for p in pkts], "packet_conn": [p[1] for p in pkts],
        "expect": expect, "connections": infos})


def idle_expectations(pkts, T, names, ws):
    """The documented rule, applied to the generator's own timeline: a flow
    idle for longer than T seconds of capture time (strictly; compared with
    the current packet's time) ends with reason timeout when the next packet
    of any flow arrives, before that packet is processed. A later packet of
    the same endpoints then opens a new flow, picked up mid-stream. Flows
    still open at the end of the capture end with eof."""
    lim = T * 1000000
    last = {}
    gen = {nm: 0 for nm in names}    # flow generation per endpoint pair
    flows = []                       # (name, generation, first_ts, end, end_ts)
    open_ = {}
    for i, (ts, nm) in enumerate(pkts):
        for k in sorted(list(open_), key=lambda k: last[k]):
            if ts - last[k] > lim:
                fl = open_.pop(k)
                fl["end"] = "timeout"
                fl["end_ts_us"] = ts
        if nm not in open_:
            gen[nm] += 1
            open_[nm] = {"name": nm, "generation": gen[nm], "first_ts_us": ts,
                         "first_packet": i + 1, "end": None, "end_ts_us": None}
            flows.append(open_[nm])
        last[nm] = ts
    for fl in open_.values():
        fl["end"] = "eof"
        fl["end_ts_us"] = pkts[-1][0]
    out = {"flows": flows, "ws": {}}
    for nm, w in ws.items():
        first = next(f for f in flows if f["name"] == nm and f["generation"] == 1)
        ends = first["end_ts_us"]
        kept = [m for m in w.messages if first["end"] == "eof" or m["ts_us"] < ends]
        out["ws"][nm] = {"end": first["end"], "end_ts_us": first["end_ts_us"],
                         "messages": len(kept)}
    return out


def gen_payload(out):
    path = os.path.join(out, "payload.pcap")
    cap = Pcap(path, step_us=50)
    p = WsConn(cap, "plain", "10.5.0.1", 44001, "192.0.2.60", 8080, host="payload.example.test",
               path="/p", seed=41)
    z = WsConn(cap, "deflate", "10.5.0.2", 44002, "192.0.2.60", 8080, host="payload.example.test",
               path="/z", ext_req="permessage-deflate", ext_resp="permessage-deflate", seed=42)
    p.open()
    z.open()
    a = lambda n: b"a" * n
    texts = [
        b"", b"x", a(1023), a(1024), a(1025), a(5000),
        a(1022) + "é".encode() + a(100),      # a 2-byte character ending exactly at 1024
        a(1023) + "é".encode() + a(100),      # a 2-byte character across 1024
        a(1021) + "😀".encode() + a(100),     # a 4-byte character across 1024
        a(1024) + "😀".encode(),              # a 4-byte character right after 1024
    ]
    for d in (0, 1):
        for t in texts:
            p.message(d, OP_TEXT, t)
    p.message(0, OP_BIN, bytes(range(256)) * 4)                         # 1024
    p.message(0, OP_BIN, bytes(range(256)) * 4 + b"\x01")               # 1025
    p.message(1, OP_BIN, pattern_block(70000, b"p70k"))                 # 64-bit length form
    p.message(0, OP_BIN, pattern_block(70000, b"p70k-frag"), fragments=3)
    p.message(1, OP_TEXT, ("fragmented text ✓ " * 200).encode(), fragments=4)
    p.message(0, OP_PING, b"p" * 125)
    p.message(1, OP_PONG, b"p" * 125)
    p.message(1, OP_BIN, pattern_block((1 << 20) + 1, b"mib+1"))        # default cap + 1
    p.message(1, OP_BIN, pattern_block(1 << 20, b"mib"))                # exactly the default cap
    z.message(1, OP_TEXT, ("compressed text, 3000 bytes once inflated. " * 80)[:3000].encode(), compress=True)
    z.message(0, OP_TEXT, ("compressed and short ✓").encode(), compress=True)
    z.message(1, OP_BIN, bytes(1500), compress=True)
    cap.close()
    infos = [p.info(), z.info()]
    for i in infos:
        i["end"] = "eof"
    write_sidecar(os.path.join(out, "payload.json"), {
        "capture": "payload.pcap", "packets": cap.n, "ws_connections": 2,
        "description": "messages of lengths around 1 KiB and 1 MiB, text with multi-byte characters "
                       "at the cut, fragmented, compressed",
        "connections": infos})


ALL = ("syn-flood", "conns-10k", "frame-2e62", "deflate-bomb", "ooo-1byte", "idle", "payload", "handshakes")


def generate(out, small=False, only=None):
    size = SMALL if small else FULL
    os.makedirs(out, exist_ok=True)
    want = set(only or ALL)
    if "syn-flood" in want:
        gen_syn_flood(out, size["syn"])
    if "conns-10k" in want:
        gen_conns(out, size["conns"])
    if "frame-2e62" in want:
        gen_frame_2e62(out, size["frame_payload"])
    if "deflate-bomb" in want:
        gen_deflate_bomb(out, size["bomb"])
    if "ooo-1byte" in want:
        gen_ooo(out, size["ooo"])
    if "idle" in want:
        gen_idle(out)
    if "payload" in want:
        gen_payload(out)
    if "handshakes" in want:
        gen_handshakes(out, size["handshakes"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--small", action="store_true", help="the reduced sizes used by make check")
    ap.add_argument("--only", help="comma-separated capture names: " + ", ".join(ALL))
    a = ap.parse_args()
    only = a.only.split(",") if a.only else None
    if only:
        bad = [x for x in only if x not in ALL]
        if bad:
            ap.error("unknown capture(s): %s" % ", ".join(bad))
    generate(a.outdir, a.small, only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
