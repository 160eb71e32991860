"""The text transcript (--text) and the export filter (--filter).

Truth: the endpoints' logs of every sample (what each side sent, in order)
for the transcript's message lines and close codes; the unfiltered NDJSON
of the same capture for what --filter must keep (the filter chooses
records, it never changes one). The transcript is also checked to be the
default when standard output is a pipe, to survive `| head`, to report a
full disk, and to let no control byte from a hostile capture through.
"""
import base64
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# 05:32:14.138653  #1    ←   text          34 B  z 30 B        preview
# (after "B": two blanks, the compressed size in 12 columns, two blanks,
# then the preview as it came, blanks included)
MSG = re.compile(r"^(\d\d:\d\d:\d\d\.(?:\d{9}|\d{6}))  #(\d+) +(\u2192|\u2190|->|<-) +"
                 r"(text|binary|ping|pong|close|continuation|reserved) +(\d+) B")
OPEN = re.compile(r"^(\d\d:\d\d:\d\d\.(?:\d{9}|\d{6}))  #(\d+) +(open|rejected|tls|other) +(\S+) "
                  r"(?:\u2192|->) (\S+)  (.*)$")
END = re.compile(r"^(\d\d:\d\d:\d\d\.(?:\d{9}|\d{6}))  #(\d+) +end +(.*)$")
# what a decoded message means, on the line after it
APP = re.compile(r"^(\d\d:\d\d:\d\d\.(?:\d{9}|\d{6}))  #(\d+) +=   (.*)$")
# a Socket.IO long-polling exchange: the body carrying packets, and the
# session's line (its id is the session's)
POLL = re.compile(r"^(\d\d:\d\d:\d\d\.(?:\d{9}|\d{6}))  #(\d+) +(\u2192|\u2190|->|<-) +poll +(\d+) B  "
                  r"([A-Z]+) (\d+) +")
SESSION = re.compile(r"^(\d\d:\d\d:\d\d\.(?:\d{9}|\d{6}))  #(\d+) +polling +(\S+) (?:\u2192|->) (\S+)  "
                     r"Socket\.IO session (\S+) on HTTP long-polling$")
ROW = re.compile(r"^(\d\d:\d\d:\d\d\.(?:\d{9}|\d{6}))  #(\d+) +(!|(?:\u2192|\u2190|->|<-) +loss) ")
ELLIPSIS = "\u2026"


def parse(text, polls=None, sessions=None):
    conns, msgs, ends, other = {}, [], {}, []
    last = None
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = POLL.match(line) if polls is not None else None
        if m:
            last = {"ts": m.group(1), "conn": int(m.group(2)),
                    "dir": "c2s" if m.group(3) in ("\u2192", "->") else "s2c", "length": int(m.group(4)),
                    "method": m.group(5), "status": int(m.group(6)), "preview": line[m.end():]}
            polls.append(last)
            continue
        m = SESSION.match(line) if sessions is not None else None
        if m:
            sessions[int(m.group(2))] = {"client": m.group(3), "server": m.group(4), "sid": m.group(5)}
            continue
        m = APP.match(line)
        if m and last is not None and last["conn"] == int(m.group(2)) and "app" not in last:
            last["app"] = m.group(3)
            continue
        m = MSG.match(line)
        if m:
            rest = line[m.end():]
            last = {"ts": m.group(1), "conn": int(m.group(2)),
                    "dir": "c2s" if m.group(3) in ("\u2192", "->") else "s2c",
                    "opcode": m.group(4), "length": int(m.group(5)), "z": rest[2:14].strip(),
                    "preview": rest[16:]}
            msgs.append(last)
            continue
        if ROW.match(line):
            continue
        m = OPEN.match(line)
        if m:
            conns[int(m.group(2))] = {"what": m.group(3), "client": m.group(4), "server": m.group(5),
                                      "rest": m.group(6)}
            continue
        m = END.match(line)
        if m:
            ends[int(m.group(2))] = m.group(3)
            continue
        other.append(line)
    return conns, msgs, ends, other


def plain(s):
    """Text the sanitizer passes as it is (printable, no format chars)."""
    for ch in s:
        o = ord(ch)
        if o < 0x20 or 0x7f <= o < 0xa0 or 0x200b <= o <= 0x200f or 0x2028 <= o <= 0x202e or \
           0x2060 <= o <= 0x206f or o == 0xfeff or ch == "\\":
            return False
    return True


def check_sample(e2e, pcap, log):
    keys = pcap.rsplit(".", 1)[0] + ".keys"
    extra = ["--keylog", keys] if os.path.exists(keys) else []
    d = os.path.join(e2e.TMP, "transcript")
    os.makedirs(d, exist_ok=True)
    tpath, jpath = os.path.join(d, "t.txt"), os.path.join(d, "j.ndjson")
    for p in (tpath, jpath):
        if os.path.exists(p):
            os.unlink(p)
    rc, so, se = e2e.run_wscope(["-r", pcap, "--text=" + tpath, "--json=" + jpath] + extra)
    name = os.path.basename(pcap)
    if rc != 0:
        e2e.case("%s: --text and --json in one run" % name, False, se[-300:])
        return
    with open(tpath, encoding="utf-8") as f:
        text = f.read()
    with open(jpath, encoding="utf-8") as f:
        recs = [json.loads(x) for x in f]
    polls, sessions = [], {}
    conns, msgs, ends, other = parse(text, polls, sessions)
    lconns, sent = e2e.endpoint_sent(log)
    errors = []
    check_polls(recs, polls, sessions, errors)
    if other:
        errors.append("unparsed lines: %r" % other[:3])
    byep = {(c["client"], c["server"]): i for i, c in conns.items()}
    nmsg = 0
    for k, c in sorted(lconns.items()):
        key = (e2e.ep(c["client"]["ip"], c["client"]["port"]), e2e.ep(c["server"]["ip"], c["server"]["port"]))
        cid = byep.get(key)
        if cid is None:
            if (k, "c2s") in sent or (k, "s2c") in sent:
                errors.append("conn %d %s: no open line" % (k, key))
            continue
        for dname in ("c2s", "s2c"):
            want = sorted(sent.get((k, dname), []), key=lambda r: r["seq"])
            got = [m for m in msgs if m["conn"] == cid and m["dir"] == dname]
            if len(got) != len(want):
                errors.append("conn %d %s: %d message lines, endpoint sent %d" % (k, dname, len(got), len(want)))
                continue
            for i, (w, g) in enumerate(zip(want, got)):
                nmsg += 1
                if (g["opcode"], g["length"]) != (w["opcode"], w["len"]):
                    errors.append("conn %d %s message %d: %s %d B, sent %s %d B" % (
                        k, dname, i + 1, g["opcode"], g["length"], w["opcode"], w["len"]))
                    break
                if w["opcode"] == "text":
                    t = base64.b64decode(w["b64"]).decode("utf-8")
                    pv = g["preview"]
                    if plain(t):
                        ok = pv == t or (pv.endswith(ELLIPSIS) and t.startswith(pv[:-1]) and len(pv) > 10)
                        if not ok:
                            errors.append("conn %d %s message %d: preview %r of %r" % (k, dname, i + 1, pv[:60], t[:60]))
                            break
                if w["opcode"] == "close" and "close_code" in w and str(w["close_code"]) not in g["preview"]:
                    errors.append("conn %d %s close: preview %r lacks code %s" % (k, dname, g["preview"], w["close_code"]))
        # the end line names each side's close code
        codes = [str(x["close_code"]) for dn in ("c2s", "s2c") for x in sent.get((k, dn), [])
                 if x["opcode"] == "close" and "close_code" in x]
        if codes and (cid not in ends or any(cd not in ends[cid] for cd in codes)):
            errors.append("conn %d: end line %r lacks close codes %s" % (k, ends.get(cid), codes))
    # the same single pass wrote --json: times and order agree line for line
    jm = [r for r in recs if r["type"] == "message"]
    if len(jm) != len(msgs):
        errors.append("%d message lines, %d NDJSON message records" % (len(msgs), len(jm)))
    else:
        for g, r in zip(msgs, jm):
            sec = int(float(r["ts"]))
            frac = g["ts"].split(".")[1]
            scale = 10 ** len(frac)
            f = round((r["ts"] - sec) * scale) if isinstance(r["ts"], float) else 0
            want_ts = "%02d:%02d:%02d" % ((sec // 3600) % 24, (sec // 60) % 60, sec % 60)
            # a float carries ~16 digits: nanoseconds within a few hundred
            if not g["ts"].startswith(want_ts) or g["conn"] != r["conn"] or g["length"] != r["length"] or \
               abs(int(frac) - f) > (1 if scale == 10 ** 6 else 1000):
                errors.append("line %s #%d %d B vs NDJSON %s conn %d %d B" % (g["ts"], g["conn"], g["length"],
                                                                           r["ts"], r["conn"], r["length"]))
                break
            # a decoded message: its line says what the NDJSON's app says
            if ("app" in r) != ("app" in g):
                errors.append("#%d %s: decoded line %r, NDJSON app %r" % (g["conn"], g["ts"], g.get("app"),
                                                                        r.get("app", {}).get("summary")))
                break
            if "app" in r:
                summ = r["app"]["summary"]
                shown = g["app"].split(" ", 1)[1] if " " in g["app"] else ""
                shown = shown.split("  reply to message ")[0].split("  reply to poll ")[0]
                if plain(summ) and not (shown == summ or (shown.endswith(ELLIPSIS) and summ.startswith(shown[:-1]))):
                    errors.append("#%d %s: decoded line %r, NDJSON summary %r" % (g["conn"], g["ts"], shown, summ))
                    break
                if "reply_to" in r and "reply to %s %d" % ("poll" if r.get("reply_to_session") else "message",
                                                          r["reply_to"]) not in g["app"]:
                    errors.append("#%d %s: decoded line %r lacks reply to %d" % (g["conn"], g["ts"], g["app"],
                                                                               r["reply_to"]))
                    break
            want_z = "z %d B" % r["wire_length"] if r.get("compressed") and not r.get("inflate_failed") else ""
            if r.get("compressed") and g["z"] != want_z:
                errors.append("#%d %s: compressed column %r, NDJSON wire_length %s" % (
                    g["conn"], g["ts"], g["z"], r.get("wire_length")))
                break
    e2e.case("%s: --text has a line per message, each as the endpoint sent it (%d: opcode, length, text "
             "preview, close codes), at the NDJSON's time, in the same pass as --json" % (name, nmsg),
             not errors, "; ".join(errors[:4]))


def check_polls(recs, polls, sessions, errors):
    """Each long-polling exchange of the NDJSON (same pass) has its line:
    the body carrying packets, its method and status, under the session's
    id until its WebSocket connection (which names the session) began."""
    jp = [r for r in recs if r["type"] == "poll" and r.get("session")]
    if len(jp) != len(polls):
        errors.append("%d long-polling lines, %d NDJSON poll records" % (len(polls), len(jp)))
        return
    upgraded = {}  # session -> its WebSocket connection, from when it began
    order = [r for r in recs if r["type"] in ("poll", "connection")]
    for r in order:
        if r["type"] == "connection":
            if r.get("session"):
                upgraded[r["session"]] = r["id"]
            continue
        if not r.get("session"):
            continue
        g = polls.pop(0)
        post = r["method"] == "POST"
        body = r["request"] if post else r["response"]
        want_conn = upgraded.get(r["session"], r["session"])
        why = None
        if (g["method"], g["status"], g["length"], g["dir"]) != (r["method"], r["status"], body["length"],
                                                               "c2s" if post else "s2c"):
            why = "%s %d %d B %s" % (g["method"], g["status"], g["length"], g["dir"])
        elif g["conn"] != want_conn:
            why = "under #%d, not #%d" % (g["conn"], want_conn)
        elif want_conn == r["session"] and sessions.get(want_conn, {}).get("sid") != r["sid"]:
            why = "session line %r, sid %s" % (sessions.get(want_conn), r["sid"])
        elif plain(body.get("body", "")) and not (g["preview"] == body["body"] or (
                g["preview"].endswith(ELLIPSIS) and body["body"].startswith(g["preview"][:-1]))):
            why = "preview %r of %r" % (g["preview"][:40], body.get("body", "")[:40])
        elif ("app" in body) != ("app" in g) or ("app" in body and body["app"]["summary"] not in g["app"]):
            why = "decoded line %r, NDJSON %r" % (g.get("app"), body.get("app", {}).get("summary"))
        elif "reply_to" in body and "reply to poll %d" % body["reply_to"] not in g["app"]:
            why = "decoded line %r lacks reply to poll %d" % (g["app"], body["reply_to"])
        if why is not None:
            errors.append("poll %s %s: %s" % (r["method"], r["target"][-30:], why))
            return


class _Wrap:
    """e2e with case() taking any detail (shown as str)."""

    def __init__(self, mod, case):
        self._mod = mod
        self.case = case

    def __getattr__(self, k):
        return getattr(self._mod, k)


def hostile_capture(path):
    sys.path.insert(0, os.path.join(HERE, "..", "limits"))
    import adversarial
    cap = adversarial.Pcap(path)
    # HTTP allows any byte from 0x80 in a header (obs-text): C1 and bidi
    # controls in UTF-8 reach the host and path
    c = adversarial.WsConn(cap, "evil", "10.9.0.1", 40000, "10.9.0.2", 8080,
                           host="evil\u202e.test", path="/p\u009b2J\u202e/x\u200b")
    c.open()
    evil = ["\x1b]0;owned\x07title", "\x1b[2J\x1b[Hclear", "csi \u009b31m red", "bidi \u202etxt.exe",
            "zero\u200bwidth", "bell\x07 nul\x00 del\x7f", "line1\nline2\r\n", "\x1bP1;2|payload\x1b\\"]
    for s in evil:
        c.message(0, 1, s.encode("utf-8"))
    c.message(1, 2, b"\x1b[31m\x00\xff binary")
    c.message(1, 1, b"\xc0\x80 invalid \x1b[0m")   # invalid UTF-8 text
    c.message(0, 9, b"\x1b[5mping")
    c.message(0, 8, b"\x03\xe8" + "\x1b[2Jbye\u202e".encode("utf-8"))
    cap.close()


def bad_bytes(b):
    """Control bytes a terminal acts on, C1 and bidi/format characters."""
    s = b.decode("utf-8", "replace")
    out = []
    for i, ch in enumerate(s):
        o = ord(ch)
        if (o < 0x20 and ch != "\n") or o == 0x7f or 0x80 <= o < 0xa0 or 0x200b <= o <= 0x200f or \
           0x202a <= o <= 0x202e or 0x2066 <= o <= 0x2069:
            out.append((i, hex(o)))
    return out


def run(e2e):
    case = e2e.case
    e2e = _Wrap(e2e, lambda name, ok, detail="": case(name, ok, str(detail)))
    d = os.path.join(e2e.TMP, "transcript")
    os.makedirs(d, exist_ok=True)
    for pcap, log in e2e.samples():
        check_sample(e2e, pcap, log)

    node = os.path.join(e2e.TOP, "samples", "ws-node.pcap")
    # the default when standard output is not a terminal
    rc, so, se = e2e.run_wscope(["-r", node])
    lines = so.splitlines()
    e2e.case("no output asked, standard output a pipe: the transcript (first line names the capture; "
             "no flow listing)",
             rc == 0 and lines[:1] == ["# wscope transcript of %s; times are UTC" % node] and
             any(MSG.match(x) for x in lines) and not any(x.startswith("flow ") for x in lines), lines[:3])
    rc, so, se = e2e.run_wscope(["-r", node, "--flows"])
    lines = so.splitlines()
    e2e.case("--flows: the TCP flow listing instead", rc == 0 and lines and
             all(x.startswith("flow ") for x in lines), lines[:2])
    rc, so, se = e2e.run_wscope(["-r", node, "--flows", "--text"])
    e2e.case("--flows with --text both on standard output: usage error, status 2",
             rc == 2 and "both write to standard output" in se, se[-200:])
    # | head: the first lines, and wscope ends at once
    p = subprocess.run("'%s' -r '%s' | head -4" % (e2e.WSCOPE, node), shell=True, capture_output=True,
                       timeout=60)
    hl = p.stdout.decode().splitlines()
    e2e.case("wscope -r ws-node.pcap | head -4: header, date, the connection's open line, its first message",
             len(hl) == 4 and hl[0].startswith("# wscope transcript") and OPEN.match(hl[2]) and MSG.match(hl[3]),
             hl)
    # a full disk
    rc, so, se = e2e.run_wscope(["-r", node, "--text=/dev/full"])
    e2e.case("--text=/dev/full: 'write failed' naming it, status 1",
             rc == 1 and "/dev/full: write failed" in se, se[-200:])
    # a capture without WebSocket says so
    rc, so, se = e2e.run_wscope(["-r", os.path.join(e2e.TOP, "samples", "tcp-transfer.pcap")])
    e2e.case("a capture without WebSocket: the transcript says so",
             rc == 0 and so.splitlines()[-1:] == ["# no WebSocket connection in this capture"], so[-200:])

    # hostile bytes: nothing a terminal acts on gets through
    evil = os.path.join(d, "evil.pcap")
    hostile_capture(evil)
    for env_lang in ("C.UTF-8", "C"):
        env = dict(os.environ, LC_ALL=env_lang)
        p = subprocess.run([e2e.WSCOPE, "-r", evil], capture_output=True, env=env, timeout=60)
        bad = bad_bytes(p.stdout)
        lines = p.stdout.decode("utf-8", "replace").splitlines()
        msgs = [x for x in lines if MSG.match(x)]
        e2e.case("hostile payloads, host and path (escape sequences, C1, bidi, NUL, DEL, invalid UTF-8), "
                 "LC_ALL=%s: no control or format character in the transcript, every message listed (%d)" % (
                     env_lang, len(msgs)),
                 p.returncode == 0 and not bad and len(msgs) == 12 and
                 (env_lang != "C" or all(ord(ch) < 128 for ch in p.stdout.decode("utf-8", "replace"))),
                 (bad[:5], lines[:6]))
        if env_lang == "C.UTF-8":
            esc = [x for x in msgs if "\\e]0;owned\\a" in x or "\\e[2J" in x]
            e2e.case("hostile payloads: escapes are shown, as \\e[2J and \\e]0;owned\\a", len(esc) >= 2,
                     msgs[:3])

    # --filter: the same records as without it, fewer of them
    py = os.path.join(e2e.TOP, "samples", "ws-python.pcap")
    rc, allrecs, bad, se = e2e.wscope_json(py)
    for expr, keep in (
            ("c2s text", lambda r: r["dir"] == "c2s" and r["opcode"] == "text"),
            ("close", lambda r: r["opcode"] == "close"),
            ("s2c binary ping", lambda r: r["dir"] == "s2c" and r["opcode"] in ("binary", "ping")),
            ("/hello|bye/", None)):
        rc, recs, bad, se = e2e.wscope_json(py, ["--filter", expr])
        if keep is None:
            # the regex runs on the payload kept (a close: its reason)
            def keep(r):
                if r["opcode"] == "close":
                    b = r.get("close_reason", "").encode("utf-8")
                else:
                    b = e2e.payload_of(r)
                return re.search(rb"hello|bye", b) is not None
        want_m = [r for r in allrecs if r["type"] == "message" and keep(r)]
        conns = {r["conn"] for r in want_m}
        want = [r for r in allrecs if (r["type"] == "message" and keep(r)) or
                (r["type"] in ("connection",) and r["id"] in conns) or (r["type"] == "end" and r.get("conn") in conns)]
        got = [r for r in recs if r["type"] != "warning"]
        e2e.case("--filter '%s' --json: %d records, each equal to one of the unfiltered output's (the %d "
                 "messages that pass, their connections and ends), in order" % (expr, len(want), len(want_m)),
                 rc == 0 and not bad and got == want and len(want_m) > 0,
                 (len(got), len(want), [x for x in got if x not in want][:1], [x for x in want if x not in got][:1]))
        rc, so, se = e2e.run_wscope(["-r", py, "--filter", expr])
        conns_t, msgs_t, ends_t, other = parse(so)
        e2e.case("--filter '%s' --text: the same %d messages, their connections and ends" % (expr, len(want_m)),
                 rc == 0 and [(m["conn"], m["dir"], m["opcode"], m["length"]) for m in msgs_t] ==
                 [(r["conn"], r["dir"], r["opcode"], r["length"]) for r in want_m] and
                 set(conns_t) == conns and set(ends_t) == conns, (len(msgs_t), len(want_m)))
    # connection fields: every message of the connections that pass
    host_conn = [r for r in allrecs if r["type"] == "connection"][1]
    rc, recs, bad, se = e2e.wscope_json(py, ["--filter", "conn:%d" % host_conn["id"]])
    want = [r for r in allrecs if r.get("conn", r.get("id")) == host_conn["id"] and r["type"] != "warning"]
    e2e.case("--filter conn:N --json: that connection's every record, as without the filter",
             rc == 0 and [r for r in recs if r["type"] != "warning"] == want and len(want) > 3, len(recs))
    rc, so, se = e2e.run_wscope(["-r", py, "--filter", "/[unclosed/"])
    e2e.case("--filter with a bad regex: usage error naming --filter, status 2, nothing read",
             rc == 2 and "--filter" in se and not so, se[-200:])
    rc, so, se = e2e.run_wscope(["-r", py, "--filter", "nothing-matches-this-word-xyz"])
    e2e.case("--filter that nothing passes: the transcript says so",
             rc == 0 and so.splitlines()[-1:] == ["# no connection or message passed the filter"],
             so[-200:])
