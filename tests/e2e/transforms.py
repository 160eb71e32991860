"""Transformed captures: the real samples rewritten by tests/gen/pcaptool.py
must still give exactly the endpoints' streams and messages (lossless
transformations), or exactly the documented gaps and warnings (lossy ones).
"""
import json
import os
import subprocess

LOSSLESS = [
    ("relink vlan", ["relink", "--to", "vlan"]),
    ("relink qinq", ["relink", "--to", "qinq"]),
    ("relink sll", ["relink", "--to", "sll"]),
    ("relink sll2", ["relink", "--to", "sll2"]),
    ("relink null (AF_INET6=30)", ["relink", "--to", "null", "--af6", "30"]),
    ("relink null (AF_INET6=10)", ["relink", "--to", "null", "--af6", "10"]),
    ("relink loop (AF_INET6=24)", ["relink", "--to", "loop", "--af6", "24"]),
    ("relink raw", ["relink", "--to", "raw"]),
    ("ip options and ipv6 extension headers", ["ipopts"]),
    ("ip fragments, shuffled, duplicated", ["fragment", "--mtu", "576", "--shuffle", "--dup-frag", "0.2"]),
    ("resegment into 1..300 byte pieces", ["resegment", "--max", "300"]),
    ("reorder within 12 packets", ["resegment", "--max", "1500", "+", "reorder", "--window", "12"]),
    ("duplicates", ["duplicate", "--prob", "0.3"]),
    ("overlapping retransmissions", ["resegment", "--max", "2000", "+", "overlap", "--prob", "0.3"]),
    ("sequence numbers across 2^32", ["seqshift", "--to-wrap"]),
    ("no SYN (mid-stream pick-up)", ["strip-syn"]),
    ("everything at once", ["seqshift", "--to-wrap", "+", "resegment", "--max", "700", "+",
                            "duplicate", "--prob", "0.1", "+", "overlap", "--prob", "0.1", "+",
                            "reorder", "--window", "6", "+", "ipopts", "+",
                            "fragment", "--mtu", "900", "--shuffle", "+", "relink", "--to", "qinq"]),
    ("first copy wins over differing overlaps", ["resegment", "--max", "2000", "+",
                                                  "overlap", "--prob", "0.3", "--differ"]),
]

DEFECT_CODE = {
    "link-hdr-cut": "short_link_header",
    "ipv4-hdr-cut": "short_ip_header",
    "ipv4-ihl-lt-5": "bad_ip_header",
    "tcp-hdr-cut": "short_tcp_header",
    "tcp-doff-lt-5": "bad_tcp_header",
    "ip-len-gt-caplen": "snaplen_truncated",
    "ip-len-gt-frame": "bad_ip_header",
    "ipv6-ext-cut": "short_ip_header",
}


def tool(e2e, src, ops, out, seed=1, extra_global=()):
    p = subprocess.run([e2e.PY, e2e.PCAPTOOL, "--seed", str(seed)] + list(extra_global) + [src, out] + ops,
                       capture_output=True, text=True)
    reports = []
    for line in p.stderr.splitlines():
        try:
            reports.append(json.loads(line))
        except ValueError:
            pass
    return p.returncode, reports, p.stderr


def run(e2e):
    if not os.path.exists(e2e.PCAPTOOL):
        e2e.case("pcaptool present", False, e2e.PCAPTOOL + " missing")
        return
    S = os.path.join(e2e.TOP, "samples")
    bases = ["tcp-transfer", "ws-node", "ws-python", "ws-chromium", "ws-misc"]
    for name, ops in LOSSLESS:
        for b in bases:
            src = os.path.join(S, b + ".pcap")
            log = os.path.join(S, b + ".endpoints.jsonl.gz")
            out = os.path.join(e2e.TMP, "t.pcap")
            rc, rep, err = tool(e2e, src, ops, out, seed=7)
            if rc != 0:
                e2e.case("%s: %s" % (b, name), False, "pcaptool failed: " + err[-300:])
                continue
            errors, se, index = e2e.compare_with_log(out, log, empty_may_vanish=name.startswith("no SYN"))
            if b.startswith("ws"):
                res = e2e.compare_messages(out, log, allow_warnings=("tcp_overlap_differs",))
                if res is not None:
                    errors += res[0]
            e2e.case("%s: %s: streams%s match the endpoint logs" % (
                b, name, " and messages" if b.startswith("ws") else ""), not errors, "; ".join(errors[:4]))

    # nanosecond output keeps 9 digits and the same streams
    out = os.path.join(e2e.TMP, "nano.pcap")
    tool(e2e, os.path.join(S, "ws-node.pcap"), [], out, extra_global=["--nano"])
    rc, recs, bad, se = e2e.wscope_json(out)
    ts = [r["ts"] for r in recs if r["type"] == "message"]
    rc2, so, se2 = e2e.run_wscope(["-r", out, "--json"])
    digits = [l.split('"ts":')[1].split(",")[0].split(".")[1] for l in so.splitlines() if '"ts":' in l]
    e2e.case("nanosecond pcap: NDJSON timestamps have 9 digits", rc == 0 and digits and all(len(d) == 9 for d in digits), se[-200:])

    # drops: exactly the dropped, uncovered bytes are gaps, nothing else
    src = os.path.join(S, "tcp-transfer.pcap")
    out = os.path.join(e2e.TMP, "drop.pcap")
    rc, rep, err = tool(e2e, src, ["resegment", "--max", "3000", "+", "drop", "--prob", "0.08"], out, seed=3)
    dropped = {}
    for r in rep:
        if r.get("op") == "drop" and not r.get("covered"):
            key = (r["src"], r["dst"]) if "src" in r else None
            dropped.setdefault(key, 0)
            dropped[key] += r["len"]
    rc, se, index = e2e.dump(out, name="drop")
    total_drop = sum(v for v in dropped.values())
    total_gap = sum(v["gap_bytes"] for v in index.values())
    e2e.case("dropped segments: gap bytes equal the dropped bytes (%d)" % total_drop,
             rc == 0 and total_drop > 0 and total_gap == total_drop and "tcp_gap" in se,
             "gaps %d, dropped %d; %s" % (total_gap, total_drop, se[-300:]))
    # what is delivered around the gaps is still the true stream: the
    # delivered bytes plus the gaps add up to the logged lengths
    conns, tcp = e2e.load_log(os.path.join(S, "tcp-transfer.endpoints.jsonl.gz"))
    ok = True
    for k, c in conns.items():
        cl = e2e.ep(c["client"]["ip"], c["client"]["port"])
        sv = e2e.ep(c["server"]["ip"], c["server"]["port"])
        for src_, dst_, side in ((cl, sv, "client"), (sv, cl, "server")):
            got = index.get((src_, dst_))
            sent = tcp[(k, side, "sent")]["len"]
            if got is not None and got["bytes"] + got["gap_bytes"] != sent:
                ok = False
    e2e.case("dropped segments: delivered + gap bytes = bytes sent, every direction", ok, "")

    # a WebSocket capture with drops: never garbage, every message either
    # exact or reported with a gap / after a lost-sync warning
    out = os.path.join(e2e.TMP, "wsdrop.pcap")
    rc, rep, err = tool(e2e, os.path.join(S, "ws-node.pcap"), ["resegment", "--max", "4000", "+", "drop", "--prob", "0.1"], out, seed=5)
    rc, recs, bad, se = e2e.wscope_json(out)
    sent = {}
    with e2e.open_log(os.path.join(S, "ws-node.endpoints.jsonl.gz")) as f:
        for line in f:
            r = json.loads(line)
            if r["kind"] == "msg" and r["role"] == "sent":
                sent.setdefault(r["b64"], 0)
                sent[r["b64"]] += 1
    import base64
    garbage = 0
    nmsg = 0
    for r in recs:
        if r["type"] == "message" and not r.get("gap") and not r.get("truncated") and not r.get("inflate_failed"):
            nmsg += 1
            if base64.b64encode(e2e.payload_of(r)).decode() not in sent:
                garbage += 1
    codes = {r["code"] for r in recs if r["type"] == "warning"}
    e2e.case("WebSocket capture with lost segments: %d messages, none invented; gaps reported" % nmsg,
             rc == 0 and bad == 0 and garbage == 0 and nmsg > 0 and ("ws_gap" in codes or "ws_lost_sync" in codes),
             "garbage %d, codes %s" % (garbage, codes))

    # snaplen: payload cut short is reported, never invented
    out = os.path.join(e2e.TMP, "snap.pcap")
    tool(e2e, os.path.join(S, "ws-python.pcap"), [], out, extra_global=["--snaplen", "300"])
    rc, recs, bad, se = e2e.wscope_json(out)
    codes = {r["code"] for r in recs if r["type"] == "warning"}
    e2e.case("snaplen 300: snaplen_truncated and gaps reported, valid JSON",
             rc == 0 and bad == 0 and "snaplen_truncated" in codes, str(codes))

    # broken headers: each defect gives its warning at its packet
    out = os.path.join(e2e.TMP, "trunc.pcap")
    rc, rep, err = tool(e2e, os.path.join(S, "tcp-transfer.pcap"), ["truncate-packets"], out, seed=1)
    rc, recs, bad, se = e2e.wscope_json(out)
    warns = {(r["packet"], r["code"]) for r in recs if r["type"] == "warning"}
    missing = []
    kinds = 0
    for r in rep:
        if r.get("op") == "truncate-packets":
            kinds += 1
            code = DEFECT_CODE.get(r["defect"])
            if (r["packet"], code) not in warns:
                missing.append("%s at packet %d" % (r["defect"], r["packet"]))
    e2e.case("%d kinds of broken header: each warned with its code at its packet" % kinds,
             rc == 0 and kinds >= 8 and not missing, "; ".join(missing))

    # corrupt files: a clear message naming the file and packet, exit status
    expect = {
        "truncate-record": (1, "capture_corrupt"),
        "truncate-header": (1, "capture_corrupt"),
        "huge-caplen": (1, "capture_corrupt"),
        "caplen-gt-len": (0, None),
        "bad-magic": (1, "not a pcap or pcapng file"),
        "empty": (1, "not a pcap or pcapng file"),
        "header-only": (0, " 0 packets"),
        "garbage": (None, None),
    }
    for mode, (want_rc, text) in expect.items():
        out = os.path.join(e2e.TMP, "corrupt-%s.pcap" % mode)
        tool(e2e, os.path.join(S, "ws-node.pcap"), ["corrupt", "--mode", mode], out, seed=2)
        rc, so, se = e2e.run_wscope(["-r", out, "--json"])
        valid = all(_is_json(l) for l in so.splitlines())
        ok = valid and rc in (0, 1) and (want_rc is None or rc == want_rc) and (text is None or text in se) \
            and os.path.basename(out) in se
        if mode.startswith("truncate") or mode == "huge-caplen":
            ok = ok and "packet " in se
        e2e.case("corrupt file (%s): exit %s, message names file%s" % (
            mode, rc, " and packet" if mode.startswith("truncate") else ""), ok, se[-300:])


def _is_json(line):
    try:
        json.loads(line)
        return True
    except ValueError:
        return False
