#!/usr/bin/python3
"""mkflows.py - write a deterministic synthetic capture of a few complete TCP
connections, plus the exact byte stream of every connection and direction.

It is the independent ground truth for tests/gen/pcaptool.py and for the
analyzer: the streams come from the generator's own model, not from parsing
the capture.  It shares no code with pcaptool.py on purpose.

The capture holds four TCP connections (interleaved in time):

  1  IPv4 10.0.0.1:40001 -> 10.0.0.2:80      ~7 KB / ~20 KB, timestamps+SACK
                                             options, one D-SACK ack, FIN both
  2  IPv6 [2001:db8::1]:40002 -> [..::2]:443  ~6 KB / ~9 KB, FIN both ways
  3  IPv4 10.0.0.3:40003 -> 10.0.0.2:8080    data both ways, ends with RST
  4  IPv6 [2001:db8::3]:40004 -> [..::2]:8443 small, 1-byte segments, the
                                             server closes first (--syn-data: the
                                             SYN carries 20 bytes, TFO style)

plus one UDP datagram (IP, not TCP) and, on Ethernet links, one ARP frame
(not IP).  IPv4 header checksums and TCP/UDP checksums are correct.

Usage:
  mkflows.py -o flows.pcap [--streams-json PATH] [--seed N]
             [--format pcap|pcapng] [--nano] [--big-endian]
             [--link ether|raw] [--multi-if] [--syn-data]

--multi-if (pcapng only) puts the connections on three interfaces with
different link types and timestamp resolutions: if0 Ethernet (micro, the
IPv4 connections 1 and the UDP/ARP frames; ARP as a Simple Packet Block),
if1 LINKTYPE_RAW with if_tsresol=9 (IPv6), if2 Linux cooked v1 with a
binary if_tsresol of 2^-20 (connection 3).

Without --streams-json the stream JSON is printed on stdout.
"""
import argparse
import hashlib
import ipaddress
import json
import random
import struct
import sys

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip_bytes(a):
    return ipaddress.ip_address(a).packed


def l4_pseudo(fam, src, dst, proto, length):
    if fam == 4:
        return src + dst + struct.pack("!BBH", 0, proto, length)
    return src + dst + struct.pack("!I3xB", length, proto)


def ip_packet(fam, src, dst, proto, l4, ident):
    if fam == 4:
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident, 0x4000,
                          64, proto, 0, src, dst)
        hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
        return hdr + l4
    return struct.pack("!IHBB16s16s", 6 << 28, len(l4), proto, 64, src, dst) + l4


def tcp_segment(fam, src, dst, sport, dport, seq, ack, flags, opts, payload, win=65535):
    assert len(opts) % 4 == 0
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (5 + len(opts) // 4) << 4,
                      flags, win, 0, 0) + opts
    seg = hdr + payload
    c = csum(l4_pseudo(fam, src, dst, 6, len(seg)) + seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def payload_bytes(seed, cid, direction, n):
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(("%s/%d/%s/%d" % (seed, cid, direction, i)).encode()).digest()
        i += 1
    return bytes(out[:n])


def mac_of(addr):
    return b"\x02" + hashlib.sha1(addr).digest()[:5]


class Conn:
    """Simulates one TCP connection and records packets and the streams."""

    def __init__(self, cid, fam, cli, srv, rng, seed, t0, tsopt):
        self.cid, self.fam = cid, fam
        self.ep = [(ip_bytes(cli[0]), cli[1]), (ip_bytes(srv[0]), srv[1])]
        self.names = [cli, srv]
        self.rng, self.seed, self.t = rng, seed, t0
        self.tsopt = tsopt
        self.nxt = [rng.randrange(1 << 32), rng.randrange(1 << 32)]
        self.stream = [bytearray(), bytearray()]
        self.packets = []  # (ts_ns, ip_packet, cid)
        self.ident = [rng.randrange(65536), rng.randrange(65536)]
        self.tsval = [rng.randrange(1 << 30), rng.randrange(1 << 30)]
        self.unacked = [0, 0]

    def _opts(self, d, syn, extra=b""):
        o = b""
        if syn:
            o += struct.pack("!BBH", 2, 4, 1460 if self.fam == 4 else 1440)
            if self.tsopt:
                o += b"\x04\x02" + struct.pack("!BBII", 8, 10, self.tsval[d], 0)
                o += b"\x01\x03\x03\x07"
        elif self.tsopt:
            o += extra + b"\x01\x01" + struct.pack("!BBII", 8, 10, self.tsval[d],
                                                    self.tsval[1 - d])
        else:
            o += extra
        return o

    def emit(self, d, flags, payload=b"", extra_opts=b""):
        src, sport = self.ep[d]
        dst, dport = self.ep[1 - d]
        ack = self.nxt[1 - d] if flags & ACK else 0
        seg = tcp_segment(self.fam, src, dst, sport, dport, self.nxt[d], ack, flags,
                          self._opts(d, flags & SYN, extra_opts), payload)
        self.ident[d] = (self.ident[d] + 1) & 0xFFFF
        pkt = ip_packet(self.fam, src, dst, 6, seg, self.ident[d])
        self.packets.append((self.t, pkt, self.cid, d))
        self.t += 200_000 + self.rng.randrange(1_300_000)  # 0.2 .. 1.5 ms
        self.tsval[d] += 1
        self.stream[d] += payload
        self.nxt[d] = (self.nxt[d] + len(payload) + (1 if flags & (SYN | FIN) else 0)) & 0xFFFFFFFF

    def handshake(self, syn_data=0):
        data = payload_bytes(self.seed, self.cid, "c2s", syn_data)
        self.emit(0, SYN, data)
        self.emit(1, SYN | ACK)
        self.emit(0, ACK)

    def send(self, d, sizes):
        """Sends the next len(sizes) segments from d; the peer acks every 2nd."""
        for i, n in enumerate(sizes):
            data = payload_bytes(self.seed, self.cid, "c2s" if d == 0 else "s2c",
                                 len(self.stream[d]) + n)[len(self.stream[d]):]
            self.emit(d, ACK | (PSH if i == len(sizes) - 1 else 0), data)
            self.unacked[d] += 1
            if self.unacked[d] == 2:
                self.emit(1 - d, ACK)
                self.unacked[d] = 0
        if self.unacked[d]:
            self.emit(1 - d, ACK)
            self.unacked[d] = 0

    def dsack(self, d):
        """A pure ACK from d carrying a D-SACK block (already acked data of 1-d)."""
        top = self.nxt[1 - d]
        blk = struct.pack("!II", (top - 300) & 0xFFFFFFFF, (top - 100) & 0xFFFFFFFF)
        self.emit(d, ACK, b"", extra_opts=b"\x01\x01\x05\x0a" + blk)

    def close(self, first):
        self.emit(first, FIN | ACK)
        self.emit(1 - first, ACK)
        self.emit(1 - first, FIN | ACK)
        self.emit(first, ACK)

    def reset(self, d):
        self.emit(d, RST | ACK)


def build_connections(seed, t0, syn_data=False):
    rng = random.Random(seed)
    conns = []

    c = Conn(1, 4, ("10.0.0.1", 40001), ("10.0.0.2", 80), rng, seed, t0, True)
    c.handshake()
    c.send(0, [1, 7, 100, 536, 1448, 1448, 1000, 333])
    c.send(1, [1448] * 6 + [977, 1, 2, 1200])
    c.dsack(1)
    c.send(0, [1448, 1448, 17])
    c.send(1, [1448] * 6 + [512])
    c.close(0)
    conns.append(c)

    c = Conn(2, 6, ("2001:db8::1", 40002), ("2001:db8::2", 443), rng, seed, t0 + 1_100_000, False)
    c.handshake()
    c.send(0, [517, 1200, 1200, 1200, 1200, 900])
    c.send(1, [1400, 1400, 1400, 1400, 1400, 1400, 700])
    c.send(0, [64, 3])
    c.close(0)
    conns.append(c)

    c = Conn(3, 4, ("10.0.0.3", 40003), ("10.0.0.2", 8080), rng, seed, t0 + 2_300_000, True)
    c.handshake()
    c.send(0, [300, 1448, 2])
    c.send(1, [1448, 1448, 99])
    c.send(0, [10])
    c.reset(0)
    conns.append(c)

    c = Conn(4, 6, ("2001:db8::3", 40004), ("2001:db8::2", 8443), rng, seed, t0 + 3_700_000, False)
    c.handshake(syn_data=20 if syn_data else 0)
    c.send(0, [1, 1, 1, 50])
    c.send(1, [1, 1000, 1])
    c.close(1)
    conns.append(c)
    return conns


def udp_packet():
    src, dst = ip_bytes("10.0.0.1"), ip_bytes("10.0.0.2")
    payload = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"
    udp = struct.pack("!HHHH", 5353, 53, 8 + len(payload), 0) + payload
    c = csum(l4_pseudo(4, src, dst, 17, len(udp)) + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    return ip_packet(4, src, dst, 17, udp, 777)


def arp_frame():
    sha, spa = mac_of(ip_bytes("10.0.0.1")), ip_bytes("10.0.0.1")
    tpa = ip_bytes("10.0.0.2")
    body = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, sha, spa, b"\0" * 6, tpa)
    return b"\xff" * 6 + sha + b"\x08\x06" + body + b"\0" * 18


def ether(pkt):
    fam = pkt[0] >> 4
    if fam == 4:
        src, dst, et = pkt[12:16], pkt[16:20], 0x0800
    else:
        src, dst, et = pkt[8:24], pkt[24:40], 0x86DD
    frame = mac_of(dst) + mac_of(src) + struct.pack("!H", et) + pkt
    return frame + b"\0" * max(0, 60 - len(frame))  # Ethernet minimum frame padding


def sll(pkt, outgoing):
    fam = pkt[0] >> 4
    src = pkt[12:16] if fam == 4 else pkt[8:24]
    return struct.pack("!HHH8sH", 4 if outgoing else 0, 1, 6, mac_of(src) + b"\0\0",
                       0x0800 if fam == 4 else 0x86DD) + pkt


# ---------------------------------------------------------------- writers

def write_pcap(path, records, linktype, nano, big):
    e = ">" if big else "<"
    with open(path, "wb") as f:
        f.write(struct.pack(e + "IHHiIII", 0xA1B23C4D if nano else 0xA1B2C3D4, 2, 4, 0, 0,
                            262144, linktype))
        for ts, frame in records:
            frac = ts % 1_000_000_000 if nano else (ts % 1_000_000_000) // 1000
            f.write(struct.pack(e + "IIII", ts // 1_000_000_000, frac, len(frame), len(frame)))
            f.write(frame)


def _pad4(b):
    return b + b"\0" * (-len(b) % 4)


def _block(e, btype, body):
    body = _pad4(body)
    n = 12 + len(body)
    return struct.pack(e + "II", btype, n) + body + struct.pack(e + "I", n)


def _opt(e, code, value):
    return struct.pack(e + "HH", code, len(value)) + _pad4(value)


def write_pcapng(path, records, ifaces, big):
    """records: (ts_ns, frame, ifindex, kind) with kind 'epb' or 'spb'.
    ifaces: list of (linktype, tsresol_byte_or_None)."""
    e = ">" if big else "<"
    out = bytearray()
    shb = struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1) + _opt(e, 4, b"mkflows.py") + _opt(e, 0, b"")
    out += _block(e, 0x0A0D0D0A, shb)
    for lt, res in ifaces:
        opts = b""
        if res is not None:
            opts += _opt(e, 9, bytes([res]))
        opts += _opt(e, 2, b"synthetic%d" % len(out)) + _opt(e, 0, b"")
        out += _block(e, 1, struct.pack(e + "HHI", lt, 0, 0) + opts)
    for n, (ts, frame, ifx, kind) in enumerate(records):
        if kind == "spb":
            out += _block(e, 3, struct.pack(e + "I", len(frame)) + frame)
            continue
        res = ifaces[ifx][1]
        if res is None:
            res = 6
        if res & 0x80:
            units = (ts << (res & 0x7F)) // 1_000_000_000
        else:
            units = ts * 10 ** res // 1_000_000_000
        body = struct.pack(e + "IIIII", ifx, units >> 32, units & 0xFFFFFFFF, len(frame),
                           len(frame)) + _pad4(frame)
        if n == 3:
            body += _opt(e, 1, b"a packet comment") + _opt(e, 0, b"")
        out += _block(e, 6, body)
    # an unknown/custom block and a name resolution block that readers skip
    out += _block(e, 4, struct.pack(e + "HH", 0, 0))
    out += _block(e, 0x40000BAD, b"ignore me")
    with open(path, "wb") as f:
        f.write(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--streams-json")
    ap.add_argument("--seed", default="1")
    ap.add_argument("--format", choices=("pcap", "pcapng"), default="pcap")
    ap.add_argument("--nano", action="store_true", help="nanosecond timestamps")
    ap.add_argument("--big-endian", action="store_true")
    ap.add_argument("--link", choices=("ether", "raw"), default="ether")
    ap.add_argument("--multi-if", action="store_true", help="pcapng with 3 interfaces")
    ap.add_argument("--syn-data", action="store_true",
                    help="connection 4's SYN carries 20 bytes of data (TCP Fast Open style)")
    a = ap.parse_args()
    if a.multi_if and a.format != "pcapng":
        ap.error("--multi-if needs --format pcapng")

    t0 = 1_700_000_000_000_000_000 + (123_457 if a.nano else 0)
    conns = build_connections(a.seed, t0, a.syn_data)
    pkts = [p for c in conns for p in c.packets]
    udp_t = t0 + 2_000_000
    pkts.append((udp_t, udp_packet(), 0, 0))
    if not a.nano:
        pkts = [((t // 1000) * 1000, p, cid, d) for t, p, cid, d in pkts]
    pkts.sort(key=lambda r: r[0])
    linktype = 1 if a.link == "ether" else 101
    records = []  # (ts, frame, ifindex, kind)
    for ts, pkt, cid, d in pkts:
        if a.multi_if and cid in (2, 4):
            records.append((ts, pkt, 1, "epb"))
        elif a.multi_if and cid == 3:
            records.append((ts, sll(pkt, d == 0), 2, "epb"))
        elif linktype == 1:
            records.append((ts, ether(pkt), 0, "epb"))
        else:
            records.append((ts, pkt, 0, "epb"))
    non_ip = 0
    if linktype == 1 or a.multi_if:
        records.insert(5, (records[4][0], arp_frame(), 0, "spb" if a.format == "pcapng" else "epb"))
        non_ip = 1

    if a.format == "pcap":
        write_pcap(a.output, [(t, f) for t, f, _, _ in records], linktype, a.nano, a.big_endian)
    else:
        if a.multi_if:
            ifaces = [(1, None), (101, 9), (113, 0x80 | 20)]
        else:
            ifaces = [(linktype, 9 if a.nano else None)]
        write_pcapng(a.output, records, ifaces, a.big_endian)

    def ep(name):
        ip = ipaddress.ip_address(name[0])
        return ("[%s]:%d" if ip.version == 6 else "%s:%d") % (ip.compressed, name[1])

    out = {"packets": len(records), "non_ip": non_ip, "connections": []}
    for c in conns:
        ent = {"id": c.cid, "family": c.fam, "client": ep(c.names[0]), "server": ep(c.names[1])}
        for d, name in ((0, "c2s"), (1, "s2c")):
            b = bytes(c.stream[d])
            ent[name] = {"len": len(b), "sha256": hashlib.sha256(b).hexdigest(), "hex": b.hex()}
        out["connections"].append(ent)
    text = json.dumps(out, indent=1)
    if a.streams_json:
        with open(a.streams_json, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    sys.exit(main())
