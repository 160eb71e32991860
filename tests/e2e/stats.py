"""--stats: checked against the truth of each sample.

Message counts, bytes per opcode and the size percentiles (nearest rank
over the text and binary messages) against what each endpoint logged it
sent; ping round trips against the capture's own packets as tshark reads
them (a ping's frame time to the time of the pong with the same payload
from the other side); compressed bytes against the NDJSON of the same run.
Also where the table goes, and that --filter narrows what is counted.
"""
import base64
import json
import math
import os
import re
import subprocess

OPS = ("text", "binary", "ping", "pong", "close")


def nearest_rank(vals, q):
    if not vals:
        return None     # no sizes, not sizes of 0
    v = sorted(vals)
    r = max(1, min(len(v), math.ceil(q * len(v) - 1e-9)))
    return v[r - 1]


def tshark_rtts(pcap, keys):
    """Per tcp.stream, per pinging direction: the round trips (s) of pings
    answered by a pong with the same payload, oldest ping first."""
    args = ["tshark", "-r", pcap, "-Y", "websocket.opcode == 9 || websocket.opcode == 10", "-T", "fields",
            "-e", "frame.time_epoch", "-e", "tcp.stream", "-e", "websocket.opcode", "-e", "websocket.mask",
            "-e", "websocket.payload.ping", "-e", "websocket.payload.pong", "-e", "tcp.srcport",
            "-e", "websocket.payload_length"]
    if keys:
        args[3:3] = ["-o", "tls.keylog_file:" + keys]
    p = subprocess.run(args, capture_output=True, text=True, timeout=120)
    pend, rtts, cport = {}, {}, {}
    for line in p.stdout.splitlines():
        f = line.split("\t")
        if len(f) < 8:
            continue
        lens = [int(x) for x in f[7].split(",") if x]
        t = float(f[0])
        st = int(f[1])
        ops = [int(x) for x in f[2].split(",") if x]
        masks = [x == "1" for x in f[3].split(",") if x]
        pings = [x for x in f[4].split(",") if x] if f[4] else []
        pongs = [x for x in f[5].split(",") if x] if f[5] else []
        for i, op in enumerate(ops):
            c2s = masks[i] if i < len(masks) else False
            if c2s:
                cport[st] = int(f[6])
            d = "c2s" if c2s else "s2c"
            # tshark gives no payload field for an empty one
            empty = i < len(lens) and lens[i] == 0
            if op == 9:
                pend.setdefault((st, d), []).append((t, "" if empty or not pings else pings.pop(0)))
            elif op == 10:
                pl = "" if empty or not pongs else pongs.pop(0)
                other = "s2c" if d == "c2s" else "c2s"
                q = pend.get((st, other), [])
                for k, (t0, ppl) in enumerate(q):
                    if ppl == pl:
                        rtts.setdefault((st, other), []).append(t - t0)
                        del q[k]
                        break
    return rtts, cport


def run(e2e):
    d = os.path.join(e2e.TMP, "stats")
    os.makedirs(d, exist_ok=True)
    for pcap, log in e2e.samples():
        keys = pcap.rsplit(".", 1)[0] + ".keys"
        keys = keys if os.path.exists(keys) else None
        conns, sent = e2e.endpoint_sent(log)
        if not sent:
            continue
        rc, recs, bad, se = e2e.wscope_json(pcap, ["--stats"] + (["--keylog", keys] if keys else []))
        name = os.path.basename(pcap)
        st = {r["conn"]: r for r in recs if r["type"] == "stats"}
        crec = {(r["client"]["ip"], r["client"]["port"]): r for r in recs if r["type"] == "connection"}
        errors = []
        if rc != 0 or bad or None not in st:
            errors.append("exit %d, %d bad lines, %d stats records" % (rc, bad, len(st)))
        if recs and recs[-1]["type"] != "stats":
            errors.append("the stats records are not last")
        allsizes = {"c2s": [], "s2c": []}
        for k, c in sorted(conns.items()):
            cr = crec.get((c["client"]["ip"], c["client"]["port"]))
            if cr is None or cr["id"] not in st:
                if (k, "c2s") in sent or (k, "s2c") in sent:
                    errors.append("conn %d: no stats record" % k)
                continue
            s = st[cr["id"]]
            for dn in ("c2s", "s2c"):
                w = sent.get((k, dn), [])
                g = s[dn]
                sizes = [m["len"] for m in w if m["opcode"] in ("text", "binary")]
                allsizes[dn] += sizes
                want = {"messages": len(w), "bytes": sum(m["len"] for m in w),
                        "p50": nearest_rank(sizes, .5), "p90": nearest_rank(sizes, .9),
                        "p99": nearest_rank(sizes, .99), "max": max(sizes) if sizes else None}
                got = {"messages": g["messages"], "bytes": g["bytes"], "p50": g["size"]["p50"],
                       "p90": g["size"]["p90"], "p99": g["size"]["p99"], "max": g["size"]["max"]}
                for op in OPS:
                    n = sum(1 for m in w if m["opcode"] == op)
                    want[op] = n
                    got[op] = g["opcodes"].get(op, {}).get("messages", 0)
                if want != got:
                    errors.append("conn %d %s: %s, endpoint %s" % (k, dn, got, want))
                # compressed bytes: the NDJSON's own message records
                ms = [r for r in recs if r["type"] == "message" and r["conn"] == cr["id"] and r["dir"] == dn and
                      r["compressed"] and not r.get("inflate_failed")]
                zw = sum(r["wire_length"] for r in ms)
                if (g["compressed"]["messages"], g["compressed"]["wire_bytes"]) != (len(ms), zw):
                    errors.append("conn %d %s: compressed %s, NDJSON %d messages %d wire bytes" % (
                        k, dn, g["compressed"], len(ms), zw))
        for dn in ("c2s", "s2c"):
            s = st.get(None, {}).get(dn, {}).get("size", {})
            want = [nearest_rank(allsizes[dn], q) for q in (.5, .9, .99)]
            if [s.get("p50"), s.get("p90"), s.get("p99")] != want:
                errors.append("all %s: sizes %s, endpoints %s" % (dn, s, want))
        e2e.case("%s --stats: per connection and in all, messages, bytes, opcodes and size p50/p90/p99/max as "
                 "the endpoints sent them; compressed bytes as the NDJSON's" % name, not errors,
                 "; ".join(errors[:4]))
        # ping round trips against the packets
        rtts, cport = tshark_rtts(pcap, keys)
        errors = []
        n = 0
        for stream, port in sorted(cport.items()):
            cr = next((r for r in recs if r["type"] == "connection" and r["client"]["port"] == port), None)
            if cr is None or cr["id"] not in st:
                continue
            for dn in ("c2s", "s2c"):
                v = rtts.get((stream, dn), [])
                g = st[cr["id"]][dn]["ping"]
                if len(v) != g["answered"]:
                    errors.append("conn %d %s: %d pings answered, tshark %d" % (cr["id"], dn, g["answered"], len(v)))
                    continue
                if not v:
                    continue
                n += len(v)
                want = {"rtt_min": min(v), "rtt_median": nearest_rank(v, .5), "rtt_p99": nearest_rank(v, .99),
                        "rtt_max": max(v)}
                for key, val in want.items():
                    if abs(g[key] - val) > 2e-6:
                        errors.append("conn %d %s %s: %.9f, packets %.9f" % (cr["id"], dn, key, g[key], val))
        if cport:
            e2e.case("%s --stats: %d ping round trips (min, median, p99, max) as the capture's packets give them "
                     "(tshark)" % (name, n), not errors and n > 0, "; ".join(errors[:4]))

    py = os.path.join(e2e.TOP, "samples", "ws-python.pcap")
    rc, so, se = e2e.run_wscope(["-r", py, "--stats"])
    lines = so.splitlines()
    e2e.case("--stats alone: the table on standard output (header, a block per connection, 'all'), no "
             "transcript", rc == 0 and lines[:1] and lines[0].startswith("# wscope stats of ") and
             any(x.startswith("all 2 connections") for x in lines) and not any("transcript" in x for x in lines),
             so[:300])
    rc, so, se = e2e.run_wscope(["-r", py, "--stats", "--json"])
    e2e.case("--stats --json: records on standard output, the table on standard error",
             rc == 0 and "# wscope stats of" in se and "# wscope stats" not in so and '"type":"stats"' in so, se[:200])
    rc, recs, bad, se = e2e.wscope_json(py, ["--stats", "--filter", "c2s"])
    al = [r for r in recs if r["type"] == "stats" and r["conn"] is None]
    e2e.case("--stats --filter c2s: only client messages counted",
             rc == 0 and al and al[0]["s2c"]["messages"] == 0 and al[0]["c2s"]["messages"] ==
             sum(1 for r in recs if r["type"] == "message"), al[:1])
