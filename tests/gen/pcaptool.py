#!/usr/bin/python3
"""pcaptool.py - turn a capture into adversarial classic-pcap test inputs for a
TCP reassembler, keeping the TCP byte streams identical unless an operation is
documented as lossy (see tests/gen/README.md).

Usage:
  pcaptool.py [GLOBAL OPTIONS] IN OUT [OP [OP OPTIONS]] [+ OP [OP OPTIONS]] ...

GLOBAL OPTIONS (before IN):
  --seed S        seed for every random choice (default 1); same seed, same output
  --nano          write nanosecond timestamps (magic a1b23c4d)
  --snaplen N     cut every written record to N bytes (orig len kept)
  --report PATH   also append the JSON report lines (see below) to PATH
  -q, --quiet     do not print the informational JSON lines on stderr

IN is classic pcap (micro/nano, either byte order) or pcapng (SHB/IDB/EPB/
SPB/PB, either byte order, several sections and interfaces, if_tsresol and
if_tsoffset).  Link types read: Ethernet (1, with 802.1Q/802.1ad tags), Linux
cooked v1 (113) and v2 (276), raw IP (101, 12, 14, 228, 229), NULL (0, either
byte order, BSD AF_INET6 values) and LOOP (108).  Non-IP frames are skipped
and counted.  Every IP packet is kept; the link layer is rebuilt on output.

OPs are applied in command-line order, separated by '+':
  relink --to T [--af6 N]   output link type (default: the input's own)
  fragment --mtu N [--shuffle] [--dup-frag P]
  defrag                    reassemble IP fragments found in the input
  ipopts [--ihl N]
  resegment --max N [--min M]
  reorder --window W [--move-syn]
  duplicate --prob P [--max-delay D]
  overlap --prob P [--differ] [--max-delay D]
  drop --prob P
  seqshift --to-wrap [--k K | --k-min A --k-max B] [--strip-sack]
  strip-syn
  fix-checksums             recompute IPv4 and TCP checksums of every packet
  truncate-packets [--bytes N] [--kinds K1,K2..] [--count C]
  corrupt --mode M [--record R] [--garbage-len L]
Run "pcaptool.py help OP" for an operation's options.

Everything the tool prints on stderr is one JSON object per line with an "op"
key; lossy operations report exactly what they changed there.
"""
import argparse
import hashlib
import ipaddress
import json
import random
import struct
import sys
from collections import defaultdict

MASK32 = 0xFFFFFFFF
FIN, SYN, RST, PSH, ACK, URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20

LT_NULL, LT_ETHER, LT_RAW12, LT_RAW14, LT_RAW = 0, 1, 12, 14, 101
LT_LOOP, LT_SLL, LT_SLL2, LT_IPV4, LT_IPV6 = 108, 113, 276, 228, 229
ETH_IPV4, ETH_IPV6, ETH_8021Q, ETH_8021AD, ETH_QINQ_OLD = 0x0800, 0x86DD, 0x8100, 0x88A8, 0x9100
AF_INET = 2
AF_INET6_VALUES = (10, 24, 28, 30)  # Linux, NetBSD/OpenBSD, FreeBSD/DragonFly, Darwin

LINK_TARGETS = {
    "ether": LT_ETHER, "vlan": LT_ETHER, "qinq": LT_ETHER, "sll": LT_SLL, "sll2": LT_SLL2,
    "null": LT_NULL, "loop": LT_LOOP, "raw": LT_RAW, "ipv4": LT_IPV4, "ipv6": LT_IPV6,
}
DEFAULT_TARGET = {
    LT_ETHER: "ether", LT_SLL: "sll", LT_SLL2: "sll2", LT_NULL: "null", LT_LOOP: "loop",
    LT_RAW: "raw", LT_RAW12: "raw", LT_RAW14: "raw", LT_IPV4: "ipv4", LT_IPV6: "ipv6",
}


class CaptureError(Exception):
    pass


class Reporter:
    """Writes one JSON object per line to stderr (and optionally a file)."""

    def __init__(self, quiet=False, path=None):
        self.quiet = quiet
        self.file = open(path, "a") if path else None

    def __call__(self, op, lossy=False, **fields):
        line = json.dumps(dict(op=op, **fields), sort_keys=False)
        if lossy or not self.quiet:
            print(line, file=sys.stderr)
        if self.file:
            self.file.write(line + "\n")
            self.file.flush()


# ====================================================================== checksums

def inet_csum(data):
    if len(data) % 2:
        data = bytes(data) + b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4_fix_header_csum(ip):
    """Returns ip (bytes) with the IPv4 header checksum recomputed."""
    hl = (ip[0] & 0x0F) * 4
    hdr = bytearray(ip[:hl])
    hdr[10:12] = b"\0\0"
    hdr[10:12] = struct.pack("!H", inet_csum(bytes(hdr)))
    return bytes(hdr) + bytes(ip[hl:])


# ====================================================================== reading

class Frame:
    __slots__ = ("ts", "linktype", "data", "orig_len")

    def __init__(self, ts, linktype, data, orig_len):
        self.ts, self.linktype, self.data, self.orig_len = ts, linktype, data, orig_len


def read_capture(path, report):
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) >= 4 and buf[:4] == b"\x0a\x0d\x0d\x0a":
        return read_pcapng(buf, report), "pcapng"
    return read_pcap(buf, report), "pcap"


PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1000), b"\xa1\xb2\xc3\xd4": (">", 1000),
    b"\x4d\x3c\xb2\xa1": ("<", 1), b"\xa1\xb2\x3c\x4d": (">", 1),
}


def read_pcap(buf, report):
    if len(buf) < 24:
        raise CaptureError("file too short for a pcap header")
    if buf[:4] not in PCAP_MAGICS:
        raise CaptureError("unknown capture magic %s" % buf[:4].hex())
    e, mult = PCAP_MAGICS[buf[:4]]
    _, _, _, _, _snaplen, network = struct.unpack(e + "HHiIII", buf[4:24])
    linktype = network & 0xFFFF  # upper bits may carry the FCS length
    frames, off = [], 24
    while off < len(buf):
        if off + 16 > len(buf):
            report("read-warning", problem="truncated record header", offset=off)
            break
        sec, frac, caplen, olen = struct.unpack(e + "IIII", buf[off:off + 16])
        if caplen > len(buf) - off - 16:
            report("read-warning", problem="truncated record data", offset=off, caplen=caplen)
            break
        frames.append(Frame(sec * 1_000_000_000 + frac * mult, linktype,
                            buf[off + 16:off + 16 + caplen], max(olen, caplen)))
        off += 16 + caplen
    return frames


def _pcapng_options(e, raw):
    opts, off = {}, 0
    while off + 4 <= len(raw):
        code, n = struct.unpack(e + "HH", raw[off:off + 4])
        if code == 0:
            break
        opts.setdefault(code, raw[off + 4:off + 4 + n])
        off += 4 + n + (-n % 4)
    return opts


def _ts_to_ns(units, resol, offset_s):
    if resol & 0x80:
        ns = (units * 1_000_000_000) >> (resol & 0x7F)
    elif resol <= 9:
        ns = units * 10 ** (9 - resol)
    else:
        ns = units // 10 ** (resol - 9)
    return ns + offset_s * 1_000_000_000


def read_pcapng(buf, report):
    frames, off, e, ifaces, last_ts = [], 0, None, [], 0
    while off < len(buf):
        if off + 12 > len(buf):
            report("read-warning", problem="truncated block header", offset=off)
            break
        if buf[off:off + 4] == b"\x0a\x0d\x0d\x0a":
            bom = buf[off + 8:off + 12]
            if bom == b"\x4d\x3c\x2b\x1a":
                e = "<"
            elif bom == b"\x1a\x2b\x3c\x4d":
                e = ">"
            else:
                raise CaptureError("bad pcapng byte-order magic at %d" % off)
            ifaces = []
        elif e is None:
            raise CaptureError("pcapng file does not start with a section header")
        btype, blen = struct.unpack(e + "II", buf[off:off + 8])
        if blen < 12 or blen % 4 or off + blen > len(buf):
            report("read-warning", problem="bad or truncated block", offset=off, length=blen)
            break
        body = buf[off + 8:off + blen - 4]
        off += blen
        if btype == 1:  # Interface Description Block
            lt, _, snap = struct.unpack(e + "HHI", body[:8])
            opts = _pcapng_options(e, body[8:])
            resol = opts[9][0] if 9 in opts and opts[9] else 6
            tsoff = struct.unpack(e + "q", opts[14][:8])[0] if 14 in opts and len(opts[14]) >= 8 else 0
            ifaces.append((lt, snap, resol, tsoff))
        elif btype in (6, 2):  # Enhanced Packet Block / obsolete Packet Block
            if btype == 6:
                ifx, hi, lo, caplen, olen = struct.unpack(e + "IIIII", body[:20])
            else:
                ifx, _, hi, lo, caplen, olen = struct.unpack(e + "HHIIII", body[:20])
            if ifx >= len(ifaces):
                report("read-warning", problem="packet for unknown interface", interface=ifx)
                continue
            lt, _, resol, tsoff = ifaces[ifx]
            last_ts = _ts_to_ns((hi << 32) | lo, resol, tsoff)
            data = body[20:20 + caplen]
            frames.append(Frame(last_ts, lt, data, max(olen, len(data))))
        elif btype == 3:  # Simple Packet Block: interface 0, no timestamp
            if not ifaces:
                report("read-warning", problem="simple packet block before any interface")
                continue
            lt, snap, _, _ = ifaces[0]
            olen = struct.unpack(e + "I", body[:4])[0]
            caplen = min(olen, len(body) - 4, snap or olen)
            frames.append(Frame(last_ts, lt, body[4:4 + caplen], olen))
    return frames


# ====================================================================== IP extraction

class Rec:
    """One IP packet of the working capture.

    ts: timestamp in ns; ip: the IP packet bytes as captured (trimmed of link
    padding); missing: bytes of the original packet not captured; l2: link
    details worth keeping (MAC addresses); frame: 1-based number of the input
    frame it comes from (kept by pieces, copies and fragments)."""
    __slots__ = ("ts", "ip", "missing", "l2", "frame")

    def __init__(self, ts, ip, missing=0, l2=None, frame=0):
        self.ts, self.ip, self.missing, self.l2, self.frame = ts, ip, missing, l2, frame

    def clone(self, ip=None, ts=None):
        return Rec(self.ts if ts is None else ts, self.ip if ip is None else ip, self.missing,
                   self.l2, self.frame)


def _ip_after(data, off, family_hint=None):
    ip = data[off:]
    if not ip:
        return None
    v = ip[0] >> 4
    if v not in (4, 6) or (family_hint and v != family_hint):
        return None
    return ip


def extract_ip(f):
    """Returns (ip bytes, l2 dict) of a frame, or (None, reason)."""
    d, lt = f.data, f.linktype
    l2 = None
    if lt == LT_ETHER:
        if len(d) < 14:
            return None, "short link header"
        l2 = {"dst": d[0:6], "src": d[6:12]}
        off, et = 12, struct.unpack("!H", d[12:14])[0]
        while et in (ETH_8021Q, ETH_8021AD, ETH_QINQ_OLD) and len(d) >= off + 6:
            off += 4
            et = struct.unpack("!H", d[off:off + 2])[0]
        if off > 12:
            l2["tags"] = d[12:off]  # 802.1Q/802.1ad tags, re-used unless relinked
        off += 2
    elif lt == LT_SLL:
        if len(d) < 16:
            return None, "short link header"
        alen = d[5] if d[5] <= 8 else 8
        l2 = {"src": d[6:6 + alen]} if alen == 6 else None
        off, et = 16, struct.unpack("!H", d[14:16])[0]
        if et in (ETH_8021Q, ETH_8021AD) and len(d) >= 20:
            off, et = 20, struct.unpack("!H", d[18:20])[0]
    elif lt == LT_SLL2:
        if len(d) < 20:
            return None, "short link header"
        alen = d[11] if d[11] <= 8 else 8
        l2 = {"src": d[12:12 + alen]} if alen == 6 else None
        off, et = 20, struct.unpack("!H", d[0:2])[0]
        if et in (ETH_8021Q, ETH_8021AD) and len(d) >= 24:
            off, et = 24, struct.unpack("!H", d[22:24])[0]
    elif lt in (LT_RAW, LT_RAW12, LT_RAW14, LT_IPV4, LT_IPV6):
        off = 0
        et = {LT_IPV4: ETH_IPV4, LT_IPV6: ETH_IPV6}.get(lt)
    elif lt in (LT_NULL, LT_LOOP):
        if len(d) < 4:
            return None, "short link header"
        le, be = struct.unpack("<I", d[:4])[0], struct.unpack(">I", d[:4])[0]
        af = be if lt == LT_LOOP else (le if le in (AF_INET,) + AF_INET6_VALUES else be)
        off = 4
        et = ETH_IPV4 if af == AF_INET else ETH_IPV6 if af in AF_INET6_VALUES else -1
        if et == -1:
            return None, "not IP (AF %d)" % af
    else:
        return None, "unsupported link type %d" % lt
    if et is not None and et not in (ETH_IPV4, ETH_IPV6):
        return None, "not IP (type 0x%04x)" % et
    ip = _ip_after(d, off, {ETH_IPV4: 4, ETH_IPV6: 6}.get(et))
    if ip is None:
        return None, "not IP"
    return ip, l2


def ip_declared_len(ip):
    """Length the IP header says the packet has, or None if unknown."""
    if ip[0] >> 4 == 4 and len(ip) >= 4:
        return struct.unpack("!H", ip[2:4])[0]
    if ip[0] >> 4 == 6 and len(ip) >= 6:
        pl = struct.unpack("!H", ip[4:6])[0]
        return 40 + pl if pl else None
    return None


def frames_to_recs(frames, report):
    recs, skipped = [], defaultdict(int)
    for n, f in enumerate(frames, 1):
        ip, l2 = extract_ip(f)
        if ip is None:
            skipped[l2] += 1
            continue
        missing = f.orig_len - len(f.data)
        want = ip_declared_len(ip)
        if want is not None and len(ip) >= want:
            ip, missing = ip[:want], 0  # drop link padding / FCS
        recs.append(Rec(f.ts, bytes(ip), max(0, missing), l2, n))
    return recs, dict(skipped)


# ====================================================================== IP / TCP model

class TCP:
    """A complete, unfragmented IPv4/IPv6 TCP packet that can be rebuilt."""

    def copy(self):
        c = TCP.__new__(TCP)
        c.__dict__.update(self.__dict__)
        c.ext = [list(x) for x in self.ext]
        return c

    @classmethod
    def parse(cls, ip):
        if len(ip) < 20:
            return None
        t = cls.__new__(cls)
        t.ver = ip[0] >> 4
        t.ext = []
        if t.ver == 4:
            ihl = (ip[0] & 0x0F) * 4
            tl = struct.unpack("!H", ip[2:4])[0]
            if ihl < 20 or tl < ihl or len(ip) < tl:
                return None
            fl = struct.unpack("!H", ip[6:8])[0]
            if fl & 0x3FFF or ip[9] != 6:  # a fragment, or not TCP
                return None
            t.tos, t.ident, t.df, t.ttl = ip[1], struct.unpack("!H", ip[4:6])[0], bool(fl & 0x4000), ip[8]
            t.src, t.dst, t.ipopts = ip[12:16], ip[16:20], ip[20:ihl]
            seg = ip[ihl:tl]
        elif t.ver == 6:
            if len(ip) < 40:
                return None
            pl = struct.unpack("!H", ip[4:6])[0]
            if pl == 0 or len(ip) < 40 + pl:
                return None
            t.vtcfl, t.hlim = struct.unpack("!I", ip[0:4])[0], ip[7]
            t.src, t.dst = ip[8:24], ip[24:40]
            nh, off, end = ip[6], 40, 40 + pl
            while nh in (0, 43, 60):
                if off + 2 > end:
                    return None
                hl = (ip[off + 1] + 1) * 8
                if off + hl > end:
                    return None
                t.ext.append([nh, ip[off:off + hl]])
                nh, off = ip[off], off + hl
            if nh != 6:  # fragment, AH/ESP, not TCP
                return None
            seg = ip[off:end]
        else:
            return None
        if len(seg) < 20:
            return None
        (t.sport, t.dport, t.seq, t.ack, offfl, t.win, _csum, t.urp) = struct.unpack("!HHIIHHHH", seg[:20])
        doff = (offfl >> 12) * 4
        if doff < 20 or doff > len(seg):
            return None
        t.flags = offfl & 0x1FF
        t.topts, t.payload = seg[20:doff], seg[doff:]
        return t

    def tcp_bytes(self):
        topts = self.topts + b"\0" * (-len(self.topts) % 4)
        hdr = struct.pack("!HHIIHHHH", self.sport, self.dport, self.seq & MASK32, self.ack & MASK32,
                          ((5 + len(topts) // 4) << 12) | self.flags, self.win, 0, self.urp) + topts
        seg = hdr + self.payload
        if self.ver == 4:
            pseudo = self.src + self.dst + struct.pack("!BBH", 0, 6, len(seg))
        else:
            pseudo = self.src + self.dst + struct.pack("!I3xB", len(seg), 6)
        return seg[:16] + struct.pack("!H", inet_csum(pseudo + seg)) + seg[18:]

    def build(self):
        seg = self.tcp_bytes()
        if self.ver == 4:
            opts = self.ipopts + b"\0" * (-len(self.ipopts) % 4)
            hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | (5 + len(opts) // 4), self.tos,
                              20 + len(opts) + len(seg), self.ident, 0x4000 if self.df else 0,
                              self.ttl, 6, 0, self.src, self.dst) + opts
            return ipv4_fix_header_csum(hdr) + seg
        types = [x[0] for x in self.ext] + [6]
        exts = b"".join(bytes([types[i + 1]]) + x[1][1:] for i, x in enumerate(self.ext))
        return struct.pack("!IHBB16s16s", self.vtcfl, len(exts) + len(seg), types[0], self.hlim,
                           self.src, self.dst) + exts + seg

    @property
    def seq_len(self):
        return len(self.payload) + (1 if self.flags & SYN else 0) + (1 if self.flags & FIN else 0)


def fmt_ep(addr, port):
    a = ipaddress.ip_address(addr)
    return ("[%s]:%d" if a.version == 6 else "%s:%d") % (a.compressed, port)


class Flow:
    def __init__(self, fid, ver, client, server):
        self.id, self.ver, self.client, self.server = fid, ver, client, server
        self.syn_seq = [None, None]
        self._first = [None, None]
        self._mindiff = [0, 0]

    def base(self, d):
        """Sequence number of stream offset 0 in direction d."""
        if self.syn_seq[d] is not None:
            return (self.syn_seq[d] + 1) & MASK32
        if self._first[d] is None:
            return 0
        return (self._first[d] + self._mindiff[d]) & MASK32

    def rel(self, d, seq):
        r = (seq - self.base(d)) & MASK32
        return r - (1 << 32) if r >= 1 << 31 else r

    def see(self, d, t):
        if t.flags & SYN and self.syn_seq[d] is None:
            self.syn_seq[d] = t.seq
        if self._first[d] is None:
            self._first[d] = t.seq
        diff = (t.seq - self._first[d]) & MASK32
        diff = diff - (1 << 32) if diff >= 1 << 31 else diff
        self._mindiff[d] = min(self._mindiff[d], diff)

    def describe(self, d=None):
        out = {"client": fmt_ep(*self.client), "server": fmt_ep(*self.server)}
        if d is not None:
            out["dir"] = "c2s" if d == 0 else "s2c"
        return out


class Pkt:
    """Analysis of one record: parsed TCP (or None), its flow and direction."""
    __slots__ = ("tcp", "flow", "dir")

    def __init__(self, tcp, flow, d):
        self.tcp, self.flow, self.dir = tcp, flow, d

    @property
    def data_off(self):
        """Stream offset of the first payload byte."""
        t = self.tcp
        return self.flow.rel(self.dir, t.seq + (1 if t.flags & SYN else 0))


def analyze(recs):
    """Parses every record; returns (list of Pkt or None, list of Flow)."""
    out, flows, current = [], [], {}
    for r in recs:
        t = TCP.parse(r.ip) if not r.missing else None
        if t is None:
            out.append(None)
            continue
        a, b = (t.src, t.sport), (t.dst, t.dport)
        key = (t.ver,) + ((a, b) if a <= b else (b, a))
        fl = current.get(key)
        if t.flags & SYN and not t.flags & ACK:
            if fl is not None and fl.syn_seq[0 if fl.client == a else 1] not in (None, t.seq):
                fl = None  # the 4-tuple is reused by a new connection
            if fl is None:
                fl = Flow(len(flows), t.ver, a, b)
        elif fl is None:
            fl = Flow(len(flows), t.ver, b, a) if t.flags & SYN else Flow(len(flows), t.ver, a, b)
        if current.get(key) is not fl:
            current[key] = fl
            flows.append(fl)
        d = 0 if fl.client == a else 1
        fl.see(d, t)
        out.append(Pkt(t, fl, d))
    return out, flows


def is_data(p):
    return p is not None and len(p.tcp.payload) > 0


class Splicer:
    """Collects insertions/removals for a list of records and applies them;
    an inserted record takes the timestamp of the record it follows."""

    def __init__(self, recs):
        self.recs, self.after, self.removed = recs, defaultdict(list), set()

    def insert_after(self, i, rec):
        i = min(i, len(self.recs) - 1)
        rec.ts = self.recs[i].ts
        self.after[i].append(rec)

    def remove(self, i):
        self.removed.add(i)

    def result(self):
        out = []
        for i, r in enumerate(self.recs):
            if i not in self.removed:
                out.append(r)
            out.extend(self.after.get(i, ()))
        return out


# ====================================================================== operations

class Ctx:
    def __init__(self, seed, report):
        self.seed, self.report = seed, report
        self.target = None
        self.af6 = 30
        self.relinked = False
        self.truncate = None
        self.corrupt = None

    def rng(self, index, name):
        return random.Random("%s/%d/%s" % (self.seed, index, name))


def op_relink(ctx, recs, a, rng):
    ctx.target, ctx.af6, ctx.relinked = a.to, a.af6, True
    return recs


def op_fix_checksums(ctx, recs, a, rng):
    out, n = [], 0
    for r, p in zip(recs, analyze(recs)[0]):
        if p is not None:
            r = r.clone(p.tcp.build())
            n += 1
        elif not r.missing and len(r.ip) >= 20 and r.ip[0] >> 4 == 4 and (r.ip[0] & 15) >= 5:
            r = r.clone(ipv4_fix_header_csum(r.ip))
        out.append(r)
    ctx.report("fix-checksums", tcp_packets=n)
    return out


def op_resegment(ctx, recs, a, rng):
    if a.max < 1 or a.min < 1 or a.min > a.max:
        raise SystemExit("resegment: need 1 <= --min <= --max")
    out, split, made = [], 0, 0
    for r, p in zip(recs, analyze(recs)[0]):
        t = p.tcp if p else None
        if t is None or len(t.payload) < 2 or t.flags & (RST | URG):
            out.append(r)
            continue
        sizes, left = [], len(t.payload)
        while left:
            n = min(left, rng.randint(a.min, a.max))
            sizes.append(n)
            left -= n
        if len(sizes) == 1:
            out.append(r)
            continue
        split += 1
        made += len(sizes)
        data_seq = t.seq + (1 if t.flags & SYN else 0)
        pos = 0
        for k, n in enumerate(sizes):
            piece = t.copy()
            piece.payload = t.payload[pos:pos + n]
            piece.flags = t.flags & ~(SYN | FIN | PSH)
            if k == 0:
                piece.flags |= t.flags & SYN
                piece.seq = t.seq
            else:
                piece.seq = (data_seq + pos) & MASK32
            if k == len(sizes) - 1:
                piece.flags |= t.flags & (FIN | PSH)
            out.append(r.clone(piece.build()))
            pos += n
    ctx.report("resegment", segments_split=split, pieces=made)
    return out


def op_reorder(ctx, recs, a, rng):
    if a.window < 1:
        raise SystemExit("reorder: --window must be >= 1")
    pk = analyze(recs)[0]
    slots = defaultdict(list)  # flow id -> positions that may be shuffled
    for i, p in enumerate(pk):
        if p is not None and (a.move_syn or not p.tcp.flags & SYN):
            slots[p.flow.id].append(i)
    key = [i + rng.uniform(0, a.window) for i in range(len(recs))]
    out = list(recs)
    moved = 0
    for pos in slots.values():
        for dst, src in zip(pos, sorted(pos, key=lambda i: key[i])):
            if dst != src:
                moved += 1
            out[dst] = recs[src].clone(ts=recs[dst].ts)
    ctx.report("reorder", packets_moved=moved)
    return out


def op_duplicate(ctx, recs, a, rng):
    sp, n = Splicer(recs), 0
    for i, p in enumerate(analyze(recs)[0]):
        if is_data(p) and rng.random() < a.prob:
            sp.insert_after(i + rng.randint(1, a.max_delay), recs[i].clone())
            n += 1
    ctx.report("duplicate", duplicates=n)
    return sp.result()


def stream_segments(pk):
    """(flow id, dir) -> list of (offset, payload, index) in stream order,
    first capture occurrence of each offset."""
    segs = defaultdict(dict)
    for i, p in enumerate(pk):
        if is_data(p):
            segs[(p.flow.id, p.dir)].setdefault(p.data_off, (p.data_off, p.tcp.payload, i))
    return {k: sorted(v.values(), key=lambda s: s[0]) for k, v in segs.items()}


def op_overlap(ctx, recs, a, rng):
    pk, flows = analyze(recs)
    sp = Splicer(recs)
    inserted, differ = 0, []
    for (fid, d), segs in sorted(stream_segments(pk).items()):
        for k in range(len(segs) - 1):
            if rng.random() >= a.prob:
                continue
            # pick the segment j (k+1 or k+2) the retransmission ends in;
            # the segments k..j must be contiguous.
            j = k + 1 if k + 2 >= len(segs) or rng.random() < 0.7 else k + 2
            if any(segs[m][0] + len(segs[m][1]) != segs[m + 1][0] for m in range(k, j)):
                continue
            lk, lj = len(segs[k][1]), len(segs[j][1])
            start = segs[k][0] + lk - rng.randint(1, min(lk, 400))
            end = segs[j][0] + (rng.randint(1, min(lj - 1, 400)) if lj > 1 else 1)
            if end - start > 60000:
                continue
            image = b"".join(s[1] for s in segs[k:j + 1])
            data = image[start - segs[k][0]:end - segs[k][0]]
            if a.differ:
                data = bytes((b + rng.randint(1, 255)) & 0xFF for b in data)
                differ.append(dict(flows[fid].describe(d), offset=start, len=end - start))
            tmpl = pk[segs[j][2]].tcp.copy()
            tmpl.seq = (flows[fid].base(d) + start) & MASK32
            tmpl.flags = (tmpl.flags & ~(SYN | FIN | RST | URG)) | ACK | PSH
            tmpl.payload = data
            last = max(s[2] for s in segs[k:j + 1])
            sp.insert_after(last + rng.randint(0, a.max_delay), recs[segs[j][2]].clone(tmpl.build()))
            inserted += 1
    if a.differ:
        ctx.report("overlap", lossy=True, differ=True, inserted=inserted, ranges=differ)
    else:
        ctx.report("overlap", differ=False, inserted=inserted)
    return sp.result()


def _covered(intervals, start, end):
    pos = start
    for s, e in sorted(intervals):
        if s > pos:
            break
        pos = max(pos, e)
        if pos >= end:
            return True
    return pos >= end


def op_drop(ctx, recs, a, rng):
    pk, flows = analyze(recs)
    segs = stream_segments(pk)
    ends = {k: (v[0][0], v[-1][0]) for k, v in segs.items()}
    dropped = []
    for i, p in enumerate(pk):
        if not is_data(p) or p.tcp.flags & (SYN | FIN | RST):
            continue
        if p.data_off in ends[(p.flow.id, p.dir)]:
            continue  # never the first or last segment of a direction
        if rng.random() < a.prob:
            dropped.append(i)
    gone = set(dropped)
    kept = defaultdict(list)
    for i, p in enumerate(pk):
        if is_data(p) and i not in gone:
            kept[(p.flow.id, p.dir)].append((p.data_off, p.data_off + len(p.tcp.payload)))
    for i in dropped:
        p = pk[i]
        off, n = p.data_off, len(p.tcp.payload)
        ctx.report("drop", lossy=True, input_frame=recs[i].frame, offset=off, len=n,
                   covered=_covered(kept[(p.flow.id, p.dir)], off, off + n),
                   **p.flow.describe(p.dir))
    return [r for i, r in enumerate(recs) if i not in gone]


def _sack_shift(topts, delta, strip):
    """Shifts (or NOPs out) SACK blocks inside a TCP option string."""
    o, i = bytearray(topts), 0
    while i < len(o):
        kind = o[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(o) or o[i + 1] < 2:
            break
        n = o[i + 1]
        if kind == 5:
            if strip:
                o[i:i + n] = b"\x01" * n
            else:
                for b in range(i + 2, i + n - 7, 8):
                    le, re_ = struct.unpack("!II", o[b:b + 8])
                    o[b:b + 8] = struct.pack("!II", (le + delta) & MASK32, (re_ + delta) & MASK32)
        i += n
    return bytes(o)


def op_seqshift(ctx, recs, a, rng):
    if not a.to_wrap:
        raise SystemExit("seqshift: only --to-wrap is implemented")
    pk, flows = analyze(recs)
    delta = {}
    for fl in flows:
        for d in (0, 1):
            k = a.k if a.k is not None else rng.randint(a.k_min, a.k_max)
            isn = fl.syn_seq[d] if fl.syn_seq[d] is not None else (fl.base(d) - 1) & MASK32
            delta[(fl.id, d)] = ((1 << 32) - k - isn) & MASK32
            ctx.report("seqshift", k=k, isn=(isn + delta[(fl.id, d)]) & MASK32, **fl.describe(d))
    out = []
    for r, p in zip(recs, pk):
        if p is None:
            out.append(r)
            continue
        t = p.tcp.copy()
        mine, peer = delta[(p.flow.id, p.dir)], delta[(p.flow.id, 1 - p.dir)]
        t.seq = (t.seq + mine) & MASK32
        if t.flags & ACK:
            t.ack = (t.ack + peer) & MASK32
        t.topts = _sack_shift(t.topts, peer, a.strip_sack)
        out.append(r.clone(t.build()))
    return out


def op_strip_syn(ctx, recs, a, rng):
    pk, flows = analyze(recs)
    first_data = {}
    for i, p in enumerate(pk):
        if is_data(p):
            first_data.setdefault(p.flow.id, i)
    out, removed = [], 0
    for i, (r, p) in enumerate(zip(recs, pk)):
        if p is None:
            out.append(r)
            continue
        if i < first_data.get(p.flow.id, len(recs)):
            removed += 1
            continue
        if p.tcp.flags & SYN:
            if not p.tcp.payload:
                removed += 1
                continue
            t = p.tcp.copy()  # SYN with data: keep the data, drop the SYN
            t.flags &= ~SYN
            t.seq = (t.seq + 1) & MASK32
            r = r.clone(t.build())
        out.append(r)
    ctx.report("strip-syn", lossy=True, packets_removed=removed, flows=len(flows))
    return out


def _v4_frag_options(opts):
    """The options copied into non-first fragments (copy flag set)."""
    out, i = bytearray(), 0
    while i < len(opts):
        kind = opts[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(opts) or opts[i + 1] < 2:
            break
        n = opts[i + 1]
        if kind & 0x80:
            out += opts[i:i + n]
        i += n
    return bytes(out) + b"\0" * (-len(out) % 4)


def fragment_v4(ip, mtu, ident):
    hl = (ip[0] & 0x0F) * 4
    tl = struct.unpack("!H", ip[2:4])[0]
    hdr, body = ip[:hl], ip[hl:tl]
    later_opts = _v4_frag_options(ip[20:hl])
    frags, off = [], 0
    while off < len(body):
        h = hdr if off == 0 else hdr[:20] + later_opts
        room = (mtu - len(h)) // 8 * 8
        if room < 8:
            return None
        chunk = body[off:off + room]
        more = off + len(chunk) < len(body)
        nh = bytearray(h)
        nh[0] = 0x40 | (len(h) // 4)
        nh[2:4] = struct.pack("!H", len(h) + len(chunk))
        nh[4:6] = struct.pack("!H", ident)
        nh[6:8] = struct.pack("!H", (0x2000 if more else 0) | (off // 8))
        frags.append(ipv4_fix_header_csum(bytes(nh) + chunk))
        off += len(chunk)
    return frags


def fragment_v6(ip, mtu, ident):
    pl = struct.unpack("!H", ip[4:6])[0]
    ip = ip[:40 + pl]
    # unfragmentable part: fixed header, hop-by-hop, routing (and destination
    # options that precede a routing header)
    nh, off, last_nh_pos, unfrag_end = ip[6], 40, 6, 40
    while nh in (0, 43, 60):
        hl = (ip[off + 1] + 1) * 8
        if nh in (0, 43):
            last_nh_pos, unfrag_end = off, off + hl
        elif nh == 60 and off + hl < len(ip) and ip[off] == 43:
            pass  # goes with the routing header that follows
        else:
            break
        nh, off = ip[off], off + hl
    first_frag_nh = ip[last_nh_pos]
    unfrag, body = bytearray(ip[:unfrag_end]), ip[unfrag_end:]
    unfrag[last_nh_pos] = 44
    room = (mtu - len(unfrag) - 8) // 8 * 8
    if room < 8:
        return None
    frags, pos = [], 0
    while pos < len(body):
        chunk = body[pos:pos + room]
        more = pos + len(chunk) < len(body)
        fh = struct.pack("!BBHI", first_frag_nh, 0, (pos // 8) << 3 | (1 if more else 0), ident)
        h = bytearray(unfrag)
        h[4:6] = struct.pack("!H", len(h) - 40 + 8 + len(chunk))
        frags.append(bytes(h) + fh + chunk)
        pos += len(chunk)
    return frags


def op_fragment(ctx, recs, a, rng):
    ident4, ident6 = rng.randrange(65536), rng.randrange(1 << 32)
    out, datagrams, nfrags, dups = [], 0, 0, 0
    for r, p in zip(recs, analyze(recs)[0]):
        if p is None or len(r.ip) <= a.mtu:
            out.append(r)
            continue
        if p.tcp.ver == 4:
            frags = fragment_v4(r.ip, a.mtu, ident4)
            ident4 = (ident4 + 1) & 0xFFFF
        else:
            frags = fragment_v6(r.ip, a.mtu, ident6)
            ident6 = (ident6 + 1) & MASK32
        if frags is None:
            ctx.report("fragment-warning", problem="mtu too small for this packet", len=len(r.ip))
            out.append(r)
            continue
        datagrams += 1
        nfrags += len(frags)
        if a.shuffle:
            rng.shuffle(frags)
        if a.dup_frag and rng.random() < a.dup_frag:
            frags.insert(rng.randint(0, len(frags)), rng.choice(frags))
            dups += 1
        out.extend(r.clone(f) for f in frags)
    ctx.report("fragment", datagrams=datagrams, fragments=nfrags, duplicate_fragments=dups)
    return out


def op_defrag(ctx, recs, a, rng):
    """Reassembles IPv4/IPv6 fragments (first copy of a byte wins); the whole
    datagram replaces the fragment that completed it."""
    pending, out, done = {}, [], 0
    for r in recs:
        ip = r.ip
        key = None
        if r.missing or len(ip) < 20:
            out.append(r)
            continue
        if ip[0] >> 4 == 4:
            fl = struct.unpack("!H", ip[6:8])[0]
            if fl & 0x3FFF:
                hl = (ip[0] & 15) * 4
                key = (4, ip[12:20], ip[9], ip[4:6])
                off, more = (fl & 0x1FFF) * 8, bool(fl & 0x2000)
                data = ip[hl:struct.unpack("!H", ip[2:4])[0]]
                head = ip[:hl] if off == 0 else None
        elif ip[0] >> 4 == 6 and len(ip) >= 40:
            nh, pos, prev = ip[6], 40, 6
            while nh in (0, 43, 60) and pos + 2 <= len(ip):
                prev, nh, pos = pos, ip[pos], pos + (ip[pos + 1] + 1) * 8
            if nh == 44 and pos + 8 <= len(ip):
                fo = struct.unpack("!H", ip[pos + 2:pos + 4])[0]
                key = (6, ip[8:40], struct.unpack("!I", ip[pos + 4:pos + 8])[0])
                off, more = fo & 0xFFF8, bool(fo & 1)
                data = ip[pos + 8:40 + struct.unpack("!H", ip[4:6])[0]]
                head = None
                if off == 0:
                    h = bytearray(ip[:pos])
                    h[prev] = ip[pos]
                    head = bytes(h)
        if key is None:
            out.append(r)
            continue
        st = pending.setdefault(key, {"parts": {}, "head": None, "total": None})
        st["parts"].setdefault(off, data)
        if head is not None:
            st["head"] = head
        if not more:
            st["total"] = off + len(data)
        if st["head"] is None or st["total"] is None:
            continue
        body, pos = bytearray(st["total"]), 0
        have = [False] * st["total"]
        for o, d in sorted(st["parts"].items()):
            for k in range(len(d)):
                if o + k < st["total"] and not have[o + k]:
                    body[o + k] = d[k]
                    have[o + k] = True
        if not all(have):
            continue
        head = bytearray(st["head"])
        if key[0] == 4:
            head[2:4] = struct.pack("!H", len(head) + len(body))
            head[6:8] = struct.pack("!H", struct.unpack("!H", head[6:8])[0] & 0x4000)
            full = ipv4_fix_header_csum(bytes(head) + bytes(body))
        else:
            head[4:6] = struct.pack("!H", len(head) - 40 + len(body))
            full = bytes(head) + bytes(body)
        out.append(r.clone(full))
        del pending[key]
        done += 1
    ctx.report("defrag", datagrams=done, incomplete=len(pending))
    return out


def _v4_options(rng, words):
    """IPv4 options filling exactly 4*words bytes (1..10 words): NOP NOP NOP
    EOL, or NOP + an empty Record Route, sometimes preceded by a Router Alert
    (a 'copied' option, so it is repeated in every fragment)."""
    out = b""
    if words >= 3 and rng.random() < 0.5:
        out, words = b"\x94\x04\x00\x00", words - 1  # Router Alert
    if words == 1:
        return out + b"\x01\x01\x01\x00"  # NOP NOP NOP EOL
    slots = words - 1  # NOP + Record Route with empty slots: 1 + 3 + 4*slots
    return out + b"\x01" + bytes([7, 3 + 4 * slots, 4]) + b"\0" * (4 * slots)


def _v6_padding(n):
    out = bytearray()
    while n:
        if n == 1:
            out += b"\x00"  # Pad1
            n = 0
        else:
            k = min(n, 7)
            if n - k == 1:
                k -= 1
            out += bytes([1, k - 2]) + b"\0" * (k - 2)
            n -= k
    return bytes(out)


def _v6_ext(rng):
    size = rng.choice((8, 8, 16, 24))
    return bytes([0, size // 8 - 1]) + _v6_padding(size - 2)


def op_ipopts(ctx, recs, a, rng):
    out, n4, n6 = [], 0, 0
    for r in recs:
        ip = r.ip
        if r.missing or len(ip) < 20:
            out.append(r)
            continue
        if ip[0] >> 4 == 4 and ip[0] & 0x0F == 5:
            words = (a.ihl - 5) if a.ihl else rng.randint(1, 10)
            opts = _v4_options(rng, words)
            tl = struct.unpack("!H", ip[2:4])[0]
            h = bytearray(ip[:20])
            h[0] = 0x40 | (5 + words)
            h[2:4] = struct.pack("!H", tl + len(opts))
            out.append(r.clone(ipv4_fix_header_csum(bytes(h) + opts + ip[20:])))
            n4 += 1
        elif ip[0] >> 4 == 6 and len(ip) >= 40:
            first_nh = ip[6]
            hdrs = []  # (type, bytes)
            if first_nh != 0:
                hdrs.append((0, _v6_ext(rng)))  # hop-by-hop must come first
            hdrs.append((60, _v6_ext(rng)))
            if first_nh == 0:  # keep the existing hop-by-hop header first
                hl = (ip[41] + 1) * 8
                fixed, rest, nxt = ip[:40] + ip[40:40 + hl], ip[40 + hl:], ip[40]
                fixed = bytearray(fixed)
                fixed[40] = 60
            else:
                fixed, rest, nxt = bytearray(ip[:40]), ip[40:], first_nh
                fixed[6] = 0
            chain = b""
            for k, (typ, body) in enumerate(hdrs):
                nh = hdrs[k + 1][0] if k + 1 < len(hdrs) else nxt
                chain += bytes([nh]) + body[1:]
            pl = struct.unpack("!H", ip[4:6])[0]
            fixed[4:6] = struct.pack("!H", pl + len(chain))
            out.append(r.clone(bytes(fixed) + chain + rest))
            n6 += 1
        else:
            out.append(r)
    ctx.report("ipopts", ipv4_packets=n4, ipv6_packets=n6)
    return out


# ====================================================================== output

def mac_for(addr):
    return b"\x02" + hashlib.sha1(addr).digest()[:5]


def ip_addrs(ip):
    if ip[0] >> 4 == 4:
        return ip[12:16], ip[16:20]
    return ip[8:24], ip[24:40]


def encode(recs, target, af6, report, keep_tags=False):
    """Returns (linktype, [[ts, link header, ip, missing, rec]])."""
    lt = LINK_TARGETS[target]
    out, filtered = [], 0
    first_sender = {}
    for r in recs:
        ip = r.ip
        ver = ip[0] >> 4 if ip else 0
        if target in ("ipv4", "ipv6") and ver != int(target[-1]):
            filtered += 1
            continue
        et = ETH_IPV4 if ver == 4 else ETH_IPV6
        if target in ("ether", "vlan", "qinq", "sll", "sll2"):
            try:
                s, d = ip_addrs(ip)
            except IndexError:
                s = d = b""
            src = (r.l2 or {}).get("src") or mac_for(s)
            dst = (r.l2 or {}).get("dst") or mac_for(d)
        if target == "ether":
            tags = (r.l2 or {}).get("tags", b"") if keep_tags else b""
            hdr = dst + src + tags + struct.pack("!H", et)
        elif target == "vlan":
            hdr = dst + src + struct.pack("!HHH", ETH_8021Q, 100, et)
        elif target == "qinq":
            hdr = dst + src + struct.pack("!HHHHH", ETH_8021AD, 200, ETH_8021Q, 100, et)
        elif target in ("sll", "sll2"):
            try:
                s, d = ip_addrs(ip)
            except IndexError:
                s = d = b""
            sender = first_sender.setdefault(tuple(sorted((s, d))), s)
            ptype = 4 if sender == s else 0  # PACKET_OUTGOING / PACKET_HOST
            if target == "sll":
                hdr = struct.pack("!HHH8sH", ptype, 1, 6, src + b"\0\0", et)
            else:
                hdr = struct.pack("!HHIHBB8s", et, 0, 1, 1, ptype, 6, src + b"\0\0")
        elif target == "null":
            hdr = struct.pack("<I", AF_INET if ver == 4 else af6)
        elif target == "loop":
            hdr = struct.pack(">I", AF_INET if ver == 4 else af6)
        else:
            hdr = b""
        out.append([r.ts, hdr, ip, r.missing, r])
    if filtered:
        report("relink", filtered_other_family=filtered)
    return lt, out


TRUNCATE_KINDS = ("link-hdr-cut", "ipv4-hdr-cut", "ipv4-ihl-lt-5", "tcp-hdr-cut",
                  "tcp-doff-lt-5", "ip-len-gt-caplen", "ip-len-gt-frame", "ipv6-ext-cut")


def truncate_packets(entries, a, rng, report):
    """Gives some packets a malformed/short capture; entries are
    [ts, link header, ip, missing, rec] and are changed in place: a 6th
    element, caplen, is added when the record is cut."""
    kinds = a.kinds.split(",") if a.kinds else list(TRUNCATE_KINDS)
    for k in kinds:
        if k not in TRUNCATE_KINDS:
            raise SystemExit("truncate-packets: unknown kind %r (known: %s)" % (k, ", ".join(TRUNCATE_KINDS)))
    info = []
    for e in entries:
        t = TCP.parse(e[2]) if not e[3] else None
        info.append(t)
    used = set()

    def pick(cond):
        cands = [i for i, t in enumerate(info) if i not in used and t is not None and cond(i, t)]
        if not cands:
            return None
        i = rng.choice(cands)
        used.add(i)
        return i

    for kind in kinds:
        for _ in range(a.count):
            if kind == "link-hdr-cut":
                i = pick(lambda i, t: len(entries[i][1]) >= 2)
            elif kind in ("ipv4-hdr-cut", "ipv4-ihl-lt-5"):
                i = pick(lambda i, t: t.ver == 4)
            elif kind == "ipv6-ext-cut":
                i = pick(lambda i, t: t.ver == 6)
            elif kind == "ip-len-gt-caplen":
                i = pick(lambda i, t: len(t.payload) >= 2 and (
                    a.bytes is None or len(entries[i][1]) + len(entries[i][2]) > a.bytes))
            else:
                i = pick(lambda i, t: bool(t.payload))
            if i is None:
                report("truncate-packets", lossy=True, defect=kind, skipped="no suitable packet")
                continue
            e = entries[i]
            hdr, ip, t = e[1], e[2], info[i]
            iphl = (ip[0] & 15) * 4 if t.ver == 4 else 40 + sum(len(x[1]) for x in t.ext)
            full = len(hdr) + len(ip)
            detail = {}
            if kind == "link-hdr-cut":
                caplen = len(hdr) // 2
            elif kind == "ipv4-hdr-cut":
                caplen = len(hdr) + 10
            elif kind == "ipv4-ihl-lt-5":
                ihl = rng.randint(0, 4)
                b = bytearray(ip)
                b[0] = 0x40 | ihl
                b[10:12] = b"\0\0"
                b[10:12] = struct.pack("!H", inet_csum(bytes(b[:20])))
                e[2], caplen, detail = bytes(b), full, {"ihl": ihl}
            elif kind == "tcp-hdr-cut":
                caplen = len(hdr) + iphl + 10
            elif kind == "tcp-doff-lt-5":
                doff = rng.randint(0, 4)
                b = bytearray(ip)
                b[iphl + 12] = (doff << 4) | (b[iphl + 12] & 0x0F)
                e[2], caplen, detail = bytes(b), full, {"doff": doff}
            elif kind == "ip-len-gt-caplen":
                caplen = a.bytes if a.bytes is not None else full - len(t.payload) // 2
            elif kind == "ip-len-gt-frame":
                b = bytearray(ip)
                if t.ver == 4:
                    b[2:4] = struct.pack("!H", len(ip) + 100)
                    b = bytearray(ipv4_fix_header_csum(bytes(b)))
                else:
                    b[4:6] = struct.pack("!H", len(ip) - 40 + 100)
                e[2], caplen, detail = bytes(b), full, {"claimed_extra": 100}
            elif kind == "ipv6-ext-cut":
                # insert a 24-byte hop-by-hop header and cut the capture inside it
                b = bytearray(ip[:40])
                hbh = bytes([ip[6], 2]) + _v6_padding(22)
                b[6] = 0
                b[4:6] = struct.pack("!H", len(ip) - 40 + len(hbh))
                e[2] = bytes(b) + hbh + ip[40:]
                full = len(hdr) + len(e[2])
                caplen = len(hdr) + 40 + 12
            e.append(caplen)
            report("truncate-packets", lossy=True, packet=i + 1, defect=kind, caplen=caplen,
                   len=full + e[3], **detail)


def serialize(lt, entries, nano, snaplen):
    """Returns (bytearray of the pcap file, [(offset of record header, caplen)])."""
    out = bytearray(struct.pack("<IHHiIII", 0xA1B23C4D if nano else 0xA1B2C3D4, 2, 4, 0, 0,
                                snaplen or 262144, lt))
    offsets = []
    for e in entries:
        ts, hdr, ip, missing = e[:4]
        frame = hdr + ip
        wire = len(frame) + missing
        if len(e) > 5:
            frame = frame[:e[5]]
        if snaplen:
            frame = frame[:snaplen]
        sec, ns = divmod(ts, 1_000_000_000)
        offsets.append((len(out), len(frame)))
        out += struct.pack("<IIII", sec & MASK32, ns if nano else ns // 1000, len(frame), wire)
        out += frame
    return out, offsets


CORRUPT_MODES = ("truncate-record", "truncate-header", "huge-caplen", "caplen-gt-len",
                 "bad-magic", "empty", "header-only", "garbage")


def corrupt(buf, offsets, a, rng, report):
    mode = a.mode
    if mode == "empty":
        report("corrupt", lossy=True, mode=mode, size=0)
        return b""
    if mode == "header-only":
        report("corrupt", lossy=True, mode=mode, size=24)
        return bytes(buf[:24])
    if mode == "bad-magic":
        out = bytearray(buf)
        out[0:4] = struct.pack("<I", 0xA1B2C3D5)
        report("corrupt", lossy=True, mode=mode, magic=out[0:4].hex())
        return bytes(out)
    if mode == "garbage":
        junk = bytes(rng.randrange(256) for _ in range(a.garbage_len))
        report("corrupt", lossy=True, mode=mode, size=24 + len(junk))
        return bytes(buf[:24]) + junk
    if not offsets:
        raise SystemExit("corrupt: mode %s needs at least one record" % mode)
    rec = a.record if a.record else len(offsets) // 2 + 1
    rec = max(1, min(rec, len(offsets)))
    off, caplen = offsets[rec - 1]
    out = bytearray(buf)
    if mode == "truncate-record":
        if caplen < 2:
            raise SystemExit("corrupt: record %d too short to cut its data" % rec)
        cut = off + 16 + caplen // 2
        out = out[:cut]
    elif mode == "truncate-header":
        cut = off + 8
        out = out[:cut]
    elif mode == "huge-caplen":
        out[off + 8:off + 12] = struct.pack("<I", 0x7FFFFFFF)
        cut = None
    elif mode == "caplen-gt-len":
        out[off + 12:off + 16] = struct.pack("<I", max(0, caplen - 10))
        cut = None
    report("corrupt", lossy=True, mode=mode, record=rec, record_offset=off, caplen=caplen,
           size=len(out), **({"cut_at": cut} if cut is not None else {}))
    return bytes(out)


# ====================================================================== CLI

def op_parsers():
    ps = {}

    def new(name, help_):
        p = argparse.ArgumentParser(prog="pcaptool.py ... " + name, description=help_)
        ps[name] = p
        return p

    p = new("relink", "re-encapsulate every IP packet (output link type)")
    p.add_argument("--to", required=True, choices=sorted(LINK_TARGETS))
    p.add_argument("--af6", type=int, default=30, choices=AF_INET6_VALUES,
                   help="AF_INET6 value for null/loop (default 30, Darwin)")
    p = new("fragment", "IP-fragment TCP packets longer than --mtu")
    p.add_argument("--mtu", type=int, required=True)
    p.add_argument("--shuffle", action="store_true", help="random order of each datagram's fragments")
    p.add_argument("--dup-frag", type=float, default=0.0, metavar="P",
                   help="probability per datagram to add a duplicate fragment")
    new("defrag", "reassemble IP fragments of the input (first copy of a byte wins)")
    p = new("ipopts", "add IPv4 options / IPv6 hop-by-hop + destination options headers")
    p.add_argument("--ihl", type=int, choices=range(6, 16), help="fixed IPv4 IHL (default random 6..15)")
    p = new("resegment", "split TCP payloads into random pieces of --min..--max bytes")
    p.add_argument("--max", type=int, required=True)
    p.add_argument("--min", type=int, default=1)
    p = new("reorder", "shuffle packets of a flow within a sliding window")
    p.add_argument("--window", type=int, required=True)
    p.add_argument("--move-syn", action="store_true", help="let SYN packets move too")
    p = new("duplicate", "insert exact copies of random data segments a few packets later")
    p.add_argument("--prob", type=float, required=True)
    p.add_argument("--max-delay", type=int, default=5)
    p = new("overlap", "insert retransmissions overlapping segment boundaries")
    p.add_argument("--prob", type=float, required=True)
    p.add_argument("--differ", action="store_true", help="overlapping bytes differ (lossy)")
    p.add_argument("--max-delay", type=int, default=3)
    p = new("drop", "drop random data segments (lossy)")
    p.add_argument("--prob", type=float, required=True)
    p = new("seqshift", "move every direction's ISN to 2^32-K so the stream wraps")
    p.add_argument("--to-wrap", action="store_true", required=True)
    p.add_argument("--k", type=int, help="fixed K for every direction")
    p.add_argument("--k-min", type=int, default=1000)
    p.add_argument("--k-max", type=int, default=5000)
    p.add_argument("--strip-sack", action="store_true", help="replace SACK options by NOPs")
    new("strip-syn", "remove each flow's packets before its first data packet")
    new("fix-checksums", "recompute the IPv4 header and TCP checksums of every packet")
    p = new("truncate-packets", "make some packets too short for their headers (lossy)")
    p.add_argument("--bytes", type=int,
                   help="record caplen of the ip-len-gt-caplen kind (default: the link, IP "
                        "and TCP headers plus half the payload)")
    p.add_argument("--kinds", help="comma list of: " + ", ".join(TRUNCATE_KINDS))
    p.add_argument("--count", type=int, default=1, help="packets per kind")
    p = new("corrupt", "write a deliberately broken capture file")
    p.add_argument("--mode", required=True, choices=CORRUPT_MODES)
    p.add_argument("--record", type=int, help="1-based record to damage (default: middle)")
    p.add_argument("--garbage-len", type=int, default=4096)
    return ps


OPS = {
    "relink": op_relink, "fragment": op_fragment, "defrag": op_defrag, "ipopts": op_ipopts,
    "resegment": op_resegment, "reorder": op_reorder, "duplicate": op_duplicate,
    "overlap": op_overlap, "drop": op_drop, "seqshift": op_seqshift, "strip-syn": op_strip_syn,
    "fix-checksums": op_fix_checksums, "truncate-packets": None, "corrupt": None,
}


def parse_cli(argv):
    ps = op_parsers()
    if argv[:1] == ["help"]:
        if len(argv) > 1 and argv[1] in ps:
            ps[argv[1]].print_help()
        else:
            print(__doc__)
        sys.exit(0)
    # global options and IN OUT come first; the first token after the two
    # positionals starts the operation list
    with_value = {"--seed", "--snaplen", "--report"}
    cut, npos, i = len(argv), 0, 0
    while i < len(argv):
        tok = argv[i]
        if npos == 2:
            cut = i
            break
        if tok in with_value:
            i += 2
            continue
        if not tok.startswith("-") or tok == "-":
            npos += 1
        i += 1
    g = argparse.ArgumentParser(
        prog="pcaptool.py",
        usage="pcaptool.py [--seed S] [--nano] [--snaplen N] [--report PATH] [-q] "
              "IN OUT [OP [OP OPTIONS]] [+ OP [OP OPTIONS]] ...  (pcaptool.py help [OP])")
    g.add_argument("--seed", default="1")
    g.add_argument("--nano", action="store_true")
    g.add_argument("--snaplen", type=int)
    g.add_argument("--report")
    g.add_argument("-q", "--quiet", action="store_true")
    g.add_argument("input")
    g.add_argument("output")
    ga = g.parse_args(argv[:cut])
    ops, cur = [], []
    for tok in argv[cut:] + ["+"]:
        if tok == "+":
            if cur:
                if cur[0] not in ps:
                    g.error("unknown operation %r" % cur[0])
                ops.append((cur[0], ps[cur[0]].parse_args(cur[1:])))
            cur = []
        else:
            cur.append(tok)
    return ga, ops


def main(argv=None):
    ga, ops = parse_cli(sys.argv[1:] if argv is None else argv)
    report = Reporter(ga.quiet, ga.report)
    try:
        frames, fmt = read_capture(ga.input, report)
    except (OSError, CaptureError) as exc:
        print("pcaptool: %s: %s" % (ga.input, exc), file=sys.stderr)
        return 2
    recs, skipped = frames_to_recs(frames, report)
    in_types = sorted({f.linktype for f in frames})
    report("read", file=ga.input, format=fmt, frames=len(frames), ip_packets=len(recs),
           skipped=skipped, linktypes=in_types)
    ctx = Ctx(ga.seed, report)
    if len(in_types) == 1 and in_types[0] in DEFAULT_TARGET:
        ctx.target = DEFAULT_TARGET[in_types[0]]
    else:
        ctx.target = "ether"
    for n, (name, a) in enumerate(ops):
        rng = ctx.rng(n, name)
        if name == "truncate-packets":
            ctx.truncate = (a, rng)
        elif name == "corrupt":
            ctx.corrupt = (a, rng)
        else:
            recs = OPS[name](ctx, recs, a, rng)
    lt, entries = encode(recs, ctx.target, ctx.af6, report, keep_tags=not ctx.relinked)
    if ctx.truncate:
        truncate_packets(entries, ctx.truncate[0], ctx.truncate[1], report)
    buf, offsets = serialize(lt, entries, ga.nano, ga.snaplen)
    if ctx.corrupt:
        buf = corrupt(buf, offsets, ctx.corrupt[0], ctx.corrupt[1], report)
    with open(ga.output, "wb") as f:
        f.write(buf)
    report("write", file=ga.output, linktype=lt, link=ctx.target, packets=len(entries),
           nano=ga.nano, snaplen=ga.snaplen)
    return 0


if __name__ == "__main__":
    sys.exit(main())
