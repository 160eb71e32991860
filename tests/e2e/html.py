"""--html: the report, opened in a real browser.

Headless Chromium (Debian's chromium) is driven through the DevTools
protocol by cdp.py: the page must load with no console error, exception or
log error, and make no network request but its own file; the connections
and message counts it shows must be those of the NDJSON of the same
capture; a text an endpoint sent (its log) must be found and shown in a
connection's sequence view; payloads carrying <script>, </textarea> and
event handlers must show as text and never run; a 100,000-message capture
must load, page through to its last message, and the report's size and
load time are printed.
"""
import base64
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CHROMIUM = "/usr/bin/chromium"
PY = "/usr/bin/python3"     # Debian's, with python3-websockets


def browse(e2e, page, steps, screenshot=None, height=900, timeout=120):
    sp = page + ".steps.json"
    with open(sp, "w") as f:
        json.dump(steps, f)
    args = [PY, os.path.join(HERE, "cdp.py"), "--chromium", CHROMIUM, "--page", page, "--steps", sp,
            "--height", str(height), "--timeout", str(timeout)]
    if screenshot:
        args += ["--screenshot", screenshot]
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout + 60)
    try:
        return json.loads(p.stdout)
    except ValueError:
        return {"error": (p.stdout + p.stderr)[-800:]}


def clean(r, page):
    """No console error, exception, error log entry or request but the page's."""
    bad = []
    if "error" in r:
        return [r["error"]]
    if not r.get("ready"):
        bad.append("never ready")
    bad += ["console %s: %s" % (c["type"], c["text"]) for c in r["console"] if c["type"] in ("error", "assert", "warning")]
    bad += ["exception: " + x for x in r["exceptions"]]
    bad += ["log %s: %s" % (x["level"], x["text"]) for x in r["log"] if x["level"] in ("error", "warning")]
    bad += ["request " + u for u in r["requests"] if u != "file://" + os.path.abspath(page)]
    bad += ["step error: %s" % x["error"] for x in r["results"] if isinstance(x, dict) and "error" in x]
    return bad


ROWS = "Array.from(document.querySelectorAll('#conntable tbody tr')).map(r => [+r.dataset.conn, +r.children[6].textContent, +r.children[7].textContent])"


def select(conn):
    return "document.querySelector('#conntable tr[data-conn=\"%d\"]').click(); true" % conn


def find(text):
    """Types text into the sequence view's search box, and returns the
    previews of the messages shown."""
    return ("(() => { const s = document.querySelector('#seq input[type=search]'); s.value = %s; "
            "s.dispatchEvent(new Event('change')); return Array.from(document.querySelectorAll('#seq .msg .pv'))"
            ".map(x => x.textContent); })()" % json.dumps(text))


def check_sample(e2e, pcap, log):
    name = os.path.basename(pcap)
    keys = pcap.rsplit(".", 1)[0] + ".keys"
    extra = ["--keylog", keys] if os.path.exists(keys) else []
    page = os.path.join(e2e.TMP, "html", name + ".html")
    jp = page + ".ndjson"
    rc, so, se = e2e.run_wscope(["-r", pcap, "--html=" + page, "--json=" + jp] + extra)
    if rc != 0:
        e2e.case("%s --html: runs" % name, False, se[-300:])
        return
    with open(jp, encoding="utf-8") as f:
        recs = [json.loads(x) for x in f]
    conns = [r for r in recs if r["type"] == "connection" and (r["status"] != 0 or r.get("decode_as") or r["tls"])]
    want = sorted([r["id"], sum(1 for m in recs if m["type"] == "message" and m["conn"] == r["id"] and m["dir"] == "c2s"),
                   sum(1 for m in recs if m["type"] == "message" and m["conn"] == r["id"] and m["dir"] == "s2c")]
                  for r in conns)
    # a text one endpoint sent, short and plain, to find in the page
    conns_log, sent = e2e.endpoint_sent(log)
    probe = None
    for (k, d), ms in sorted(sent.items()):
        for m in ms:
            if m["opcode"] == "text" and 8 <= m["len"] <= 60:
                t = base64.b64decode(m["b64"]).decode("utf-8")
                if t.isprintable():
                    c = conns_log[k]
                    cr = next((r for r in conns if r["client"]["port"] == c["client"]["port"]), None)
                    if cr is not None:
                        probe = (cr["id"], t)
                        break
        if probe:
            break
    steps = [ROWS]
    if probe:
        steps += [select(probe[0]), find(probe[1][:20])]
    r = browse(e2e, page, steps)
    bad = clean(r, page)
    e2e.case("%s --html in Chromium: loads (%.0f ms) with no console error, exception or network request" % (
        name, r.get("ready_ms") or -1), not bad, "; ".join(bad[:4]))
    if bad:
        return
    got = sorted(r["results"][0])
    e2e.case("%s --html: the connections table shows every connection with its message counts each way, as "
             "the NDJSON (%d)" % (name, len(want)), got == want, str((got[:3], want[:3])))
    if probe:
        shown = r["results"][2]
        e2e.case("%s --html: a text the endpoint sent, searched in connection #%d's sequence view, is shown" % (
            name, probe[0]), any(probe[1] == x or probe[1] in x for x in shown), str((probe, shown[:3])))


def hostile(e2e, path):
    sys.path.insert(0, os.path.join(HERE, "..", "limits"))
    import adversarial
    cap = adversarial.Pcap(path)
    c = adversarial.WsConn(cap, "evil", "10.9.0.1", 40000, "10.9.0.2", 8080, host="evil.test",
                           path="/p?<script>window.__pwned=4</script>")
    c.open()
    evil = ["<script>window.__pwned=1</script>", "</textarea><img src=x onerror=\"window.__pwned=2\">",
            "</script><script>window.__pwned=3</script>", "{\"html\":\"<b onmouseover=alert(1)>x</b>\"}",
            "\x1b[2J\u202e<svg onload=window.__pwned=5>"]
    for s in evil:
        c.message(0, 1, s.encode("utf-8"))
        c.message(1, 1, s.encode("utf-8"))
    c.message(1, 2, b"</script>\x00\xff")
    cap.close()
    return evil


def big(e2e, path, n):
    sys.path.insert(0, os.path.join(HERE, "..", "limits"))
    import adversarial
    cap = adversarial.Pcap(path, step_us=20)
    c = adversarial.WsConn(cap, "big", "10.8.0.1", 41000, "10.8.0.2", 8080, host="big.test", path="/feed")
    c.open()
    for i in range(n):
        d = i % 2
        c.message(d, 1, ('{"seq":%d,"sym":"X%d","px":%d.%02d}' % (i, i % 50, 100 + i % 900, i % 100)).encode())
    cap.close()


def page_data(path):
    """The JSON the page carries (base64 in #wscope-data), as bytes."""
    with open(path, "rb") as f:
        raw = f.read()
    a = raw.find(b'id="wscope-data">')
    b = raw.find(b"</script>", a)
    return base64.b64decode(b"".join(raw[a + len(b'id="wscope-data">'):b].split()))


CARDS = ("Array.from(document.querySelectorAll('#seq .msg.c2s, #seq .msg.s2c')).map(m => "
         "[m.querySelector('.meta').textContent, m.querySelector('.pv').textContent])")


def check_session(e2e):
    """A Socket.IO session: on its own (never upgraded) a connection of the
    report whose cards are its long-polling bodies; upgraded, the cards of
    its WebSocket connection begin with them. Numbers and the answers'
    references as the NDJSON's poll records say."""
    pcap = os.path.join(e2e.TOP, "samples", "sio.pcap")
    rc, recs, bad, se = e2e.wscope_json(pcap)
    ws = next(r for r in recs if r["type"] == "connection" and r.get("session"))
    polls = [r for r in recs if r["type"] == "poll"]
    before = [r for r in polls if r["ts"] < ws["ts"]]
    bodies = [(r["request"] if r["method"] == "POST" else r["response"]) for r in polls]
    want = ["#p%d long-polling %s %d" % (b["seq"], r["method"], r["status"]) for r, b in zip(polls, bodies)]
    replies = ["\u21a9 #p%d" % b["reply_to"] for b in bodies if "reply_to" in b]
    d = os.path.join(e2e.TMP, "html")
    page = os.path.join(d, "session.html")
    rc, so, se = e2e.run_wscope(["-r", pcap, "--html=" + page, "tcp and not port %d" % ws["client"]["port"]])
    r = browse(e2e, page, [ROWS, select(ws["session"]), CARDS])
    bad = clean(r, page)
    res = r.get("results", [None] * 3)
    cards = res[2] or []
    rows = res[0] or []
    c2s = sum(1 for x in polls if x["method"] == "POST")
    ok = not bad and [ws["session"], c2s, len(polls) - c2s] in rows and len(cards) == len(want) and \
        all(c[0].startswith(w) for c, w in zip(sorted(cards, key=lambda c: int(c[0][2:].split()[0])), want)) and \
        all(any(x in c[0] for c in cards) for x in replies) and any("\\x1e" in c[1] for c in cards)
    e2e.case("--html of sio.pcap without the upgrade: the session is a connection of the table (bodies each way "
             "%d, %d), its %d long-polling bodies are cards #pN with method and status, the answers say the "
             "body they answer (%d), the 0x1E between packets shows as \\x1e" % (c2s, len(polls) - c2s, len(want),
                                                                            len(replies)),
             ok, str((bad[:3], rows, cards[:3])))
    page = os.path.join(d, "session-all.html")
    rc, so, se = e2e.run_wscope(["-r", pcap, "--html=" + page])
    r = browse(e2e, page, [select(ws["id"]), CARDS])
    bad = clean(r, page)
    cards = (r.get("results") or [None, None])[1] or []
    lead = [c for c in cards[:len(before)] if " long-polling " in c[0]]
    e2e.case("--html of sio.pcap: connection #%d's cards begin with its session's %d long-polling bodies, then "
             "its WebSocket messages" % (ws["id"], len(before)),
             not bad and len(lead) == len(before) and len(cards) > len(before), str((bad[:3], cards[:3])))


OPS = ("Array.from(document.querySelectorAll('#opstable tbody tr')).map(r => "
       "Array.from(r.children).map(td => td.textContent))")


def check_operations(e2e, name):
    """The report's requests by operation are the statistics' (the "stats"
    record for all of the same run): protocol, operation, requests,
    answered."""
    pcap = os.path.join(e2e.TOP, "samples", name + ".pcap")
    page = os.path.join(e2e.TMP, "html", name + "-ops.html")
    jp = page + ".ndjson"
    rc, so, se = e2e.run_wscope(["-r", pcap, "--html=" + page, "--json=" + jp, "--stats"])
    with open(jp, encoding="utf-8") as f:
        recs = [json.loads(x) for x in f]
    allrec = [r for r in recs if r["type"] == "stats" and r["conn"] is None]
    want = [[o["proto"], o["op"], str(o["requests"]), str(o["answered"])] for o in allrec[0].get("operations", [])] \
        if allrec else []
    r = browse(e2e, page, [OPS])
    bad = clean(r, page)
    got = [row[:4] for row in (r.get("results") or [[]])[0] or []]
    e2e.case("%s --html: the requests by operation (%d) are those of --stats in the same run, with their "
             "latencies" % (name, len(want)), rc == 0 and not bad and got == want and want and
             all(row[4] for row, o in zip((r.get("results") or [[]])[0], allrec[0]["operations"]) if o.get("latency")),
             str((bad[:2], got[:3], want[:3])))


def run(e2e):
    d = os.path.join(e2e.TMP, "html")
    os.makedirs(d, exist_ok=True)
    if not os.access(CHROMIUM, os.X_OK):
        e2e.case("--html: Debian's chromium is installed (tools/deps.sh)", False, CHROMIUM)
        return
    for pcap, log in e2e.samples():
        check_sample(e2e, pcap, log)
    check_session(e2e)
    for name in ("stomp-rabbitmq", "sio"):
        check_operations(e2e, name)

    # hostile payloads
    evp = os.path.join(d, "evil.pcap")
    evil = hostile(e2e, evp)
    page = os.path.join(d, "evil.html")
    rc, so, se = e2e.run_wscope(["-r", evp, "--html=" + page])
    steps = [select(1),
             # open every message, then look for anything that ran
             "Array.from(document.querySelectorAll('#seq .msg.c2s, #seq .msg.s2c')).forEach(m => m.click()); true",
             "Array.from(document.querySelectorAll('#seq .msg pre.full')).map(x => x.textContent)",
             "typeof window.__pwned",
             "document.querySelectorAll('script').length",
             "document.querySelectorAll('img, textarea, [onerror], [onload], [onmouseover]').length",
             "document.title"]
    r = browse(e2e, page, steps)
    bad = clean(r, page)
    res = r.get("results", [None] * 7)
    shown = res[2] or []
    e2e.case("--html with payloads carrying <script>, </script>, </textarea>, onerror and onload: the page "
             "loads clean, each payload is shown as text (expanded, both directions), nothing ran "
             "(window.__pwned %s), no element came from them" % res[3],
             not bad and res[3] == "undefined" and all(sum(1 for x in shown if s.replace("\x1b", "") in x.replace("\x1b", "")
                                                           or s in x) >= 2 for s in evil[:3]) and
             res[4] == 2 and res[5] == 0, str((bad[:3], res[3:], shown[:2])))

    # 100k messages
    n = 100000
    bp = os.path.join(d, "big.pcap")
    t0 = time.monotonic()
    big(e2e, bp, n)
    page = os.path.join(d, "big.html")
    t1 = time.monotonic()
    rc, so, se = e2e.run_wscope(["-r", bp, "--html=" + page])
    t2 = time.monotonic()
    size = os.path.getsize(page) if os.path.exists(page) else 0
    steps = [ROWS, select(1), "document.querySelector('#seq .pageinfo').textContent",
             "Array.from(document.querySelectorAll('#seq .bar button')).find(b => b.textContent.startsWith('last')).click(); true",
             "Array.from(document.querySelectorAll('#seq .msg')).map(m => m.dataset.n).slice(-1)[0]",
             "document.querySelector('#seq .pageinfo').textContent"]
    r = browse(e2e, page, steps, timeout=180)
    bad = clean(r, page)
    res = r.get("results", [None] * 6)
    print("# --html of %d messages: %.1f MB, written in %.2f s, ready in Chromium in %.0f ms (generating the "
          "capture took %.1f s)" % (n, size / 1e6, t2 - t1, r.get("ready_ms") or -1, t1 - t0), flush=True)
    e2e.case("--html of %d messages (%.1f MB): loads clean in Chromium in %.1f s, pages of 200 (%s), the last "
             "page ends with message %s" % (n, size / 1e6, (r.get("ready_ms") or 0) / 1000, res[2], res[4]),
             rc == 0 and not bad and res[0] == [[1, n // 2, n // 2]] and res[2] == "page 1 of 500 (100000 rows)" and
             res[4] == str(n) and res[5] == "page 500 of 500 (100000 rows)", str((bad[:3], res[0], res[2:])))
    # redaction banner first, and the filter
    sec = os.path.join(e2e.TOP, "samples", "ws-secrets.pcap")
    page = os.path.join(d, "secrets.html")
    rc, so, se = e2e.run_wscope(["-r", sec, "--html=" + page])
    with open(page, "rb") as f:
        raw = f.read()
    with open(os.path.join(e2e.TOP, "samples", "ws-secrets.secrets.json"), encoding="utf-8") as f:
        secrets = json.load(f)["secrets"]
    r = browse(e2e, page, ["document.body.innerText"])
    text = (r.get("results") or [""])[0] or ""
    data = page_data(page)
    forms = lambda x: {x.encode(), json.dumps(x, ensure_ascii=False)[1:-1].encode()}  # noqa: E731
    leaked = [x for x in secrets if x in text or any(v in data or v in raw for v in forms(x))]
    body_start = raw.find(b"<body>")
    e2e.case("--html on ws-secrets: redacted by default, said first on the page; no secret in the file or "
             "on the rendered page", rc == 0 and not leaked and b'id="banner" class="redacted"' in raw[body_start:body_start + 200]
             and text.startswith("Redacted"), str(leaked[:3]))
    page2 = os.path.join(d, "secrets-plain.html")
    rc2, so, se = e2e.run_wscope(["-r", sec, "--html=" + page2, "--no-redact"])
    data2 = page_data(page2)
    held = [x for x in secrets if any(v in data2 for v in forms(x))]
    e2e.case("--html --no-redact on ws-secrets: the data holds the message and query secrets (so the search "
             "above can find them; headers are not in the HTML report), and the page says NOT redacted",
             rc2 == 0 and len(held) >= 20 and b'class="plain">NOT redacted' in open(page2, "rb").read(),
             str(len(held)))
    rc, so, se = e2e.run_wscope(["-r", sec, "--html=/dev/full"])
    e2e.case("--html=/dev/full: 'write failed' naming it, status 1", rc == 1 and "/dev/full: write failed" in se,
             se[-200:])
