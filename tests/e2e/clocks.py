"""Clocks that jump: real captures (samples/ws-*.pcap, whose endpoints
logged every message) with their timestamps rewritten: one packet 1 ms
earlier than the one before, one packet an hour in the past, every packet
from the middle on a second (and an hour) earlier, one packet at the epoch.
Every message must still be what the endpoints logged, with no invented
gap and no connection ended by a timeout; each message's time must be the
time of a packet in the rewritten file (times are reported as captured);
a step back of a second or more is warned once (clock_backwards)."""
import json
import os
import struct
import subprocess


def read_pcap(path):
    with open(path, "rb") as f:
        buf = f.read()
    magic = struct.unpack("<I", buf[:4])[0]
    if magic in (0xa1b2c3d4, 0xa1b23c4d):
        e = "<"
    else:
        e = ">"
    nano = struct.unpack(e + "I", buf[:4])[0] == 0xa1b23c4d
    hdr, pkts, off = buf[:24], [], 24
    while off + 16 <= len(buf):
        sec, frac, incl, orig = struct.unpack(e + "IIII", buf[off:off + 16])
        pkts.append([sec, frac, orig, buf[off + 16:off + 16 + incl]])
        off += 16 + incl
    return e, nano, hdr, pkts


def write_pcap(path, e, hdr, pkts):
    with open(path, "wb") as f:
        f.write(hdr)
        for sec, frac, orig, data in pkts:
            f.write(struct.pack(e + "IIII", sec, frac, len(data), orig))
            f.write(data)


def shift(p, nano, delta_ns):
    unit = 1 if nano else 1000
    t = p[0] * 1000000000 + p[1] * unit + delta_ns
    t = max(t, 0)
    p[0], p[1] = t // 1000000000, (t % 1000000000) // unit


def variants(pkts, nano):
    n = len(pkts)
    mid = n // 2

    def one_ms_back(ps):
        # packet mid stamped 1 ms before the packet before it
        prev = ps[mid - 1]
        unit = 1 if nano else 1000
        t = prev[0] * 1000000000 + prev[1] * unit - 1000000
        ps[mid][0], ps[mid][1] = t // 1000000000, (t % 1000000000) // unit

    def one_hour_back_one(ps):
        shift(ps[mid], nano, -3600 * 10**9)

    def step_back(delta):
        def f(ps):
            for p in ps[mid:]:
                shift(p, nano, -delta)
        return f

    def epoch(ps):
        ps[mid][0], ps[mid][1] = 0, 0

    return [("one packet 1 ms before the one before it", one_ms_back),
            ("one packet an hour in the past", one_hour_back_one),
            ("every packet from the middle on 1 s earlier", step_back(10**9)),
            ("every packet from the middle on 2 s earlier", step_back(2 * 10**9)),
            ("every packet from the middle on an hour earlier", step_back(3600 * 10**9)),
            ("one packet at the epoch", epoch)]


def message_ends(path):
    """(server port side, frame number) of every WebSocket frame with FIN
    set, as tshark reassembles them: the packet that carried each message's
    last byte, per direction (by source port)."""
    out = subprocess.run(["tshark", "-r", path, "-Y", "websocket", "-T", "fields", "-e", "frame.number",
                          "-e", "tcp.srcport", "-e", "websocket.fin"], capture_output=True, text=True,
                         timeout=120).stdout
    ends = {}
    for line in out.splitlines():
        n, port, fins = line.split("\t")
        for fin in fins.split(","):
            if fin in ("1", "True"):
                ends.setdefault(int(port), []).append(int(n))
    return ends


def loss_times(e2e, d):
    """editcap drops one segment of a message in the middle of ws-python.pcap:
    every later message is still reported at the packet that carried its
    last byte (tshark's reassembly of the original file, renumbered), with
    that packet's time, and records come out with those times."""
    src = os.path.join(e2e.TOP, "samples", "ws-python.pcap")
    e, nano, hdr, pkts = read_pcap(src)
    unit = 1 if nano else 1000
    ends = message_ends(src)
    for drop in (51, 52):
        out = os.path.join(d, "lossy-%d.pcap" % drop)
        p = subprocess.run(["editcap", src, out, str(drop)], capture_output=True, text=True)
        if p.returncode != 0:
            e2e.case("editcap drops packet %d" % drop, False, p.stderr)
            continue
        # the original frame numbers, as numbered in the lossy file
        want = {port: set(n - (n > drop) for n in ns if n != drop) for port, ns in ends.items()}
        times = [round(s + f * unit / 1e9, 6) for s, f, _, _ in pkts]
        del times[drop - 1]
        q = subprocess.run([e2e.WSCOPE, "-r", out, "--json"], capture_output=True, text=True, timeout=120)
        recs = [json.loads(line) for line in q.stdout.splitlines()]
        conns = {r["id"]: r for r in recs if r["type"] == "connection"}
        errs, checked = [], 0
        for r in recs:
            if r["type"] != "message" or r.get("gap"):
                continue
            c = conns[r["conn"]]
            port = c["client"]["port"] if r["dir"] == "c2s" else c["server"]["port"]
            if r["packet"] not in want.get(port, ()):
                errs.append("%s message at packet %d: not a packet where a message ends" % (r["dir"], r["packet"]))
            elif round(r["ts"], 6) != times[r["packet"] - 1]:
                errs.append("message at packet %d: ts %s, the packet's %s" % (r["packet"], r["ts"],
                                                                               times[r["packet"] - 1]))
            checked += 1
        # and in capture order: per connection, each message is written
        # after the messages of earlier packets, both directions together
        last = {}
        for r in recs:
            if r["type"] == "message" and not r.get("gap") and r.get("packet"):
                if r["packet"] < last.get(r["conn"], 0):
                    errs.append("conn %d: a message of packet %d written after one of packet %d" % (
                        r["conn"], r["packet"], last[r["conn"]]))
                last[r["conn"]] = max(last.get(r["conn"], 0), r["packet"])
        e2e.case("a segment dropped (editcap ws-python.pcap, packet %d): each of the %d messages reported whole is "
                 "at the packet that carried its last byte (tshark on the original), with its time, written in "
                 "capture order across both directions" % (drop, checked),
                 q.returncode == 0 and checked > 0 and not errs, "; ".join(errs[:4]))


def run(e2e):
    d = os.path.join(e2e.TMP, "clocks")
    os.makedirs(d, exist_ok=True)
    loss_times(e2e, d)
    for name in ("ws-python", "ws-node"):
        src = os.path.join(e2e.TOP, "samples", name + ".pcap")
        log = os.path.join(e2e.TOP, "samples", name + ".endpoints.jsonl.gz")
        e, nano, hdr, pkts0 = read_pcap(src)
        for what, fn in variants(pkts0, nano):
            pkts = [list(p) for p in pkts0]
            fn(pkts)
            # warned when a packet is a second or more before the latest
            # time seen so far (jitter below that is not)
            unit = 1 if nano else 1000
            latest, warned = None, False
            for sec, frac, _, _ in pkts:
                t = sec * 10**9 + frac * unit
                if latest is not None and latest - t >= 10**9:
                    warned = True
                latest = t if latest is None else max(latest, t)
            out = os.path.join(d, "%s-%d.pcap" % (name, abs(hash(what)) % 10**6))
            write_pcap(out, e, hdr, pkts)
            res = e2e.compare_messages(out, log, allow_warnings=("clock_backwards",))
            errs = []
            if res is None:
                errs.append("wscope failed")
                res = (["-"], 0)
            errs += res[0]
            p = subprocess.run([e2e.WSCOPE, "-r", out, "--json"], capture_output=True, text=True, timeout=120)
            recs = [json.loads(line) for line in p.stdout.splitlines()]
            unit = 1 if nano else 1000
            times = set(round(s + f * unit / 1e9, 6) for s, f, _, _ in pkts)
            bad_ts = [r for r in recs if r["type"] == "message" and round(r["ts"], 6) not in times]
            if bad_ts:
                errs.append("%d messages with a time no packet has, first %s" % (len(bad_ts), bad_ts[0]["ts"]))
            ends = [r["reason"] for r in recs if r["type"] == "end"]
            if "timeout" in ends:
                errs.append("ends %s" % ends)
            gaps = [r for r in recs if r["type"] == "warning" and r["code"] in ("tcp_gap", "ws_gap")]
            if gaps:
                errs.append("invented loss: %s" % gaps[0]["msg"])
            nwarn = sum(1 for r in recs if r["type"] == "warning" and r["code"] == "clock_backwards")
            if nwarn != (1 if warned else 0):
                errs.append("%d clock_backwards warnings, want %d" % (nwarn, 1 if warned else 0))
            e2e.case("clock: %s (%s): every message as the endpoints logged it (%d), with its packet's time, "
                     "no invented gap or timeout%s" % (what, name, res[1], ", warned once" if warned else ""),
                     not errs, "; ".join(errs)[:600])
