#!/usr/bin/env python3
"""End-to-end tests: run the real wscope binary on captures and compare what
it reassembles with what the endpoints logged they sent and received.

Truth comes from the endpoint logs (samples/*.endpoints.jsonl) or, for
transformed captures, from the documented output of tests/gen/pcaptool.py;
never from wscope itself. Prints one line per case and a closing
'N passed, M failed' line; exits non-zero on any failure.
"""
import base64
import glob
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

TOP = os.path.abspath(os.environ.get("top_srcdir", os.path.join(os.path.dirname(__file__), "..", "..")))
WSCOPE = os.environ.get("WSCOPE") or os.path.join(TOP, "build", "wscope")
PY = sys.executable
PCAPTOOL = os.path.join(TOP, "tests", "gen", "pcaptool.py")
TMP = tempfile.mkdtemp(prefix="wscope-e2e-")

results = []  # (name, ok, detail)


def case(name, ok, detail=""):
    results.append((name, ok, detail))
    print(("ok     " if ok else "FAIL   ") + name + ("" if ok else "\n         " + detail), flush=True)


def run_wscope(args, stdin=None, timeout=300):
    p = subprocess.run([WSCOPE] + args, input=stdin, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def open_log(path):
    """Endpoint logs are stored gzip-compressed (NAME.endpoints.jsonl.gz)."""
    return gzip.open(path, "rt", encoding="utf-8") if path.endswith(".gz") else open(path, encoding="utf-8")


def load_log(path):
    conns, tcp = {}, {}
    with open_log(path) as f:
        for line in f:
            r = json.loads(line)
            if r["kind"] == "conn":
                conns[r["conn"]] = r
            elif r["kind"] == "tcp":
                tcp[(r["conn"], r["side"], r["role"])] = r
    return conns, tcp


def endpoint_sent(log, http_status=None):
    """An endpoint log's connections, and what each side sent, by
    (connection, direction), in the order logged; with http_status (a
    dict), also the status of the last HTTP answer logged per connection."""
    conns, sent, received = {}, {}, {}
    with open_log(log) as f:
        for line in f:
            r = json.loads(line)
            if r["kind"] == "conn":
                conns[r["conn"]] = r
            elif r["kind"] == "msg" and r["role"] == "sent":
                sent.setdefault((r["conn"], r["dir"]), []).append(r)
            elif r["kind"] == "msg" and r["role"] == "received":
                received.setdefault((r["conn"], r["dir"]), []).append(r)
            elif r["kind"] == "http" and http_status is not None:
                http_status[r["conn"]] = r["status"]
            elif r["kind"] == "http_exchange" and http_status is not None:
                # plain HTTP (long-polling): not a WebSocket connection
                http_status.setdefault(r["conn"], "exchange")
    # A broker that cannot log (RabbitMQ, Mosquitto): what its peer
    # received is what it sent.
    for key, recs in received.items():
        if key not in sent:
            sent[key] = recs
    return conns, sent


def ep(ip, port):
    return "[%s]:%d" % (ip, port) if ":" in ip else "%s:%d" % (ip, port)


def dump(pcap, extra=(), name="dump"):
    out = os.path.join(TMP, name)
    shutil.rmtree(out, ignore_errors=True)
    rc, so, se = run_wscope(["-r", pcap, "--dump-streams", out, "--no-flows"] + list(extra))
    index = {}
    try:
        with open(os.path.join(out, "index.tsv")) as f:
            next(f)
            for line in f:
                flow, d, src, dst, nbytes, gaps, gap_bytes, end, syn, fname = line.rstrip("\n").split("\t")
                with open(os.path.join(out, fname), "rb") as g:
                    data = g.read()
                index[(src, dst)] = dict(flow=int(flow), bytes=int(nbytes), gaps=int(gaps),
                                         gap_bytes=int(gap_bytes), end=end, syn=syn == "1",
                                         data=data)
    except FileNotFoundError:
        pass
    return rc, se, index


def sha(b):
    return hashlib.sha256(b).hexdigest()


def compare_with_log(pcap, log, extra=(), allow_gaps=False, empty_may_vanish=False):
    """Every logged connection, both directions: the reassembled bytes must be
    exactly what the sender sent (and the receiver received). For a
    connection the sender reset, bytes still in its send buffer never reach
    the wire: then received <= reassembled <= sent, by length, and the
    reassembled bytes must hash like the receiver's when the lengths match."""
    conns, tcp = load_log(log)
    rc, se, index = dump(pcap, extra)
    errors = []
    if rc != 0:
        errors.append("exit %d: %s" % (rc, se.strip()[-300:]))
    for k, c in sorted(conns.items()):
        cl = ep(c["client"]["ip"], c["client"]["port"])
        sv = ep(c["server"]["ip"], c["server"]["port"])
        for d, src, dst, sender, receiver in (("c2s", cl, sv, "client", "server"),
                                              ("s2c", sv, cl, "server", "client")):
            got = index.get((src, dst))
            sent = tcp.get((k, sender, "sent"))
            rcvd = tcp.get((k, receiver, "received"))
            if got is None:
                if sent and sent["len"] == 0 and (src, dst) not in index and (dst, src) not in index:
                    if not empty_may_vanish:
                        errors.append("conn %d: flow missing" % k)
                elif sent and sent["len"] > 0:
                    errors.append("conn %d %s: direction missing" % (k, d))
                continue
            if got["gaps"] and not allow_gaps:
                errors.append("conn %d %s: %d gaps" % (k, d, got["gaps"]))
            h = sha(got["data"])
            if sent is not None and h == sent["sha256"] and len(got["data"]) == sent["len"]:
                continue
            if rcvd is not None and h == rcvd["sha256"] and sent is not None and rcvd["len"] < sent["len"]:
                continue  # reset: unsent bytes never reached the wire
            if sent is None and rcvd is not None and h == rcvd["sha256"] and len(got["data"]) == rcvd["len"]:
                continue  # a browser cannot log its raw bytes: the receiver's log is the truth
            errors.append("conn %d %s: reassembled %d bytes sha %s; sender sent %s, receiver got %s" % (
                k, d, len(got["data"]), h[:12], sent and (sent["len"], sent["sha256"][:12]),
                rcvd and (rcvd["len"], rcvd["sha256"][:12])))
    return errors, se, index


def samples():
    out = []
    for log in sorted(glob.glob(os.path.join(TOP, "samples", "*.endpoints.jsonl.gz"))):
        base = log[: -len(".endpoints.jsonl.gz")]
        for ext in (".pcap", ".pcapng"):
            if os.path.exists(base + ext):
                out.append((base + ext, log))
    return out


def test_samples():
    for pcap, log in samples():
        errors, se, index = compare_with_log(pcap, log)
        case("sample %s: every direction matches the endpoint logs" % os.path.basename(pcap),
             not errors, "; ".join(errors[:5]))


def wscope_json(pcap, extra=()):
    rc, so, se = run_wscope(["-r", pcap, "--json"] + list(extra))
    recs, bad = [], 0
    for line in so.split("\n"):
        if not line:
            continue
        try:
            recs.append(json.loads(line))
        except ValueError:
            bad += 1
    return rc, recs, bad, se


def payload_of(rec):
    """The exact payload bytes of a wscope message record."""
    if "text" in rec:
        return rec["text"].encode("utf-8")
    if "data" in rec:
        return base64.b64decode(rec["data"])
    if rec["opcode"] == "close" and "close_code" in rec:
        reason = rec["close_reason"].encode("utf-8") if "close_reason" in rec else base64.b64decode(rec.get("close_reason_data", ""))
        return bytes([rec["close_code"] >> 8, rec["close_code"] & 255]) + reason
    return b""


def compare_messages(pcap, log, extra=(), allow_warnings=()):
    """Every message each endpoint sent, in order, must appear in wscope's
    NDJSON for that connection and direction: opcode, length, exact payload
    bytes, close code and reason. No other message may appear."""
    http_status = {}   # the status of the last HTTP answer an endpoint logged
    conns, sent = endpoint_sent(log, http_status)
    if not sent:
        return None
    rc, recs, bad, se = wscope_json(pcap, extra)
    errors = []
    if rc != 0 or bad:
        errors.append("exit %d, %d lines not JSON: %s" % (rc, bad, se[-300:]))
    byep = {}
    for r in recs:
        if r["type"] == "connection":
            byep[(r["client"]["ip"], r["client"]["port"], r["server"]["ip"], r["server"]["port"])] = r
    warnings = [r for r in recs if r["type"] == "warning" and r["code"] not in allow_warnings]
    if warnings:
        errors.append("%d warnings, first: %s %s" % (len(warnings), warnings[0]["code"], warnings[0]["msg"]))
    nmsg = 0
    for k, c in sorted(conns.items()):
        key = (c["client"]["ip"], c["client"]["port"], c["server"]["ip"], c["server"]["port"])
        cr = byep.get(key)
        if cr is None and http_status.get(k) != "exchange":
            errors.append("conn %d: no connection record" % k)
            continue
        has_msgs = (k, "c2s") in sent or (k, "s2c") in sent
        if not has_msgs and http_status.get(k) == "exchange":
            if cr is not None:
                errors.append("conn %d: plain HTTP listed as a WebSocket connection" % k)
            continue
        if not has_msgs and http_status.get(k, 101) != 101:
            # a rejected upgrade: its status, and nothing after it
            want = http_status[k]
            extra_recs = [r for r in recs if r.get("conn") == cr["id"] and r["type"] in ("message", "end")]
            if cr["status"] != want or extra_recs:
                errors.append("conn %d: rejected with %d: got status %s and %d messages/ends" % (
                    k, want, cr["status"], len(extra_recs)))
            continue
        if cr["status"] != 101 or not cr.get("accept_ok"):
            errors.append("conn %d: status %s accept_ok %s" % (k, cr["status"], cr.get("accept_ok")))
        for d in ("c2s", "s2c"):
            want = sorted(sent.get((k, d), []), key=lambda r: r["seq"])
            got = [r for r in recs if r["type"] == "message" and r["conn"] == cr["id"] and r["dir"] == d]
            if len(got) != len(want):
                errors.append("conn %d %s: %d messages, endpoint sent %d" % (k, d, len(got), len(want)))
            for i, (w, g) in enumerate(zip(want, got)):
                nmsg += 1
                wp = base64.b64decode(w["b64"])
                gp = payload_of(g)
                why = None
                if g["opcode"] != w["opcode"]:
                    why = "opcode %s, sent %s" % (g["opcode"], w["opcode"])
                elif g["length"] != w["len"]:
                    why = "length %d, sent %d" % (g["length"], w["len"])
                elif g.get("truncated"):
                    why = "truncated"
                elif gp != wp:
                    why = "payload differs (%d vs %d bytes)" % (len(gp), len(wp))
                elif w["opcode"] == "close" and "close_code" in w and (
                        g.get("close_code") != w["close_code"] or g.get("close_reason", "") != w.get("close_reason", "")):
                    why = "close %s %r, sent %s %r" % (g.get("close_code"), g.get("close_reason"), w["close_code"], w.get("close_reason"))
                if why:
                    errors.append("conn %d %s message %d: %s" % (k, d, i + 1, why))
                    break
        ends = [r for r in recs if r["type"] == "end" and r.get("conn") == cr["id"]]
        if len(ends) != 1:
            errors.append("conn %d: %d end records" % (k, len(ends)))
    return errors, nmsg


def test_ws_samples():
    for pcap, log in samples():
        if os.path.exists(pcap.rsplit(".", 1)[0] + ".keys"):
            continue  # TLS: tests/e2e/tls.py, with the key log
        res = compare_messages(pcap, log)
        if res is None:
            continue
        errors, n = res
        case("sample %s: %d messages match the endpoint logs (opcode, length, bytes, close)" % (
            os.path.basename(pcap), n), not errors, "; ".join(errors[:5]))


def test_ws_flags():
    pcap = os.path.join(TOP, "samples", "ws-node.pcap")
    rc, recs, bad, se = wscope_json(pcap)
    msgs = [r for r in recs if r["type"] == "message"]
    # --max-payload: long payloads cut, length exact, marked truncated
    rc2, recs2, bad2, se2 = wscope_json(pcap, ["--max-payload", "100"])
    m2 = [r for r in recs2 if r["type"] == "message"]
    ok = rc2 == 0 and len(m2) == len(msgs) and any(r.get("truncated") for r in m2)
    for a, b in zip(msgs, m2):
        pa, pb = payload_of(a), payload_of(b)
        if a["length"] != b["length"] or len(pb) > 100 or len(pb) < min(len(pa), 97) or not pa.startswith(pb) \
                or (b.get("truncated", False) != (a["length"] > 100 and a["opcode"] in ("text", "binary"))):
            ok = False
    case("--max-payload 100: payloads cut (at a character boundary or less), length exact, truncated flagged", ok, se2[-200:])
    # --frames: frame records add up to the messages
    rc3, recs3, bad3, se3 = wscope_json(pcap, ["--frames"])
    frames = [r for r in recs3 if r["type"] == "frame"]
    nframes = sum(r["frames"] for r in msgs)
    masked_ok = all(f["masked"] == (f["dir"] == "c2s") for f in frames)
    case("--frames: %d frame records, as many as the messages' frames, masked exactly when c2s" % len(frames),
         rc3 == 0 and len(frames) == nframes and masked_ok, se3[-200:])
    # --json=PATH writes the same records to a file
    path = os.path.join(TMP, "out.ndjson")
    rc4, so4, se4 = run_wscope(["-r", pcap, "--json=" + path, "--flows"])
    with open(path) as f:
        filed = [json.loads(l) for l in f]
    case("--json=PATH --flows writes the same records to the file (flows listed on stdout)",
         rc4 == 0 and filed == recs and so4.startswith("flow "), se4[-200:])
    # every sample's output is valid JSON for jq too
    if shutil.which("jq"):
        bad_jq = []
        for p, _ in samples():
            out = subprocess.run([WSCOPE, "-r", p, "--json", "--frames", "-q"], capture_output=True)
            j = subprocess.run(["jq", "-c", "."], input=out.stdout, capture_output=True)
            if j.returncode != 0:
                bad_jq.append(os.path.basename(p))
        case("jq accepts the NDJSON of every sample", not bad_jq, " ".join(bad_jq))
    # --decode-as: the same capture without its handshakes (the first
    # packets of each connection stripped up to the first frame)
    if os.path.exists(PCAPTOOL):
        out = os.path.join(TMP, "nohs.pcap")
        # drop the SYNs and the HTTP exchange: keep packets after the 101
        p = subprocess.run([PY, PCAPTOOL, "-q", pcap, out, "strip-syn"], capture_output=True, text=True)
        rc5, recs5, bad5, se5 = wscope_json(out, ["--decode-as", "9701"])
        conns5 = [r for r in recs5 if r["type"] == "connection"]
        case("--decode-as on a capture that has its handshakes: handshakes still used",
             rc5 == 0 and conns5 and all(not c.get("decode_as") for c in conns5), se5[-200:])


def test_tshark_frames():
    """tshark's WebSocket dissector as a second opinion: the same number of
    frames of each opcode in each direction."""
    if shutil.which("tshark") is None:
        return
    for pcap, _ in samples():
        if "ws-" not in pcap:
            continue
        p = subprocess.run(["tshark", "-r", pcap, "-Y", "websocket", "-T", "fields", "-E", "occurrence=a",
                            "-e", "websocket.opcode", "-e", "websocket.mask"], capture_output=True, text=True)
        ts = {}
        for line in p.stdout.splitlines():
            ops, masks = line.split("\t")
            for op, mk in zip(ops.split(","), masks.split(",")):
                key = (int(op), mk in ("1", "True", "true"))
                ts[key] = ts.get(key, 0) + 1
        rc, recs, bad, se = wscope_json(pcap, ["--frames"])
        ws = {}
        for r in recs:
            if r["type"] == "frame":
                key = (r["opcode_value"], r["masked"])
                ws[key] = ws.get(key, 0) + 1
        case("tshark counts the same frames per opcode and masking in %s (%d frames)" % (
            os.path.basename(pcap), sum(ws.values())), ts == ws, "tshark %s wscope %s" % (ts, ws))


def test_tshark_second_opinion():
    """tshark's 'follow tcp' as an independent reassembler on one sample."""
    if shutil.which("tshark") is None:
        case("tshark second opinion", False, "tshark not installed (tools/deps.sh installs it)")
        return
    pcap = os.path.join(TOP, "samples", "tcp-transfer.pcap")
    rc, se, index = dump(pcap)
    p = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-e", "tcp.stream"], capture_output=True, text=True)
    streams = sorted({int(x) for x in p.stdout.split() if x.strip()})
    errors = []
    for s in streams:
        p = subprocess.run(["tshark", "-r", pcap, "-qz", "follow,tcp,raw,%d" % s], capture_output=True, text=True)
        lines = p.stdout.splitlines()
        node = {}
        chunks = {0: b"", 1: b""}
        for ln in lines:
            if ln.startswith("Node 0:") or ln.startswith("Node 1:"):
                node[int(ln[5])] = ln.split(": ", 1)[1].strip()
            elif ln and not ln.startswith("=") and not ln.startswith("Follow") and not ln.startswith("Filter") and not ln.startswith("Node"):
                if ln.startswith("\t"):
                    chunks[1] += bytes.fromhex(ln.strip())
                else:
                    chunks[0] += bytes.fromhex(ln.strip())
        for n in (0, 1):
            src, dst = node.get(n), node.get(1 - n)
            got = index.get((src, dst))
            if got is None:
                if chunks[n]:
                    errors.append("stream %d: wscope has no %s -> %s" % (s, src, dst))
                continue
            if got["data"] != chunks[n]:
                errors.append("stream %d %s->%s: wscope %d bytes, tshark %d" % (s, src, dst, len(got["data"]), len(chunks[n])))
    case("tshark agrees byte for byte on samples/tcp-transfer.pcap (%d streams)" % len(streams),
         not errors and len(streams) > 0, "; ".join(errors[:5]))


def test_cli():
    pcap = os.path.join(TOP, "samples", "tcp-transfer.pcap")
    rc, so, se = run_wscope(["-r", os.path.join(TMP, "does-not-exist.pcap")])
    case("missing file: exit 1 with the file named", rc == 1 and "does-not-exist.pcap" in se, se)
    notcap = os.path.join(TMP, "notcap.txt")
    with open(notcap, "w") as f:
        f.write("this is not a capture file\n" * 10)
    rc, so, se = run_wscope(["-r", notcap])
    case("not a capture: 'not a pcap or pcapng file', exit 1", rc == 1 and "not a pcap or pcapng file" in se and "notcap.txt" in se, se)
    empty = os.path.join(TMP, "empty.pcap")
    open(empty, "w").close()
    rc, so, se = run_wscope(["-r", empty])
    case("empty file: exit 1", rc == 1 and "not a pcap or pcapng file" in se, se)
    rc, so, se = run_wscope(["-r", pcap, "tcp port and and"])
    case("bad BPF filter: usage error, exit 2", rc == 2 and "invalid filter" in se, se)
    rc, so, se = run_wscope([])
    case("no input: usage error, exit 2", rc == 2 and "-r FILE" in se, se)
    rc, so, se = run_wscope(["-r", pcap, "--max-flows", "zero"])
    case("bad number: usage error, exit 2", rc == 2 and "--max-flows" in se, se)
    rc_all, so_all, se_all = run_wscope(["-r", pcap, "--flows"])
    rc, so, se = run_wscope(["-r", pcap, "--flows", "tcp", "port", "9501"])
    case("BPF filter in several arguments keeps every flow", rc == 0 and so == so_all and so.count("\n") >= 1, se)
    rc, so, se = run_wscope(["-r", pcap, "--flows", "tcp port 1"])
    case("BPF filter excluding everything: no flows, exit 0", rc == 0 and so == "" and " 0 packets" in se, se)
    with open(pcap, "rb") as f:
        data = f.read()
    rc, so, se = run_wscope(["-r", "-", "--flows"], stdin=data)
    case("-r - reads standard input", rc == 0 and so == so_all, se)
    rc, so, se = run_wscope(["-r", pcap, "-q"])
    case("-q prints nothing on stderr", rc == 0 and se == "", se)
    m = [l for l in so_all.splitlines() if l.startswith("flow 1 ")]
    ok = bool(m) and len(m[0].split()[2].split(".")[1]) == 6
    case("microsecond file: 6-digit timestamps", ok, so_all[:200])
    for name in ("tcp-transfer-any-nano.pcap", "tcp-transfer.pcapng"):
        rc, so, se = run_wscope(["-r", os.path.join(TOP, "samples", name), "--flows"])
        m = [l for l in so.splitlines() if l.startswith("flow 1 ")]
        ok = rc == 0 and bool(m) and len(m[0].split()[2].split(".")[1]) == 9
        case("nanosecond file %s: 9-digit timestamps" % name, ok, so[:200])
    # a link type wscope does not decode (802.11 radiotap, 127): one warning
    # naming it, packets counted and skipped, exit 0
    import struct
    odd = os.path.join(TMP, "radiotap.pcap")
    with open(odd, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 127))
        for i in range(5):
            f.write(struct.pack("<IIII", 1, i, 20, 20) + bytes(20))
    rc, so, se = run_wscope(["-r", odd])
    case("unsupported link type: one warning naming it, 5 packets skipped",
         rc == 0 and se.count("unsupported_linktype") == 2 and "IEEE802_11_RADIO" in se and " 5 packets" in se, se)
    rc, so, se = run_wscope(["-h"])
    case("--help lists every flag", rc == 0 and all(x in so for x in ("--dump-streams", "--max-flows", "--idle-timeout", "--max-ooo", "--memcap", "--no-flows", "--flows", "--text", "--filter", "--quiet", "--verbose")), so)


def pcaptool(args, out):
    p = subprocess.run([PY, PCAPTOOL] + args + ["-o", out], capture_output=True, text=True)
    return p.returncode, p.stderr


def main():
    if not os.access(WSCOPE, os.X_OK):
        print("wscope binary not found at %s (set WSCOPE)" % WSCOPE)
        print("0 passed, 1 failed")
        return 1
    test_cli()
    test_samples()
    test_ws_samples()
    test_ws_flags()
    test_tshark_frames()
    test_tshark_second_opinion()
    sys.path.insert(0, os.path.dirname(__file__))
    import transforms
    import transcript
    import stats
    import har
    import html
    import clocks
    import pcapng
    import nohandshake
    import tls
    import live
    import live_stream
    import live_wss
    import outputs
    import tui
    import subproto
    transforms.run(sys.modules[__name__])
    transcript.run(sys.modules[__name__])
    stats.run(sys.modules[__name__])
    har.run(sys.modules[__name__])
    html.run(sys.modules[__name__])
    clocks.run(sys.modules[__name__])
    pcapng.run(sys.modules[__name__])
    nohandshake.run(sys.modules[__name__])
    tls.run(sys.modules[__name__])
    live.run(sys.modules[__name__])
    live_stream.run(sys.modules[__name__])
    live_wss.run(sys.modules[__name__])
    outputs.run(sys.modules[__name__])
    tui.run(sys.modules[__name__])
    subproto.run(sys.modules[__name__])
    passed = sum(1 for r in results if r[1])
    failed = len(results) - passed
    shutil.rmtree(TMP, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
