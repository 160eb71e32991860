"""pcapng as it is found: files libpcap refuses, read by wscope's own reader.

- samples/wss-2if.pcapng (dumpcap on lo and any at once: Ethernet and
  Linux cooked interfaces, every packet twice): every message as the
  endpoints logged it, and each message's packet number is a frame of that
  number in tshark, with the same time (numbers are Wireshark's).
- mergecap of two samples with different link types, snaplens and time
  resolutions: the streams and messages of both, as their endpoints logged.
- A file written here block by block: a big-endian section and a
  little-endian one, interfaces with nanosecond, microsecond and 2^-30 s
  resolutions and an if_tsoffset, simple and obsolete packet blocks and
  unknown blocks between them: every message, with its original time.
- editcap --inject-secrets: a wss capture that carries its own key log is
  decrypted with no --keylog (and its NDJSON is created 0600).
- Corruption: lengths that disagree, a block cut off, a packet of an
  interface never described: status 1, the offset named, what came before
  still reported.
"""
import json
import os
import shutil
import stat
import struct
import subprocess

import clocks


def wscope_json(e2e, path, extra=()):
    p = subprocess.run([e2e.WSCOPE, "-r", path, "--json"] + list(extra), capture_output=True, text=True,
                       timeout=120)
    recs = []
    for line in p.stdout.splitlines():
        try:
            recs.append(json.loads(line))
        except ValueError:
            pass
    return p.returncode, recs, p.stderr


def tshark_frames(path, keys=None):
    """frame number -> epoch time string, as tshark reads the file."""
    args = ["tshark", "-r", path, "-T", "fields", "-e", "frame.number", "-e", "frame.time_epoch"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120).stdout
    res = {}
    for line in out.splitlines():
        n, t = line.split("\t")
        res[int(n)] = float(t)
    return res


# ---- a pcapng writer (for the hand-made file) ----

def _opt(e, code, val):
    pad = (4 - len(val) % 4) % 4
    return struct.pack(e + "HH", code, len(val)) + val + b"\0" * pad


def _block(e, btype, body):
    n = 12 + len(body)
    return struct.pack(e + "II", btype, n) + body + struct.pack(e + "I", n)


def shb(e):
    body = struct.pack(e + "IHHq", 0x1a2b3c4d, 1, 0, -1) + _opt(e, 0, b"")
    return _block(e, 0x0a0d0d0a, body)


def idb(e, linktype, snaplen, resol=None, offset=None):
    opts = b""
    if resol is not None:
        opts += _opt(e, 9, bytes([resol]))
    if offset is not None:
        opts += _opt(e, 14, struct.pack(e + "q", offset))
    opts += _opt(e, 0, b"")
    return _block(e, 1, struct.pack(e + "HHI", linktype, 0, snaplen) + opts)


def units(ns, resol, offset):
    ns -= offset * 10**9
    if resol & 0x80:
        return (ns << (resol & 0x7f)) // 10**9
    return ns * 10**(resol or 6) // 10**9


def epb(e, iface, u, data, orig):
    pad = (4 - len(data) % 4) % 4
    body = struct.pack(e + "IIIII", iface, u >> 32, u & 0xffffffff, len(data), orig) + data + b"\0" * pad
    return _block(e, 6, body)


def opb(e, iface, u, data, orig):
    pad = (4 - len(data) % 4) % 4
    body = struct.pack(e + "HHIIII", iface, 0, u >> 32, u & 0xffffffff, len(data), orig) + data + b"\0" * pad
    return _block(e, 2, body)


def unknown(e):
    return _block(e, 0x0badcafe, b"not a block wscope knows" + b"\0" * 4)


def handmade(e2e, out):
    """Two sections: ws-python big-endian (interfaces in ns and 2^-30 s,
    EPB and OPB alternating, an unknown block every 10 packets), then
    ws-node little-endian (microseconds with an if_tsoffset). Returns the
    original time of each packet, in file order."""
    parts, times = [], []
    for name, e, ifs in (("ws-python", ">", [(9, None), (0x9e, None)]),
                         ("ws-node", "<", [(6, 1700000000)])):
        en, nano, hdr, pkts = clocks.read_pcap(os.path.join(e2e.TOP, "samples", name + ".pcap"))
        unit = 1 if nano else 1000
        parts.append(shb(e))
        for resol, off in ifs:
            parts.append(idb(e, 1, 262144, resol, off))
        for i, (sec, frac, orig, data) in enumerate(pkts):
            ns = sec * 10**9 + frac * unit
            k = i % len(ifs)
            resol, off = ifs[k]
            u = units(ns, resol, off or 0)
            parts.append((opb if i % 3 == 1 else epb)(e, k, u, data, orig))
            # what the file says, back in seconds (2^-30 s loses some ns)
            if resol & 0x80:
                t = u * 10**9 // (1 << (resol & 0x7f))
            else:
                t = u * 10**9 // 10**resol
            times.append(t / 1e9 + (off or 0))
            if i % 10 == 0:
                parts.append(unknown(e))
    with open(out, "wb") as f:
        f.write(b"".join(parts))
    return times


def run(e2e):
    d = os.path.join(e2e.TMP, "pcapng")
    os.makedirs(d, exist_ok=True)
    S = os.path.join(e2e.TOP, "samples")

    # 1. dumpcap on two interfaces
    two = os.path.join(S, "wss-2if.pcapng")
    rc, recs, se = wscope_json(e2e, two, ["--keylog", os.path.join(S, "wss-2if.keys")])
    res = e2e.compare_messages(two, os.path.join(S, "wss-2if.endpoints.jsonl.gz"),
                               extra=["--keylog", os.path.join(S, "wss-2if.keys")])
    errs = list(res[0]) if res else ["wscope failed"]
    frames = tshark_frames(two)
    for r in recs:
        if r["type"] == "message":
            t = frames.get(r.get("packet"))
            if t is None or abs(t - r["ts"]) > 1e-6:
                errs.append("message at packet %s ts %s; tshark's frame %s is at %s" % (
                    r.get("packet"), r["ts"], r.get("packet"), t))
                break
    e2e.case("pcapng from dumpcap on lo and any (Ethernet + Linux cooked, every packet twice): every message "
             "as the endpoints logged it (%d), each at its packet, numbered as tshark numbers frames" %
             (res[1] if res else 0), rc == 0 and not errs, "; ".join(errs)[:600] + se[-300:])

    # 2. mergecap of two link types, snaplens and resolutions
    merged = os.path.join(d, "merged.pcapng")
    m = subprocess.run(["mergecap", "-F", "pcapng", "-w", merged, os.path.join(S, "ws-node.pcap"),
                        os.path.join(S, "tcp-transfer-any-nano.pcap")], capture_output=True, text=True)
    errs = [] if m.returncode == 0 else ["mergecap: " + m.stderr]
    if not errs:
        for log in ("ws-node", "tcp-transfer-any-nano"):
            e, _, _ = e2e.compare_with_log(merged, os.path.join(S, log + ".endpoints.jsonl.gz"))
            errs += ["%s: %s" % (log, x) for x in e]
        res = e2e.compare_messages(merged, os.path.join(S, "ws-node.endpoints.jsonl.gz"))
        errs += res[0] if res else ["wscope failed"]
    e2e.case("mergecap of ws-node.pcap (Ethernet, microseconds) and tcp-transfer-any-nano.pcap (Linux cooked "
             "v2, nanoseconds): every stream and message of both, as their endpoints logged",
             not errs, "; ".join(errs)[:600])

    # 3. hand-made: sections of both byte orders, resolutions, offsets,
    # obsolete packet blocks, unknown blocks
    hm = os.path.join(d, "handmade.pcapng")
    times = handmade(e2e, hm)
    rc, recs, se = wscope_json(e2e, hm)
    errs = []
    got_msgs = [r for r in recs if r["type"] == "message"]
    want = 0
    for name in ("ws-python", "ws-node"):
        with e2e.open_log(os.path.join(S, name + ".endpoints.jsonl.gz")) as f:
            for line in f:
                r = json.loads(line)
                want += r["kind"] == "msg" and r["role"] == "sent"
        res = e2e.compare_messages(hm, os.path.join(S, name + ".endpoints.jsonl.gz"))
        errs += ["%s: %s" % (name, x) for x in (res[0] if res else ["wscope failed"])]

    if len(got_msgs) != want:
        errs.append("%d messages, the endpoints sent %d" % (len(got_msgs), want))
    for r in got_msgs:
        t = times[r["packet"] - 1] if 0 < r.get("packet", 0) <= len(times) else None
        if t is None or abs(t - r["ts"]) > 2e-6:
            errs.append("message at packet %s: ts %s, the file says %s" % (r.get("packet"), r["ts"], t))
            break
    warns = [r["code"] for r in recs if r["type"] == "warning"]
    if warns:
        errs.append("warnings %s" % warns[:5])
    e2e.case("pcapng with a big-endian and a little-endian section, ns / 2^-30 s / us interfaces, if_tsoffset, "
             "obsolete packet blocks and unknown blocks: all %d messages at their packets' times" % want,
             rc == 0 and not errs, "; ".join(errs)[:600] + se[-300:])

    # 3b. extreme times: ws-node's packets, the last one at 2^64 - 1
    # nanoseconds on an interface whose if_tsoffset is 2^63 - 1 seconds
    # (nothing may overflow: the time saturates), after the others
    en, nano, hdr, pkts = clocks.read_pcap(os.path.join(S, "ws-node.pcap"))
    unit = 1 if nano else 1000
    parts = [shb("<"), idb("<", 1, 262144, 9, None), idb("<", 1, 262144, 9, 2**63 - 1)]
    for i, (sec, frac, orig, data) in enumerate(pkts):
        last = i == len(pkts) - 1
        u = 2**64 - 1 if last else sec * 10**9 + frac * unit
        parts.append(epb("<", 1 if last else 0, u, data, orig))
    ext = os.path.join(d, "extreme.pcapng")
    with open(ext, "wb") as f:
        f.write(b"".join(parts))
    rc, recs, se = wscope_json(e2e, ext)
    res = e2e.compare_messages(ext, os.path.join(S, "ws-node.endpoints.jsonl.gz"),
                               allow_warnings=("clock_backwards",))
    errs = list(res[0]) if res else ["wscope failed"]
    big = [r for r in recs if r.get("ts", 0) > 9e18]
    e2e.case("pcapng with a packet at 2^64-1 ns on an interface offset by 2^63-1 s: no overflow (status 0, "
             "valid JSON, the time saturated), every message as the endpoints logged it",
             rc == 0 and not errs and "runtime error" not in se and len(recs) > 0,
             "; ".join(errs)[:400] + " | %d records past 9e18 s | %s" % (len(big), se[-300:]))

    # 4. a capture that carries its own key log
    inj = os.path.join(d, "wss-tls13-secrets.pcapng")
    m = subprocess.run(["editcap", "--inject-secrets", "tls," + os.path.join(S, "wss-tls13.keys"),
                        os.path.join(S, "wss-tls13.pcap"), inj], capture_output=True, text=True)
    env = dict(os.environ)
    env.pop("SSLKEYLOGFILE", None)
    res = e2e.compare_messages(inj, os.path.join(S, "wss-tls13.endpoints.jsonl.gz")) if m.returncode == 0 else None
    out = os.path.join(d, "inj.ndjson")
    p = subprocess.run([e2e.WSCOPE, "-r", inj, "--json=" + out, "-q"], capture_output=True, env=env)
    mode = stat.S_IMODE(os.stat(out).st_mode) if os.path.exists(out) else None
    e2e.case("editcap --inject-secrets: the capture's own key log decrypts it with no --keylog (every message "
             "as the endpoints logged it); --json=PATH is created 0600 (is %s)" % (oct(mode) if mode else None),
             m.returncode == 0 and res is not None and not res[0] and res[1] > 0 and mode == 0o600 and
             p.returncode == 0, (m.stderr + "; ".join(res[0] if res else []))[:600])

    # 5. corruption
    with open(hm, "rb") as f:
        good = f.read()
    cases = []
    bad = bytearray(good)
    # the trailing length of the 40th block changed
    off, k = 0, 0
    while k < 40:
        e = ">" if good[8:12] == b"\x1a\x2b\x3c\x4d" else "<"
        n = struct.unpack(e + "I", good[off + 4:off + 8])[0]
        off += n
        k += 1
    bad[off - 4:off] = b"\x00\x00\x10\x00"
    cases.append(("two lengths that disagree", bytes(bad), "lengths differ"))
    cases.append(("cut off in a block", good[:len(good) // 2 + 3], "cut off"))
    bad2 = bytearray(good)
    # the first packet block's interface id set to 7 (none described)
    first_epb = good.find(struct.pack(">I", 6), 28)
    bad2[first_epb + 8:first_epb + 12] = struct.pack(">I", 7)
    cases.append(("a packet of an interface never described", bytes(bad2), "interface 7"))
    for what, data, needle in cases:
        path = os.path.join(d, "bad.pcapng")
        with open(path, "wb") as f:
            f.write(data)
        rc, recs, se = wscope_json(e2e, path)
        e2e.case("pcapng %s: status 1, the offset and what is wrong named, the summary printed" % what,
                 rc == 1 and needle in se and "offset" in se and "packets" in se, se[-400:])
    shutil.rmtree(d, ignore_errors=True)
