"""--har: HAR 1.2 as Chrome DevTools writes a WebSocket, and redaction.

Truth: the HAR 1.2 schema (Debian's node-har-validator); for every sample,
the NDJSON of the same single pass (messages: direction, time, opcode,
text or bytes, close codes), itself checked against the endpoints' logs
elsewhere; the handshake headers as tshark reads them from the packets;
the fields Chrome DevTools' HAR importer reads, each with its type. And
for redaction, the secrets the ws-secrets sample's endpoints put on the
wire (samples/ws-secrets.secrets.json): none of them may appear, byte for
byte, in any redacted output, while the unredacted HAR holds them all.
"""
import base64
import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_PATH = "/usr/share/nodejs"
OPCODES = {"text": 1, "binary": 2, "close": 8, "ping": 9, "pong": 10}


def validate(e2e, path):
    p = subprocess.run(["node", os.path.join(HERE, "har_validate.js"), path], capture_output=True, text=True,
                       env=dict(os.environ, NODE_PATH=NODE_PATH), timeout=60)
    return p.returncode == 0 and p.stdout.strip() == "valid", (p.stdout + p.stderr)[-600:]


def devtools_fields(har):
    """What DevTools' HAR importer reads, each of the type it expects."""
    errs = []
    log = har.get("log", {})
    if not isinstance(log.get("entries"), list):
        return ["log.entries is not a list"]
    for i, e in enumerate(log["entries"]):
        req, resp = e.get("request", {}), e.get("response", {})
        checks = [
            (isinstance(e.get("startedDateTime"), str) and e["startedDateTime"].endswith("Z"), "startedDateTime"),
            (isinstance(e.get("time"), (int, float)), "time"),
            (isinstance(e.get("timings"), dict) and all(isinstance(e["timings"].get(k), (int, float))
                                                        for k in ("blocked", "dns", "connect", "send", "wait",
                                                                  "receive", "ssl")), "timings"),
            (e.get("_resourceType") in ("websocket", "xhr"), "_resourceType"),
            (isinstance(e.get("connection"), str), "connection"),
            (isinstance(e.get("serverIPAddress"), str), "serverIPAddress"),
            # a WebSocket's upgrade, or a Socket.IO long-polling exchange
            ((req.get("method") == "GET" and req.get("url", "").startswith(("ws://", "wss://"))) if
             e.get("_resourceType") == "websocket" else
             (req.get("method") in ("GET", "POST") and req.get("url", "").startswith(("http://", "https://")) and
              (req["method"] == "GET" or isinstance(req.get("postData", {}).get("text"), str)) and
              isinstance(resp.get("content", {}).get("text"), str)), "request.url"),
            (req.get("httpVersion") == "HTTP/1.1", "request.httpVersion"),
            (all(isinstance(h.get("name"), str) and isinstance(h.get("value"), str)
                 for h in req.get("headers", [None])), "request.headers"),
            (isinstance(req.get("queryString"), list) and isinstance(req.get("cookies"), list), "request lists"),
            (isinstance(resp.get("status"), int) and isinstance(resp.get("statusText"), str), "response.status"),
            (isinstance(resp.get("content", {}).get("mimeType"), str) and
             isinstance(resp.get("content", {}).get("size"), int), "response.content"),
        ]
        for m in e.get("_webSocketMessages", []):
            checks.append((m.get("type") in ("send", "receive") and isinstance(m.get("time"), float) and
                           isinstance(m.get("opcode"), int) and isinstance(m.get("data"), str), "message %r" % m))
        errs += ["entry %d: %s" % (i, what) for ok, what in checks if not ok]
    return errs


def tshark_requests(pcap, keys):
    """client port -> the upgrade request's header lines ("Name: value")."""
    args = ["tshark", "-r", pcap, "-Y", "http.request and http.upgrade", "-T", "fields", "-E",
            "aggregator=\x1e", "-e", "tcp.srcport", "-e", "http.request.line"]
    if keys:
        args[3:3] = ["-o", "tls.keylog_file:" + keys]
    p = subprocess.run(args, capture_output=True, text=True, timeout=120)
    out = {}
    # (not splitlines(): it would cut at the \x1e separators too)
    for line in p.stdout.split("\n"):
        port, _, lines = line.partition("\t")
        if port:
            out[int(port)] = [x.rstrip("\r\n").replace("\\r\\n", "") for x in lines.split("\x1e") if x]
    return out


def check_sample(e2e, pcap):
    name = os.path.basename(pcap)
    keys = pcap.rsplit(".", 1)[0] + ".keys"
    keys = keys if os.path.exists(keys) else None
    d = os.path.join(e2e.TMP, "har")
    os.makedirs(d, exist_ok=True)
    hp, jp = os.path.join(d, name + ".har"), os.path.join(d, name + ".ndjson")
    for p in (hp, jp):
        if os.path.exists(p):
            os.unlink(p)
    rc, so, se = e2e.run_wscope(["-r", pcap, "--har=" + hp, "--json=" + jp, "--no-redact"] +
                                (["--keylog", keys] if keys else []))
    if rc != 0:
        e2e.case("%s --har: runs" % name, False, se[-300:])
        return
    ok, why = validate(e2e, hp)
    e2e.case("%s --har: valid HAR 1.2 (har-validator)" % name, ok, why)
    with open(hp, encoding="utf-8") as f:
        har = json.load(f)
    with open(jp, encoding="utf-8") as f:
        recs = [json.loads(x) for x in f]
    errs = devtools_fields(har)
    e2e.case("%s --har: every field Chrome DevTools' importer reads is there, of its type" % name, not errs,
             "; ".join(errs[:4]))
    entries = {e["_wscope"]["conn"]: e for e in har["log"]["entries"] if e["_resourceType"] == "websocket"}
    check_polls(e2e, name, har, recs)
    xhr = [e for e in har["log"]["entries"] if e["_resourceType"] == "xhr"]
    if xhr:
        check_poll_heads(e2e, name, pcap, xhr)
    conns = [r for r in recs if r["type"] == "connection" and (r["status"] != 0 or r.get("decode_as"))]
    errs = []
    if sorted(entries) != sorted(r["id"] for r in conns):
        errs.append("entries for %s, connections %s" % (sorted(entries), [r["id"] for r in conns]))
    nmsg = 0
    for cr in conns:
        e = entries.get(cr["id"])
        if e is None:
            continue
        if e["response"]["status"] != cr["status"]:
            errs.append("conn %d: status %s, NDJSON %s" % (cr["id"], e["response"]["status"], cr["status"]))
        want = [r for r in recs if r["type"] == "message" and r["conn"] == cr["id"]]
        got = e.get("_webSocketMessages", [])
        if cr["status"] != 101 and not cr.get("decode_as"):
            if "_webSocketMessages" in e:
                errs.append("conn %d: refused, yet has messages" % cr["id"])
            continue
        if len(got) != len(want):
            errs.append("conn %d: %d messages, NDJSON %d" % (cr["id"], len(got), len(want)))
            continue
        for g, w in zip(got, want):
            nmsg += 1
            why = None
            if g["type"] != ("send" if w["dir"] == "c2s" else "receive") or g["opcode"] != OPCODES[w["opcode"]]:
                why = "type/opcode %s %s vs %s %s" % (g["type"], g["opcode"], w["dir"], w["opcode"])
            elif abs(g["time"] - w["ts"]) > 1e-6:
                why = "time %s vs %s" % (g["time"], w["ts"])
            elif w["opcode"] == "text" and "text" in w and g["data"] != w["text"]:
                why = "text differs"
            elif w["opcode"] == "binary" and "data" in w and g["data"] != w["data"]:
                why = "binary (base64) differs"
            elif w["opcode"] == "close" and "close_code" in w and (
                    g.get("_closeCode") != w["close_code"] or g["data"] != w.get("close_reason", g["data"])):
                why = "close %s %r vs %s %r" % (g.get("_closeCode"), g["data"], w["close_code"], w.get("close_reason"))
            elif w["opcode"] in ("ping", "pong") and "data" in w:
                b = base64.b64decode(g["data"]) if g.get("_base64") else g["data"].encode("utf-8")
                if b != base64.b64decode(w["data"]):
                    why = "%s payload differs" % w["opcode"]
            if why:
                errs.append("conn %d message at %s: %s" % (cr["id"], w["ts"], why))
                break
    e2e.case("%s --har: an entry per connection, each message as the NDJSON of the same pass (%d: send/"
             "receive, time, opcode, text, base64 binary, close codes)" % (name, nmsg), not errs, "; ".join(errs[:4]))
    # headers as captured (tshark)
    want = tshark_requests(pcap, keys)
    errs, n = [], 0
    for cr in conns:
        e = entries.get(cr["id"])
        w = want.get(cr["client"]["port"])
        if e is None or w is None:
            continue
        got = ["%s: %s" % (h["name"], h["value"]) for h in e["request"]["headers"]]
        n += 1
        if got != w:
            errs.append("conn %d: %s vs tshark %s" % (cr["id"], got[:3], w[:3]))
    if want:
        e2e.case("%s --har --no-redact: each request's headers as tshark reads them from the packets (%d)" % (
            name, n), not errs and n > 0, "; ".join(errs[:3]))


def tshark_polls(pcap):
    """(method, target) -> (request header lines, response header lines) of
    each Engine.IO long-polling exchange, as tshark reads the packets."""
    def fields(flt, *f):
        args = ["tshark", "-r", pcap, "-Y", flt, "-T", "fields", "-E", "aggregator=\x1e"]
        for x in f:
            args += ["-e", x]
        p = subprocess.run(args, capture_output=True, text=True, timeout=120)
        return [line.split("\t") for line in p.stdout.split("\n") if line]

    def lines(v):
        return [x.rstrip("\r\n").replace("\\r\\n", "") for x in v.split("\x1e") if x]
    reqs = fields('http.request and http.request.uri contains "transport=polling"', "http.request.method",
                  "http.request.uri", "http.request.line")
    resps = fields('http.response and http.response_for.uri contains "transport=polling"',
                   "http.response_for.uri", "http.response.line")
    out = {}
    for method, uri, ls in reqs:
        out[(method, uri)] = [lines(ls), None]
    for uri, ls in resps:
        target = "/" + uri.split("://", 1)[1].split("/", 1)[1]
        for k, v in out.items():
            if k[1] == target and v[1] is None:
                v[1] = lines(ls)
                break
    return out


def check_poll_heads(e2e, name, pcap, xhr):
    """The XHR entries' request and response headers, and the bodies'
    mimeType, are those tshark reads from the packets."""
    want = tshark_polls(pcap)
    errs, n = [], 0
    for e in xhr:
        rq, rs = e["request"], e["response"]
        target = "/" + rq["url"].split("://", 1)[1].split("/", 1)[1]
        w = want.get((rq["method"], target))
        if w is None or w[1] is None:
            errs.append("tshark has no %s %s" % (rq["method"], target[-30:]))
            continue
        n += 1
        got = (["%s: %s" % (h["name"], h["value"]) for h in rq["headers"]],
               ["%s: %s" % (h["name"], h["value"]) for h in rs["headers"]])
        ct = [x.split(":", 1)[1].strip() for x in w[1] if x.lower().startswith("content-type:")]
        if got != (w[0], w[1]):
            errs.append("%s %s: %s vs tshark %s" % (rq["method"], target[-20:], got, w))
        elif ct and rs["content"]["mimeType"] != ct[0]:
            errs.append("%s %s: mimeType %s vs %s" % (rq["method"], target[-20:], rs["content"]["mimeType"], ct[0]))
        elif rs["headersSize"] <= 0 or rq["headersSize"] <= 0:
            errs.append("%s %s: headersSize %s %s" % (rq["method"], target[-20:], rq["headersSize"],
                                                      rs["headersSize"]))
    e2e.case("%s --har --no-redact: each long-polling XHR entry's request and response headers as tshark reads "
             "them from the packets, the content's mimeType its Content-Type (%d)" % (name, n),
             not errs and n == len(xhr), "; ".join(errs[:3]))


def check_polls(e2e, name, har, recs):
    """Each Socket.IO long-polling exchange is an XHR entry of its own:
    method, URL, status and both bodies as the NDJSON's poll record."""
    polls = [r for r in recs if r["type"] == "poll" and r.get("session")]
    xhr = [e for e in har["log"]["entries"] if e["_resourceType"] == "xhr"]
    if not polls and not xhr:
        return
    key = lambda r: (r["request_ts"], r["target"])  # noqa: E731
    polls.sort(key=key)
    errs = []
    if len(xhr) != len(polls):
        errs.append("%d XHR entries, %d poll records" % (len(xhr), len(polls)))
    byt = {}
    for e in xhr:
        byt[e["request"]["url"].split("://", 1)[1].split("/", 1)[1]] = e
    for r in polls:
        e = byt.get(r["target"].lstrip("/"))
        if e is None:
            errs.append("no entry for %s %s" % (r["method"], r["target"]))
            break
        rq, rs = e["request"], e["response"]
        why = None
        if (rq["method"], rs["status"]) != (r["method"], r["status"]):
            why = "%s %s" % (rq["method"], rs["status"])
        elif r["method"] == "POST" and rq["postData"]["text"] != r["request"].get("body"):
            why = "request body %r vs %r" % (rq["postData"]["text"][:40], r["request"].get("body", "")[:40])
        elif rs["content"]["text"] != r["response"].get("body"):
            why = "response body %r vs %r" % (rs["content"]["text"][:40], r["response"].get("body", "")[:40])
        elif e["_wscope"].get("session") != r["session"] or e["_wscope"].get("sid") != r["sid"]:
            why = "session %s %s" % (e["_wscope"].get("session"), e["_wscope"].get("sid"))
        if why:
            errs.append("%s %s: %s" % (r["method"], r["target"][-30:], why))
            break
    e2e.case("%s --har: each Socket.IO long-polling exchange an XHR entry, method, URL, status, both bodies and "
             "session as the NDJSON's %d poll records" % (name, len(polls)), not errs and polls, "; ".join(errs[:3]))
    # a session's entries (its exchanges and its WebSocket connection's) by
    # start time, as HAR prefers; the log counts the exchanges
    sess = {e["_wscope"].get("session") for e in xhr}
    group = [e for e in har["log"]["entries"] if e["_wscope"].get("session") in sess]
    starts = [e["startedDateTime"] for e in group]
    kinds = [e["_resourceType"] for e in group]
    e2e.case("%s --har: a session's %d entries (%s) in order of start time; the log's _wscope counts %d "
             "long-polling entries" % (name, len(group), ", ".join("%s %d" % (k, kinds.count(k)) for k in
                                                                    sorted(set(kinds))), len(xhr)),
             starts == sorted(starts) and "websocket" in kinds and
             har["log"]["_wscope"].get("long_polling") == len(xhr), str(list(zip(kinds, starts))[:12]))


def run(e2e):
    d = os.path.join(e2e.TMP, "har")
    os.makedirs(d, exist_ok=True)
    if not os.path.exists(os.path.join(NODE_PATH, "har-validator")):
        e2e.case("--har: Debian's node-har-validator is installed (tools/deps.sh)", False, NODE_PATH)
        return
    # the validator rejects what it must (the test can fail)
    bad = os.path.join(d, "bad.har")
    with open(bad, "w") as f:
        json.dump({"log": {"version": "1.2", "creator": {"name": "x", "version": "1"},
                           "entries": [{"startedDateTime": "x", "request": {}}]}}, f)
    ok, why = validate(e2e, bad)
    e2e.case("har-validator rejects an entry without its request fields", not ok, why)
    for pcap, log in e2e.samples():
        check_sample(e2e, pcap)

    py = os.path.join(e2e.TOP, "samples", "ws-python.pcap")
    hp = os.path.join(d, "red.har")
    rc, so, se = e2e.run_wscope(["-r", py, "--har=" + hp])
    with open(hp, encoding="utf-8") as f:
        har = json.load(f)
    keys = [h["value"] for e in har["log"]["entries"] for h in e["request"]["headers"] + e["response"]["headers"]
            if h["name"].lower() in ("sec-websocket-key", "sec-websocket-accept")]
    e2e.case("--har alone: redacted by default (the log's comment says so first), Sec-WebSocket-Key/Accept "
             "hidden, nothing on standard output",
             rc == 0 and har["log"]["comment"].startswith("REDACTED") and keys and
             all(k == "[redacted]" for k in keys) and so == "", (har["log"]["comment"][:80], keys[:2]))
    rc, so, se = e2e.run_wscope(["-r", py, "--har=" + hp, "--filter", "c2s text"])
    with open(hp, encoding="utf-8") as f:
        har = json.load(f)
    msgs = [m for e in har["log"]["entries"] for m in e["_webSocketMessages"]]
    e2e.case("--har --filter 'c2s text': only those messages, the filter in the log's comment",
             rc == 0 and msgs and all(m["type"] == "send" and m["opcode"] == 1 for m in msgs) and
             "filter: c2s text" in har["log"]["comment"], len(msgs))
    rc, so, se = e2e.run_wscope(["-r", py, "--har=/dev/full"])
    e2e.case("--har=/dev/full: 'write failed' naming it, status 1", rc == 1 and "/dev/full: write failed" in se,
             se[-200:])

    # a report naming the capture being read, or another report's file
    import hashlib
    import shutil
    cp = os.path.join(d, "in.pcap")
    shutil.copyfile(py, cp)
    os.symlink(cp, os.path.join(d, "link.pcap"))
    before = hashlib.sha256(open(cp, "rb").read()).hexdigest()
    errs = []
    for flag in ("--text", "--har", "--html"):
        for name in (cp, os.path.join(d, "link.pcap"), os.path.join(d, ".", "in.pcap")):
            rc, so, se = e2e.run_wscope(["-r", cp, "%s=%s" % (flag, name)])
            if rc != 2 or "that is the capture being read; not overwritten" not in se:
                errs.append("%s=%s: rc %d %s" % (flag, name, rc, se[-120:]))
    rc, so, se = e2e.run_wscope(["-r", py, "--har=%s/x.out" % d, "--html=%s/./x.out" % d])
    if rc != 2 or "the same file" not in se or os.path.exists(os.path.join(d, "x.out")):
        errs.append("--har and --html on one file: rc %d %s" % (rc, se[-120:]))
    e2e.case("--text, --har and --html naming the capture being read (by a link, ./) or one file for two: "
             "refused with status 2, the capture unchanged", not errs and
             hashlib.sha256(open(cp, "rb").read()).hexdigest() == before, "; ".join(errs[:3]))

    # the secrets sample
    sec = os.path.join(e2e.TOP, "samples", "ws-secrets.pcap")
    side = os.path.join(e2e.TOP, "samples", "ws-secrets.secrets.json")
    if not os.path.exists(sec):
        e2e.case("samples/ws-secrets.pcap exists (the redaction sample)", False, sec)
        return
    with open(side, encoding="utf-8") as f:
        secrets = json.load(f)["secrets"]

    def forms(x):
        """A secret as it may be written: as on the wire, escaped again in
        JSON, with its backslashes doubled by the terminal sanitizer."""
        return {x.encode(), json.dumps(x, ensure_ascii=False)[1:-1].encode(), x.replace("\\", "\\\\").encode()}
    outs = {}
    for label, args in (("HAR (default)", ["--har=%s/s.har" % d]),
                        ("NDJSON --redact", ["--json=%s/s.ndjson" % d, "--redact"]),
                        ("transcript --redact", ["--text=%s/s.txt" % d, "--redact"]),
                        ("HAR --no-redact", ["--har=%s/sn.har" % d, "--no-redact"]),
                        ("NDJSON", ["--json=%s/sn.ndjson" % d])):
        for a in args:
            if a.startswith("--") and "=" in a:
                p = a.split("=", 1)[1]
                if os.path.exists(p):
                    os.unlink(p)
        rc, so, se = e2e.run_wscope(["-r", sec] + args)
        p = args[0].split("=", 1)[1]
        with open(p, "rb") as f:
            outs[label] = (rc, f.read())
    for label in ("HAR (default)", "NDJSON --redact", "transcript --redact"):
        rc, b = outs[label]
        found = [x for x in secrets if any(v in b for v in forms(x))]
        e2e.case("ws-secrets: %s holds none of the %d secrets the endpoints sent (searched byte for byte)" % (
            label, len(secrets)), rc == 0 and not found and b"[redacted]" in b, str(found[:4]))
    # NDJSON has no header fields (Authorization, cookies): those secrets
    # are only in the HAR
    nohar = json.loads(outs["HAR --no-redact"][1])
    in_heads = {x for x in secrets for e in nohar["log"]["entries"]
                for h in e["request"]["headers"] + e["response"]["headers"] if x in h["value"] and
                h["name"].lower() not in ("host",) and "?" not in h["value"]}
    for label in ("HAR --no-redact", "NDJSON"):
        rc, b = outs[label]
        # the compressed connection's secrets are on the wire compressed;
        # every one is in the output once inflated
        missing = [x for x in secrets if not any(v in b for v in forms(x)) and
                   (label != "NDJSON" or x not in in_heads)]
        e2e.case("ws-secrets: %s holds every secret (so the search above can find them)" % label,
                 rc == 0 and not missing, str(missing[:4]))
    rc1, r1, _, _ = e2e.wscope_json(sec, ["--stats", "--redact"])
    rc2, r2, _, _ = e2e.wscope_json(sec, ["--stats"])
    s1 = [r for r in r1 if r["type"] == "stats"]
    s2 = [r for r in r2 if r["type"] == "stats"]
    l1 = [r["length"] for r in r1 if r["type"] == "message"]
    l2 = [r["length"] for r in r2 if r["type"] == "message"]
    e2e.case("ws-secrets: --redact leaves every length and the statistics as they are",
             s1 == s2 and l1 == l2 and bool(s1), str((len(s1), len(s2))))
