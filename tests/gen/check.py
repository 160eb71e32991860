#!/usr/bin/python3
"""check.py - tshark-based checks used by tests/gen/selftest.sh.

Every check prints "ok: ..." and exits 0, or prints "FAIL: ..." and exits 1.

  check.py streams PCAP                       print per-direction stream summary (JSON)
  check.py same TRUTH PCAP [--differ REPORT] [--family 4|6] [--segments-only]
                                              PCAP carries the streams of TRUTH (a
                                              mkflows.py JSON or another pcap): every
                                              TCP segment tshark dissects holds the right
                                              bytes for its offset, together they cover
                                              every stream, and tshark's 'follow tcp'
                                              output is identical (skipped with
                                              --segments-only).  --differ: bytes may
                                              differ inside the overlap report's ranges.
                                              --family: only that IP version's streams.
                                              --holes REPORT: the drop report's
                                              uncovered ranges must be missing
  check.py checksums PCAP                     every IPv4 header and TCP checksum is good
  check.py protocols PCAP PREFIX...           every frame's frame.protocols starts with
                                              one of the prefixes
  check.py count PCAP OP N [FILTER]           number of frames (matching the display
                                              FILTER) compares (OP: eq ge gt le lt)
  check.py maxseg PCAP N                      no TCP payload longer than N
  check.py more-segments IN OUT               OUT has more data segments than IN
  check.py fragments PCAP MTU                 some IP fragments, no IP packet above MTU
  check.py ipopts PCAP                        IPv4 IHL > 5 and IPv6 hop-by-hop + dest opts
  check.py timeorder PCAP                     timestamps never decrease
  check.py reordered IN OUT                   the packet order of some flow changed
  check.py retrans PCAP                       tshark sees retransmissions
  check.py seqwrap IN OUT KMIN KMAX [--strip-sack]
                                              ISNs at 2^32-K, long streams wrap, acks
                                              consistent, relative SACK blocks unchanged
                                              (or, with --strip-sack, none left)
  check.py nosyn PCAP                         no SYN packet left
  check.py drop IN OUT REPORT                 OUT's data segments are IN's minus reported
  check.py truncated IN OUT REPORT            reported packets are short/malformed for
                                              tshark, every other packet equals IN's
  check.py linkinfo PCAP LINKTYPE [NANO]      pcap header link type (and nano magic)
  check.py truth-equal A.json B.json         two mkflows.py outputs list the same streams
  check.py times A B                          IP frames of A and B have equal timestamps
  check.py snaplen REF PCAP N                 caplen = min(len, N), lens equal REF's
  check.py corrupt MODE BASE OUT REPORT       OUT is BASE damaged as MODE says and as
                                              the JSON report says
"""
import hashlib
import ipaddress
import json
import struct
import subprocess
import sys
from collections import Counter, defaultdict


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def ok(msg):
    print("ok: " + msg)
    sys.exit(0)


def tshark(*args):
    p = subprocess.run(["tshark", "-n"] + list(args), capture_output=True, text=True)
    if p.returncode != 0:
        fail("tshark %s exited %d: %s" % (" ".join(args), p.returncode, p.stderr.strip()[-500:]))
    return p.stdout


def fields(pcap, names, extra=()):
    out = tshark("-r", pcap, *extra, "-T", "fields", "-E", "separator=\t",
                 *sum((["-e", n] for n in names), []))
    rows = []
    for line in out.splitlines():
        parts = line.split("\t")
        parts += [""] * (len(names) - len(parts))
        rows.append(dict(zip(names, parts)))
    return rows


def norm_ep(text):
    """'10.0.0.1:80' / '[2001:db8::1]:443' -> canonical text."""
    host, port = text.rsplit(":", 1)
    a = ipaddress.ip_address(host.strip("[]"))
    return ("[%s]:%d" if a.version == 6 else "%s:%d") % (a.compressed, int(port))


def ep(ip, port):
    return norm_ep(("[%s]" if ":" in ip else "%s") % ip + ":" + port)


def tshark_streams(pcap):
    """{'src>dst': bytes} as reassembled by tshark's 'follow tcp'."""
    ids = sorted({int(r["tcp.stream"]) for r in fields(pcap, ["tcp.stream"]) if r["tcp.stream"]})
    if not ids:
        return {}
    args = ["-r", pcap, "-q"]
    for i in ids:
        args += ["-z", "follow,tcp,raw,%d" % i]
    out = tshark(*args)
    streams = defaultdict(bytearray)
    nodes = None
    for line in out.splitlines():
        if line.startswith("Filter:"):
            nodes = []
        elif line.startswith("Node 0:") or line.startswith("Node 1:"):
            nodes.append(norm_ep(line.split(": ", 1)[1].strip()))
        elif line.startswith("====") or not line.strip() or line.startswith("Follow:"):
            continue
        elif nodes is not None and len(nodes) == 2:
            if line.startswith("\t"):
                streams["%s>%s" % (nodes[1], nodes[0])] += bytes.fromhex(line.strip())
            else:
                streams["%s>%s" % (nodes[0], nodes[1])] += bytes.fromhex(line.strip())
    return {k: bytes(v) for k, v in streams.items() if v}


def truth_streams(path):
    if path.endswith(".json"):
        d = json.load(open(path))
        out = {}
        for c in d["connections"]:
            for name, a, b in (("c2s", "client", "server"), ("s2c", "server", "client")):
                data = bytes.fromhex(c[name]["hex"])
                assert hashlib.sha256(data).hexdigest() == c[name]["sha256"]
                if data:
                    out["%s>%s" % (norm_ep(c[a]), norm_ep(c[b]))] = data
        return out
    return tshark_streams(path)


def report_lines(path, op):
    out = []
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            d = json.loads(line)
            if d.get("op") == op:
                out.append(d)
    return out


def segment_streams(pcap):
    """Places every TCP payload tshark dissects (after IP defragmentation) at
    its stream offset.  Returns {'src>dst': (image bytes, [(off, bytes, frame)])};
    offset 0 is the byte after the SYN, or the lowest sequence number seen in
    that direction when there is no SYN.  Unlike 'follow' this does not depend
    on tshark's handling of gaps and out-of-order data."""
    rows = fields(pcap, ["frame.number", "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst",
                         "tcp.dstport", "tcp.stream", "tcp.seq_raw", "tcp.flags.syn", "tcp.payload"])
    dirs = defaultdict(list)
    for r in rows:
        if not r["tcp.seq_raw"]:
            continue
        src = ep(r["ip.src"].split(",")[-1] or r["ipv6.src"].split(",")[-1], r["tcp.srcport"])
        dst = ep(r["ip.dst"].split(",")[-1] or r["ipv6.dst"].split(",")[-1], r["tcp.dstport"])
        syn = r["tcp.flags.syn"] in ("1", "True")
        dirs[(r["tcp.stream"], "%s>%s" % (src, dst))].append(
            (int(r["tcp.seq_raw"]), syn, bytes.fromhex(r["tcp.payload"].replace(":", "")),
             int(r["frame.number"])))
    out = {}
    for (_, key), pkts in dirs.items():
        syns = [seq for seq, syn, _, _ in pkts if syn]
        if syns:
            base = (syns[0] + 1) & 0xFFFFFFFF
        else:
            first = pkts[0][0]
            base = min(pkts, key=lambda p: ((p[0] - first + (1 << 31)) & 0xFFFFFFFF))[0]
        segs = []
        for seq, syn, data, frame in pkts:
            if data:
                off = (seq + (1 if syn else 0) - base) & 0xFFFFFFFF
                if off >= 1 << 31:
                    off -= 1 << 32
                segs.append((off, data, frame))
        if not segs:
            continue
        if key in out:
            fail("%s: direction %s appears in two TCP streams" % (pcap, key))
        out[key] = segs
    return out


def cmd_same(truth, pcap, *rest):
    """Checks PCAP's streams against TRUTH with two oracles: every data
    segment's bytes sit at the right offset and together cover each stream
    exactly, and (unless --segments-only) tshark's 'follow tcp' output."""
    rest = list(rest)
    allowed = defaultdict(list)
    if "--differ" in rest:
        for d in report_lines(rest[rest.index("--differ") + 1], "overlap"):
            for r in d.get("ranges", []):
                key = "%s>%s" % ((r["client"], r["server"]) if r["dir"] == "c2s" else (r["server"], r["client"]))
                allowed[norm_key(key)].append((r["offset"], r["offset"] + r["len"]))
    holes = defaultdict(list)
    if "--holes" in rest:
        for d in report_lines(rest[rest.index("--holes") + 1], "drop"):
            if not d["covered"]:
                key = "%s>%s" % ((d["client"], d["server"]) if d["dir"] == "c2s" else (d["server"], d["client"]))
                holes[norm_key(key)].append((d["offset"], d["offset"] + d["len"]))
        rest.append("--segments-only")
    family = rest[rest.index("--family") + 1] if "--family" in rest else None
    want = truth_streams(truth)
    if family:
        want = {k: v for k, v in want.items() if ("[" in k) == (family == "6")}

    def inside(k, i):
        return any(s <= i < e for s, e in allowed[k])

    # oracle 1: segment placement
    segs = segment_streams(pcap)
    if set(want) != set(segs):
        fail("%s: stream directions differ: missing %s, extra %s" %
             (pcap, sorted(set(want) - set(segs)), sorted(set(segs) - set(want))))
    nseg = conflicts = 0
    for k, lst in segs.items():
        data, have = want[k], bytearray(len(want[k]))
        for off, b, frame in lst:
            nseg += 1
            if off < 0 or off + len(b) > len(data):
                fail("%s: %s: frame %d carries [%d,%d) outside the stream (len %d)" %
                     (pcap, k, frame, off, off + len(b), len(data)))
            for i in range(len(b)):
                if b[i] != data[off + i]:
                    if not inside(k, off + i):
                        fail("%s: %s: frame %d: byte at offset %d differs from the stream" %
                             (pcap, k, frame, off + i))
                    conflicts += 1
            have[off:off + len(b)] = b"\1" * len(b)
        for s, e in holes[k]:
            if any(have[s:e]):
                fail("%s: %s: reported hole [%d,%d) is (partly) present" % (pcap, k, s, e))
            have[s:e] = b"\1" * (e - s)
        if not all(have):
            fail("%s: %s: stream offset %d never captured" % (pcap, k, have.index(0)))
    msg = "%s: %d stream directions, %d bytes, %d segments all consistent with %s" % (
        pcap, len(want), sum(map(len, want.values())), nseg, truth)
    if allowed:
        msg += " (%d differing bytes, all inside reported ranges)" % conflicts
    if "--holes" in rest:
        msg += " (holes exactly at the %d reported drops)" % sum(map(len, holes.values()))

    # oracle 2: tshark's own reassembly
    if "--segments-only" not in rest:
        got = tshark_streams(pcap)
        for k in sorted(want):
            a, b = want[k], got.get(k, b"")
            if len(a) != len(b):
                fail("%s: follow tcp: %s: length %d, expected %d" % (pcap, k, len(b), len(a)))
            bad = [i for i in range(len(a)) if a[i] != b[i] and not inside(k, i)]
            if bad:
                fail("%s: follow tcp: %s: %d bytes differ, first at offset %d" % (pcap, k, len(bad), bad[0]))
        msg += "; follow tcp agrees"
    ok(msg)


def norm_key(k):
    a, b = k.split(">")
    return "%s>%s" % (norm_ep(a), norm_ep(b))


def cmd_streams(pcap):
    s = tshark_streams(pcap)
    print(json.dumps({k: {"len": len(v), "sha256": hashlib.sha256(v).hexdigest()}
                      for k, v in sorted(s.items())}, indent=1))


def cmd_checksums(pcap):
    rows = fields(pcap, ["frame.number", "ip.checksum.status", "tcp.checksum.status"],
                  ["-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE"])
    nip = ntcp = 0
    for r in rows:
        for f in ("ip.checksum.status", "tcp.checksum.status"):
            for v in filter(None, r[f].split(",")):
                if v != "1":
                    fail("%s: frame %s: %s = %s" % (pcap, r["frame.number"], f, v))
                if f.startswith("ip"):
                    nip += 1
                else:
                    ntcp += 1
    if not ntcp:
        fail("%s: no TCP checksum verified" % pcap)
    ok("%s: %d IPv4 header and %d TCP checksums good" % (pcap, nip, ntcp))


def cmd_protocols(pcap, *prefixes):
    rows = fields(pcap, ["frame.number", "frame.protocols"])
    for r in rows:
        if not any(r["frame.protocols"].startswith(p) for p in prefixes):
            fail("%s: frame %s is %s" % (pcap, r["frame.number"], r["frame.protocols"]))
    ok("%s: %d frames start with %s" % (pcap, len(rows), " or ".join(prefixes)))


def cmd_count(pcap, op, n, flt=None):
    c = len(fields(pcap, ["frame.number"], ["-Y", flt] if flt else []))
    n = int(n)
    res = {"eq": c == n, "ge": c >= n, "gt": c > n, "le": c <= n, "lt": c < n}[op]
    if not res:
        fail("%s: %d frames%s, wanted %s %d" % (pcap, c, " matching " + flt if flt else "", op, n))
    ok("%s: %d frames%s (%s %d)" % (pcap, c, " matching " + flt if flt else "", op, n))


def data_segments(pcap):
    rows = fields(pcap, ["ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport",
                         "tcp.seq", "tcp.len", "frame.number", "tcp.stream"])
    out = []
    for r in rows:
        if r["tcp.len"] and int(r["tcp.len"]) > 0:
            src = ep(r["ip.src"] or r["ipv6.src"], r["tcp.srcport"])
            dst = ep(r["ip.dst"] or r["ipv6.dst"], r["tcp.dstport"])
            out.append(("%s>%s" % (src, dst), int(r["tcp.seq"]), int(r["tcp.len"]),
                        int(r["frame.number"]), r["tcp.stream"]))
    return out


def cmd_maxseg(pcap, n):
    segs = data_segments(pcap)
    big = [s for s in segs if s[2] > int(n)]
    if big:
        fail("%s: frame %d has %d payload bytes > %s" % (pcap, big[0][3], big[0][2], n))
    ok("%s: %d data segments, none above %s bytes" % (pcap, len(segs), n))


def cmd_more_segments(a, b):
    na, nb = len(data_segments(a)), len(data_segments(b))
    if nb <= na:
        fail("%s has %d data segments, %s has %d" % (b, nb, a, na))
    ok("%d data segments became %d" % (na, nb))


def cmd_fragments(pcap, mtu):
    rows = fields(pcap, ["frame.number", "ip.len", "ipv6.plen", "ip.flags.mf", "ip.frag_offset",
                         "ipv6.fraghdr.ident"], ["-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE"])
    n4 = n6 = 0
    for r in rows:
        size = int(r["ip.len"].split(",")[0]) if r["ip.len"] else (
            40 + int(r["ipv6.plen"].split(",")[0]) if r["ipv6.plen"] else 0)
        if size > int(mtu):
            fail("%s: frame %s carries a %d-byte IP packet > %s" % (pcap, r["frame.number"], size, mtu))
        if r["ip.flags.mf"] in ("1", "True") or r["ip.frag_offset"] not in ("", "0"):
            n4 += 1
        if r["ipv6.fraghdr.ident"]:
            n6 += 1
    if not n4 or not n6:
        fail("%s: %d IPv4 and %d IPv6 fragments, expected both" % (pcap, n4, n6))
    ok("%s: %d IPv4 and %d IPv6 fragments, all <= %s bytes" % (pcap, n4, n6, mtu))


def cmd_ipopts(pcap):
    rows = fields(pcap, ["frame.number", "ip.hdr_len", "ipv6.hopopts.nxt", "ipv6.dstopts.nxt",
                         "ipv6.src"])
    n4 = n6 = 0
    for r in rows:
        if r["ip.hdr_len"]:
            if int(r["ip.hdr_len"].split(",")[0]) <= 20:
                fail("%s: frame %s has a 20-byte IPv4 header" % (pcap, r["frame.number"]))
            n4 += 1
        elif r["ipv6.src"]:
            if not r["ipv6.hopopts.nxt"] or not r["ipv6.dstopts.nxt"]:
                fail("%s: frame %s lacks hop-by-hop/destination options" % (pcap, r["frame.number"]))
            n6 += 1
    ok("%s: %d IPv4 packets with options, %d IPv6 with extension headers" % (pcap, n4, n6))


def cmd_timeorder(pcap):
    rows = fields(pcap, ["frame.number", "frame.time_epoch"])
    prev = None
    for r in rows:
        t = float(r["frame.time_epoch"])
        if prev is not None and t < prev:
            fail("%s: frame %s goes back in time" % (pcap, r["frame.number"]))
        prev = t
    ok("%s: %d frames in time order" % (pcap, len(rows)))


def flow_order(pcap):
    rows = fields(pcap, ["tcp.stream", "tcp.seq", "tcp.len", "tcp.ack", "tcp.flags"])
    out = defaultdict(list)
    for r in rows:
        if r["tcp.stream"]:
            out[r["tcp.stream"]].append((r["tcp.seq"], r["tcp.len"], r["tcp.ack"], r["tcp.flags"]))
    return out


def cmd_reordered(a, b):
    fa, fb = flow_order(a), flow_order(b)
    changed = [k for k in fa if fa[k] != fb.get(k)]
    for k in fa:
        if sorted(fa[k]) != sorted(fb.get(k, [])):
            fail("stream %s: packets differ, not only their order" % k)
    if not changed:
        fail("no flow had its packet order changed")
    ok("%d of %d flows reordered, same packets" % (len(changed), len(fa)))


def cmd_retrans(pcap):
    rows = fields(pcap, ["frame.number"], ["-Y", "tcp.analysis.retransmission || tcp.analysis.fast_retransmission || tcp.analysis.spurious_retransmission"])
    if not rows:
        fail("%s: tshark sees no retransmission" % pcap)
    ok("%s: %d retransmissions" % (pcap, len(rows)))


def cmd_seqwrap(inp, out, kmin, kmax, *opts):
    kmin, kmax = int(kmin), int(kmax)
    names = ["tcp.stream", "ip.src", "ipv6.src", "tcp.srcport", "tcp.seq_raw", "tcp.seq", "tcp.len",
             "tcp.flags.syn", "tcp.options.sack_le", "tcp.options.sack_re"]
    rows = fields(out, names)
    syn, wrapped, longest = {}, set(), defaultdict(int)
    for r in rows:
        if not r["tcp.seq_raw"]:
            continue
        d = (r["tcp.stream"], r["ip.src"] or r["ipv6.src"], r["tcp.srcport"])
        raw = int(r["tcp.seq_raw"])
        if r["tcp.flags.syn"] in ("1", "True"):
            syn[d] = raw
            if not (1 << 32) - kmax <= raw <= (1 << 32) - kmin:
                fail("%s: SYN of %s has ISN %d, not in [2^32-%d, 2^32-%d]" % (out, d, raw, kmax, kmin))
        elif raw < 1 << 20:
            wrapped.add(d)
        longest[d] = max(longest[d], int(r["tcp.seq"]) + int(r["tcp.len"] or 0))
    need = [d for d in syn if longest[d] > kmax + 2]
    if not need:
        fail("%s: no stream long enough to wrap" % out)
    for d in need:
        if d not in wrapped:
            fail("%s: direction %s did not cross 2^32" % (out, d))
    bad = fields(out, ["frame.number"], ["-Y", "tcp.analysis.ack_lost_segment"])
    if bad:
        fail("%s: frame %s acks unseen data (ACK not shifted with SEQ?)" % (out, bad[0]["frame.number"]))
    sin = [(r["tcp.options.sack_le"], r["tcp.options.sack_re"]) for r in fields(inp, names) if r["tcp.options.sack_le"]]
    sout = [(r["tcp.options.sack_le"], r["tcp.options.sack_re"]) for r in rows if r["tcp.options.sack_le"]]
    if "--strip-sack" in opts:
        if sout:
            fail("%s: SACK blocks left: %s" % (out, sout))
        sin = []
    elif sin != sout:
        fail("relative SACK blocks changed: %s -> %s" % (sin, sout))
    ok("%s: %d directions start at 2^32-K, %d of them wrap; %d SACK blocks consistent" %
       (out, len(syn), len(need), len(sin)))


def cmd_nosyn(pcap):
    rows = fields(pcap, ["frame.number"], ["-Y", "tcp.flags.syn == 1"])
    if rows:
        fail("%s: frame %s is a SYN" % (pcap, rows[0]["frame.number"]))
    ok("%s: no SYN packets" % pcap)


def cmd_drop(inp, out, report):
    drops = report_lines(report, "drop")
    if not drops:
        fail("report %s lists no dropped segment" % report)
    want = Counter((k, seq, n) for k, seq, n, _, _ in data_segments(inp))
    for d in drops:
        src, dst = (d["client"], d["server"]) if d["dir"] == "c2s" else (d["server"], d["client"])
        key = ("%s>%s" % (norm_ep(src), norm_ep(dst)), d["offset"] + 1, d["len"])
        if want[key] <= 0:
            fail("dropped segment %s is not a data segment of %s" % (key, inp))
        want[key] -= 1
    got = Counter((k, seq, n) for k, seq, n, _, _ in data_segments(out))
    if +want != got:
        fail("data segments of %s are not those of %s minus the %d reported drops" % (out, inp, len(drops)))
    ok("%s: exactly the %d reported segments are missing" % (out, len(drops)))


def cmd_truncated(inp, out, report):
    defects = {d["packet"]: d["defect"] for d in report_lines(report, "truncate-packets") if "packet" in d}
    kinds = {"link-hdr-cut", "ipv4-hdr-cut", "ipv4-ihl-lt-5", "tcp-hdr-cut", "tcp-doff-lt-5",
             "ip-len-gt-caplen", "ip-len-gt-frame", "ipv6-ext-cut"}
    if set(defects.values()) != kinds:
        fail("defect kinds reported: %s" % sorted(set(defects.values())))
    names = ["frame.number", "frame.len", "frame.cap_len", "tcp.len", "tcp.seq_raw", "_ws.malformed",
             "_ws.expert.severity", "ip.hdr_len", "tcp.hdr_len"]
    a, b = fields(inp, names), fields(out, names)
    if len(a) != len(b):
        fail("%s has %d frames, %s has %d" % (out, len(b), inp, len(a)))
    for ra, rb in zip(a, b):
        n = int(rb["frame.number"])
        if n in defects:
            # tshark must see something wrong: a short capture, a malformed or
            # expert-flagged packet, or no TCP payload where there was one
            flagged = (int(rb["frame.cap_len"]) < int(rb["frame.len"]) or rb["_ws.malformed"]
                       or any(s and int(s, 0) >= 0x00600000 for s in rb["_ws.expert.severity"].split(","))
                       or rb["tcp.len"] != ra["tcp.len"])
            if not flagged:
                fail("frame %d (%s) looks fine to tshark" % (n, defects[n]))
        else:
            for f in ("frame.len", "tcp.len", "tcp.seq_raw"):
                if ra[f] != rb[f]:
                    fail("untouched frame %d changed: %s %s -> %s" % (n, f, ra[f], rb[f]))
    ok("%s: %d damaged packets (%s) flagged by tshark, the other %d intact" %
       (out, len(defects), ", ".join("%d:%s" % kv for kv in sorted(defects.items())), len(a) - len(defects)))


def cmd_times(a, b):
    ta = [r["frame.time_epoch"] for r in fields(a, ["frame.time_epoch"], ["-Y", "ip or ipv6"])]
    tb = [r["frame.time_epoch"] for r in fields(b, ["frame.time_epoch"], ["-Y", "ip or ipv6"])]
    if ta != tb:
        bad = next(i for i in range(min(len(ta), len(tb))) if ta[i] != tb[i]) if ta[:len(tb)] != tb[:len(ta)] else min(len(ta), len(tb))
        fail("timestamps of IP frames differ (first at IP frame %d)" % (bad + 1))
    ok("%s and %s: %d IP frames with identical timestamps" % (a, b, len(ta)))


def cmd_snaplen(ref, pcap, n):
    a = fields(ref, ["frame.len"])
    b = fields(pcap, ["frame.len", "frame.cap_len"])
    if [r["frame.len"] for r in a] != [r["frame.len"] for r in b]:
        fail("%s: original lengths changed" % pcap)
    if any(int(r["frame.cap_len"]) != min(int(r["frame.len"]), int(n)) for r in b):
        fail("%s: a record's caplen is not min(len, %s)" % (pcap, n))
    ok("%s: %d records cut to %s bytes, original lengths kept" % (pcap, len(b), n))


def cmd_corrupt(mode, base, pcap, report):
    """Checks a 'corrupt' output against the undamaged BASE and its report."""
    rep = report_lines(report, "corrupt")
    if len(rep) != 1 or rep[0]["mode"] != mode:
        fail("%s: report lacks the corrupt line for %s" % (report, mode))
    rep = rep[0]
    data, orig = open(pcap, "rb").read(), open(base, "rb").read()
    p = subprocess.run(["tshark", "-n", "-r", pcap, "-T", "fields", "-e", "frame.number",
                        "-e", "frame.len", "-e", "frame.cap_len"], capture_output=True, text=True)
    frames = [l.split("\t") for l in p.stdout.splitlines()]
    nbase = len(fields(base, ["frame.number"]))
    rec = rep.get("record")
    if mode == "empty":
        good = data == b""
    elif mode == "header-only":
        good = data == orig[:24] and p.returncode == 0 and not frames
    elif mode == "bad-magic":
        good = (len(data) == len(orig) and data[:4] != orig[:4] and data[4:] == orig[4:]
                and p.returncode != 0 and "format" in p.stderr)
    elif mode == "garbage":
        good = data[:24] == orig[:24] and len(data) == rep["size"] and data[24:] != orig[24:len(data)]
    elif mode in ("truncate-record", "truncate-header"):
        good = (p.returncode != 0 and "cut short" in p.stderr and len(frames) == rec - 1
                and orig.startswith(data) and len(data) < len(orig))
    elif mode == "huge-caplen":
        good = p.returncode != 0 and len(frames) == rec - 1 and "bigger than maximum" in p.stderr
    elif mode == "caplen-gt-len":
        good = (p.returncode == 0 and len(frames) == nbase and len(data) == len(orig)
                and int(frames[rec - 1][2]) > int(frames[rec - 1][1]))
    else:
        fail("unknown mode " + mode)
    if not good:
        fail("%s (%s): not damaged as described: tshark rc %d, %d frames, %s" %
             (pcap, mode, p.returncode, len(frames), p.stderr.strip()[-200:]))
    ok("%s: %s as reported (record %s); tshark: rc %d, %d frames" %
       (pcap, mode, rec, p.returncode, len(frames)))


def cmd_truth_equal(a, b):
    ca, cb = json.load(open(a))["connections"], json.load(open(b))["connections"]
    if ca != cb:
        fail("%s and %s describe different connections/streams" % (a, b))
    ok("%s and %s: the same %d connections and streams" % (a, b, len(ca)))


def cmd_linkinfo(pcap, linktype, nano=None):
    h = open(pcap, "rb").read(24)
    magic, lt = struct.unpack("<I", h[:4])[0], struct.unpack("<I", h[20:24])[0]
    want_magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    if magic != want_magic or lt != int(linktype):
        fail("%s: magic %08x linktype %d, wanted %08x %s" % (pcap, magic, lt, want_magic, linktype))
    ok("%s: linktype %d, %s timestamps" % (pcap, lt, "nano" if nano else "micro"))


CMDS = {
    "streams": cmd_streams, "same": cmd_same, "checksums": cmd_checksums, "protocols": cmd_protocols,
    "count": cmd_count, "maxseg": cmd_maxseg, "more-segments": cmd_more_segments,
    "fragments": cmd_fragments, "ipopts": cmd_ipopts, "timeorder": cmd_timeorder,
    "reordered": cmd_reordered, "retrans": cmd_retrans, "seqwrap": cmd_seqwrap, "nosyn": cmd_nosyn,
    "drop": cmd_drop, "truncated": cmd_truncated, "linkinfo": cmd_linkinfo, "times": cmd_times,
    "snaplen": cmd_snaplen, "corrupt": cmd_corrupt, "truth-equal": cmd_truth_equal,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in CMDS:
        print(__doc__)
        sys.exit(2)
    CMDS[sys.argv[1]](*sys.argv[2:])
