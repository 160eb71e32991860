"""The terminal UI, driven in tmux like a user: open a capture, read the
connection list, open a connection, search, filter, open a message, scroll,
export, save, go back, resize, quit; and the hostile captures of
tests/tui/mkcaps.py (terminal control in payloads and headers, wide
characters, a 6000-deep bracket nest, 400 MiB of compressed history, lost
bytes, every way a connection ends).

Truth comes from the endpoint logs of samples/, from the capture's own bytes
(tests/tui/tuitest.handshake), or from the sidecars mkcaps.py writes next to
each capture, never from wscope. One e2e.case per behaviour; every test
starts its own tmux session on a private tmux server and waits for what it
expects with a timeout."""
import base64
import errno
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TUIDIR = os.path.join(HERE, "..", "tui")
sys.path.insert(0, TUIDIR)
import tuitest  # noqa: E402
import outputs  # noqa: E402  (its tmpfs helper)
from tuitest import dwidth, dcol, strip_sgr  # noqa: E402

PYSYS = "/usr/bin/python3"   # Debian's, with python3-websockets (live test)
POS = re.compile(r"lines (\d+)-(\d+) of (\d+)")
# what a terminal must never receive from a payload: C0 (but newline), DEL,
# C1, and the bidi and zero-width format characters
FORBIDDEN = set(chr(c) for c in range(0x20) if c != 0x0a) | {"\x7f"} | \
    set(chr(c) for c in range(0x80, 0xa0)) | set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
                                                 "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u061c")
COLOUR_SGR = re.compile(r"^(3[0-8]|4[0-8]|9[0-7]|10[0-7])$")


class Ctx:
    def __init__(self, e2e):
        self.e2e = e2e
        self.tm = tuitest.Tmux("wscope-e2e-%d" % os.getpid())
        self.caps = os.path.join(e2e.TMP, "tuicaps")
        self.sample = os.path.join(e2e.TOP, "samples", "ws-node.pcap")
        self.log = os.path.join(e2e.TOP, "samples", "ws-node.endpoints.jsonl.gz")
        self.panes = []
        self.mkcaps_error = None

    def case(self, name, ok, detail=""):
        self.e2e.case("TUI: " + name, bool(ok), detail)

    def cap(self, name):
        return os.path.join(self.caps, name + ".pcap")

    def side(self, name):
        with open(os.path.join(self.caps, name + ".json")) as f:
            return json.load(f)

    def need(self, *names):
        """The captures exist (mkcaps.py ran); else one failed case."""
        missing = [n for n in names if not os.path.exists(self.cap(n))]
        if missing:
            self.e2e.case("TUI: captures %s made by tests/tui/mkcaps.py" % ",".join(missing), False,
                          self.mkcaps_error or "missing")
            return False
        return True

    def wscope(self, args, w=120, h=30, cwd=None, env=None):
        """wscope ARGS in a new tmux session (killed after the test)."""
        p = self.tm.pane([self.e2e.WSCOPE] + list(args), w=w, h=h, cwd=cwd, env=env)
        self.panes.append(p)
        return p

    def tmp(self, name):
        d = os.path.join(self.e2e.TMP, name)
        os.makedirs(d, exist_ok=True)
        return d

    def done(self):
        for p in self.panes:
            p.kill()
        self.panes = []


# ---------------------------------------------------------------- screen bits

def status(s):
    ls = s.rstrip("\n").split("\n")
    return ls[-2] if len(ls) >= 2 else ""


def loaded(s):
    st = status(s)
    return re.search(r" \d+ messages?\b", st) is not None and "LOADING" not in st


def wait_loaded(p, timeout=30):
    return p.wait(loaded, timeout)


def list_rows(s):
    """The rows of a list screen: between the title line and the status bar."""
    ls = s.rstrip("\n").split("\n")
    return [l for l in ls[1:-2] if l.strip()]


def detail(s):
    """A message detail screen: (header lines, body lines, (A, B, N) or None)."""
    ls = s.rstrip("\n").split("\n")
    pos_i = None
    for i in range(len(ls) - 1, -1, -1):
        if POS.search(ls[i]) and ls[i].startswith(" lines "):
            pos_i = i
            break
    if pos_i is None:
        return ls, [], None
    try:
        blank = ls.index("")
    except ValueError:
        blank = 0
    m = POS.search(ls[pos_i])
    return ls[:blank], ls[blank + 1:pos_i], (int(m.group(1)), int(m.group(2)), int(m.group(3)))


def is_detail(s):
    return s.startswith(" message ") and POS.search(s) is not None


def pos_of(s):
    return detail(s)[2]


def prompt(p, text, label):
    """Opens nothing: at a prompt ("search:", "filter:", "export NDJSON to:",
    "save payload to:"), clears what is there and types text."""
    ok, s = p.wait(lambda s: label in s, 3)
    p.keys("C-u")
    p.type(text)
    return ok


def visible(s):
    """What a screen shows as text, without tmux's colour sequences."""
    return strip_sgr(s)


def raw_controls(s_e):
    """Characters in a `capture-pane -e` screen that came raw from somewhere
    other than tmux's own SGR colour sequences."""
    rest = strip_sgr(s_e)
    bad = sorted({c for c in rest if c in FORBIDDEN})
    return ["U+%04X" % ord(c) for c in bad]


def colour_codes(s_e):
    """The colour parameters of the SGR sequences on a screen."""
    out = set()
    for m in tuitest.SGR.finditer(s_e):
        ps = m.group(0)[2:-1].replace(":", ";").split(";")
        i = 0
        while i < len(ps):
            if ps[i] in ("38", "48"):
                out.add(";".join(ps[i:i + 3]))
                i += 3 if i + 1 < len(ps) and ps[i + 1] == "5" else 5
                continue
            if COLOUR_SGR.match(ps[i]):
                out.add(ps[i])
            i += 1
    return out


def fits(lines, width):
    """Lines whose display width exceeds the terminal's."""
    return [(i, dwidth(l), l) for i, l in enumerate(lines) if dwidth(l) > width]


def match_wrapped(lines, text, width, margin=1):
    """Whether lines (the body of a message, wrapped at `width` columns with
    a `margin`-column left margin) show exactly `text`. A space that ends a
    wrapped line is invisible on a terminal (a blank cell), so spaces the
    line had room for may be missing at a line end. Returns (ok, why)."""
    pos = 0
    for i, l in enumerate(lines):
        if l[:margin].strip():
            return False, "line %d has no %d-column margin: %r" % (i, margin, l)
        c = l[margin:].rstrip(" ")
        if text[pos:pos + len(c)] != c:
            return False, "line %d: %r, expected %r" % (i, c, text[pos:pos + len(c)])
        pos += len(c)
        room = width - dwidth(l.rstrip(" "))
        while pos < len(text) and text[pos] == " " and room > 0:
            pos += 1
            room -= 1
    if pos != len(text):
        return False, "shown %d of %d characters; next %r" % (pos, len(text), text[pos:pos + 20])
    return True, ""


def endpoint_log(ctx):
    conns, sent = {}, {}
    with ctx.e2e.open_log(ctx.log) as f:
        for line in f:
            r = json.loads(line)
            if r["kind"] == "conn":
                conns[r["conn"]] = r
            elif r["kind"] == "msg" and r["role"] == "sent":
                sent.setdefault((r["conn"], r["dir"]), []).append(r)
    for v in sent.values():
        v.sort(key=lambda r: r["seq"])
    return conns, sent


def ep(ip, port):
    return "[%s]:%d" % (ip, port) if ":" in ip else "%s:%d" % (ip, port)


def shown_escape(b):
    """How the UI shows an untrusted byte string: controls as C-style
    escapes (\\e, \\a, \\b, \\r, \\xNN), C1 and format characters as \\uXXXX."""
    names = {0: "\\0", 7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 27: "\\e"}
    out = []
    for ch in b.decode("utf-8"):
        o = ord(ch)
        if o < 0x20 or o == 0x7f:
            out.append(names.get(o, "\\x%02x" % o))
        elif 0x80 <= o < 0xa0 or ch in FORBIDDEN:
            out.append("\\u%04x" % o)
        else:
            out.append(ch)
    return "".join(out)


CLOSE_MEANING = {1000: "normal closure", 1001: "going away", 1002: "protocol error",
                 1003: "unsupported data", 1007: "invalid", 1008: "policy", 1009: "too big",
                 1011: "internal"}


def close_meaning(code):
    """RFC 6455 section 7.4 and the IANA registry."""
    if code in CLOSE_MEANING:
        return CLOSE_MEANING[code]
    if 4000 <= code <= 4999:
        return "private use"
    if 3000 <= code <= 3999:
        return "registered"
    return str(code)


# ------------------------------------------------------------ ws-node: basics

def test_sample_walkthrough(ctx):
    """The behaviours the first UI tests covered, on samples/ws-node.pcap,
    in one session like a user would go: list, open, search, detail, help,
    filter, export, times, resize, quit."""
    conns, sent = endpoint_log(ctx)
    exp_dir = ctx.tmp("walk")
    p = ctx.wscope(["-r", ctx.sample], w=150, h=30, cwd=exp_dir)
    ok, s = wait_loaded(p)
    rows = list_rows(s)
    errs = []
    for k, c in sorted(conns.items()):
        cl, sv = ep(c["client"]["ip"], c["client"]["port"]), ep(c["server"]["ip"], c["server"]["port"])
        n_c2s, n_s2c = len(sent.get((k, "c2s"), [])), len(sent.get((k, "s2c"), []))
        codes = {d: [m["close_code"] for m in sent.get((k, d), []) if m["opcode"] == "close"] for d in ("c2s", "s2c")}
        want_state = "close %d both" % codes["c2s"][0] if codes["c2s"] and codes["s2c"] and codes["c2s"] == codes["s2c"] else None
        _, _, _, resp = tuitest.handshake(ctx.sample, c["client"]["ip"], c["client"]["port"])
        row = [r for r in rows if cl in r]
        if len(row) != 1:
            errs.append("conn %d: %d rows with %s" % (k, len(row), cl))
            continue
        r = row[0]
        if sv not in r or (want_state and want_state not in r) or \
                not re.search(r"\b%d +%d\b" % (n_c2s, n_s2c), r):
            errs.append("conn %d row %r: want %s, %s, %d/%d messages" % (k, r, sv, want_state, n_c2s, n_s2c))
        if "permessage-deflate" in resp.get("sec-websocket-extensions", "") and not re.search(r"\bdeflate\b", r.split(None, 2)[2].split("/deflate")[-1]):
            errs.append("conn %d: deflate not noted: %r" % (k, r))
    ctx.case("the connection list shows each connection (endpoints from the endpoint log), its state "
             "'close 4000 both', its message counts each way and deflate", ok and not errs,
             "; ".join(errs) + "\n" + s)

    # Enter: conn 1's messages, newest (the server's close) at the bottom
    reason = [m for m in sent[(1, "s2c")] if m["opcode"] == "close"][0]["close_reason"]
    last_c2s_text = [base64.b64decode(m["b64"]).decode() for m in sent[(1, "c2s")] if m["opcode"] == "text"][-1]
    p.keys("Enter")
    ok, s = p.wait(last_c2s_text)
    rows = list_rows(s)
    ctx.case("Enter opens a connection's messages, newest at the bottom, wide characters intact",
             ok and rows and "<- close" in rows[-1] and reason in rows[-1] and
             any(" -> " in r for r in rows) and any(" <- " in r for r in rows), s)

    # / with a regex: the search is shown, the cursor on the match
    split = [m for m in sent[(1, "c2s")] if m["opcode"] == "text" and
             "split inside" in base64.b64decode(m["b64"]).decode("utf-8", "replace")][0]
    split_text = base64.b64decode(split["b64"]).decode()
    p.keys("g", "/")
    prompt(p, "/split.*char/", "search:")
    p.keys("Enter")
    ok, s = p.wait("search: /split.*char/")
    ctx.case("/ searches with a regex and shows the active search", ok, s)
    p.keys("Enter")
    ok, s = p.wait(lambda s: s.startswith(" message "))
    ctx.case("Enter on the match opens it in detail: its length (from the endpoint log), text, and the "
             "frames that made it (a ping between them excluded)",
             ok and "text, %d bytes" % split["len"] in s and split_text in s and
             "frame 1: --- MASK rsv=0 text" in s and "frame 3: FIN MASK" in s and "frame 4" not in s, s)
    p.keys("Escape")
    p.wait(lambda s: not s.startswith(" message "))
    p.keys("?")
    ok, s = p.wait("wscope keys")
    ctx.case("? lists the keys", ok and "search" in s and "filter" in s, s)
    p.keys("q")
    p.wait(lambda s: "wscope keys" not in s)

    # f: only the server's text messages; the filter is shown
    p.keys("f")
    prompt(p, "s2c text", "filter:")
    p.keys("Enter")
    ok, s = p.wait("FILTER: dir:s2c op:text")
    rows = [l for l in list_rows(s) if " -> " in l or " <- " in l]
    want = [base64.b64decode(m["b64"]).decode() for m in sent[(1, "s2c")] if m["opcode"] == "text"]
    ctx.case("f filters the list (s2c text only: as many rows as the server sent texts) and shows the "
             "active filter", ok and len(rows) == len(want) and all(" <- text" in l for l in rows), s)

    # e: export the listed messages; the file holds what the server sent
    before = set(os.listdir(exp_dir))
    p.keys("e")
    ok1, s = p.wait("export NDJSON to:")
    p.keys("Enter")
    ok, s = p.wait("exported")
    new = sorted(set(os.listdir(exp_dir)) - before)
    good = False
    got = None
    if ok and len(new) == 1:
        with open(os.path.join(exp_dir, new[0])) as f:
            recs = [json.loads(x) for x in f]
        got = [r["text"] for r in recs if r["type"] == "message"]
        good = got == want and len(got) > 0 and ("to " + os.path.join(exp_dir, new[0])) in s
    ctx.case("e exports the filtered messages as NDJSON (default name, in the working directory) and "
             "says where; they are what the server sent", ok1 and good, "files %s, texts %s\n%s" % (new, got, s))

    # times: local by default, t goes to UTC, then to times since the
    # connection's start
    ok0 = any(re.match(r"\d\d:\d\d:\d\d\.\d{6} <- text", l.strip()) for l in p.screen().split("\n"))
    p.keys("t")
    ok1, s = p.wait(lambda s: "UTC" in s.split("\n")[0] and
                    any(re.match(r"\d\d:\d\d:\d\d\.\d{6} <- text", l.strip()) for l in s.split("\n")))
    p.keys("t")
    ok, s = p.wait(lambda s: any(re.match(r"\d+\.\d{6} <- text", l.strip()) for l in s.split("\n")))
    ctx.case("times are local by default, t shows UTC (said in the title), t again the time since the "
             "connection's start", ok0 and ok1 and ok, s)

    # clear the filter, then resize
    p.keys("f")
    prompt(p, "", "filter:")
    p.keys("Enter")
    p.wait(lambda s: "FILTER:" not in s)
    p.resize(70, 15)
    ok, s = p.wait(lambda s: "? help" in s and all(dwidth(l) <= 70 for l in s.split("\n"))
                   and len(s.rstrip("\n").split("\n")) <= 15)
    ctx.case("a resize redraws to the new size", ok, s)
    p.keys("q")
    p.wait(lambda s: s.startswith(" id ") or "host/path" in s.split("\n")[0])
    p.keys("q")
    ok, s = p.wait("EXITED 0")
    ctx.case("q goes back, and quits from the connection list", ok, s)


# ------------------------------------------------------------------- resize

def test_resize(ctx):
    """A resize is drawn at the new size at once (the terminal tells the
    program with SIGWINCH); measured from tmux resize-window until the
    title is on the first row and the key bar on the last."""
    if not ctx.need("korean"):
        return
    p = ctx.wscope(["-r", ctx.cap("korean")], w=120, h=30)
    wait_loaded(p)
    p.keys("Enter")
    p.wait(lambda s: s.startswith(" conn 1 "))
    times = []
    fail = None
    for w, h in ((60, 10), (100, 20), (50, 12), (120, 30), (70, 15)):
        t0 = time.time()
        p.resize(w, h)

        def redrawn(s, w=w, h=h):
            ls = s.split("\n")
            return len(ls) >= h and ls[0].startswith(" conn 1 ") and ls[h - 1].startswith(" ? help") \
                and ls[h - 2].strip() and all(dwidth(l) <= w for l in ls)
        ok, s = p.wait(redrawn, 5)
        times.append((w, h, time.time() - t0 if ok else None))
        if not ok and fail is None:
            fail = s
        time.sleep(0.2)
    # tiny sizes and back: no crash, the full screen again
    for w, h in ((10, 3), (2, 10), (1, 1), (20, 5)):
        p.resize(w, h)
        time.sleep(0.3)
    p.resize(80, 20)
    p.keys("k")      # a key: whatever the resize did, the screen is drawn now
    ok2, s2 = p.wait(lambda s: s.startswith(" conn 1 ") and "? help" in s.split("\n")[19] if
                     len(s.split("\n")) > 19 else False, 5)
    p.keys("Q")
    ok3, _ = p.wait("EXITED 0")
    ctx.case("a resize is drawn at the new size within 0.5 s (measured: %s)" % ", ".join(
        "%dx%d %s" % (w, h, "%.2f s" % t if t is not None else "never") for w, h, t in times),
        all(t is not None and t < 0.5 for _, _, t in times), fail or "")
    ctx.case("resizing down to 1x1 and back: no crash, the screen is whole again, Q exits 0", ok2 and ok3, s2)


# ------------------------------------------------------------------- 1 search

def test_search_no_match(ctx):
    p = ctx.wscope(["-r", ctx.sample], w=120, h=30)
    wait_loaded(p)
    p.keys("Enter")
    ok0, s = p.wait(lambda s: s.startswith(" conn 1 "))
    p.keys("/")
    prompt(p, "xyzzy-in-no-message", "search:")
    p.keys("Enter")
    ok, s = p.wait("no match")
    p.keys("n")
    time.sleep(0.2)
    p.keys("N", "k")
    s2 = p.settle()
    alive = s2.startswith(" conn 1 ") and loaded(s2) and len(list_rows(s2)) > 5
    p.keys("q")
    p.wait(lambda s: "host/path" in s.split("\n")[0])
    p.keys("q")
    ok2, s3 = p.wait("EXITED 0")
    ctx.case("/ for text in no message, Enter: says 'no match', n and N still answer, the list is drawn, "
             "q q exits with status 0", ok0 and ok and alive and ok2, s + "\n---\n" + s2 + "\n---\n" + s3)

    # the same from a message's detail view
    p = ctx.wscope(["-r", ctx.sample], w=120, h=30)
    wait_loaded(p)
    p.keys("Enter")
    p.wait(lambda s: s.startswith(" conn 1 "))
    p.keys("Enter")
    ok0, s = p.wait(is_detail)
    p.keys("/")
    prompt(p, "xyzzy-in-no-message", "search:")
    p.keys("Enter")
    ok, s = p.wait("no match")
    p.keys("n")
    s2 = p.settle()
    p.keys("Q")
    ok2, s3 = p.wait("EXITED 0")
    ctx.case("/ with no match from a message's detail view: 'no match', still alive, Q exits 0",
             ok0 and ok and loaded(s2) and ok2, s + "\n---\n" + s2 + "\n---\n" + s3)


# ----------------------------------------------------------------- 2 brackets

def open_message(p, conn_key_steps, timeout=5):
    """From the message list: g, j * n, Enter; waits for the detail view."""
    p.keys("g")
    for _ in range(conn_key_steps):
        p.keys("j")
    p.keys("Enter")
    return p.wait(is_detail, timeout)


def test_brackets(ctx):
    if not ctx.need("brackets"):
        return
    side = ctx.side("brackets")
    msg = [m for m in side["connections"][0]["messages"] if m.get("label") == "brackets"][0]
    text = msg["text"]
    p = ctx.wscope(["-r", ctx.cap("brackets")], w=100, h=30)
    wait_loaded(p)
    p.keys("Enter")
    p.wait(lambda s: s.startswith(" conn 1 "))
    ok, s = open_message(p, 0)
    errs = []
    shots = []
    body_rows = None

    def check(label, s, want_a=None, want_b=None, view="JSON"):
        nonlocal body_rows
        head, body, pos = detail(s)
        shots.append("%s:\n%s" % (label, s))
        if pos is None:
            errs.append("%s: no position line" % label)
            return None
        a, b, n = pos
        if body_rows is None:
            body_rows = len(body)
        if not (1 <= a <= b <= n) or b - a + 1 != min(len(body), n):
            errs.append("%s: lines %d-%d of %d with %d body rows" % (label, a, b, n, len(body)))
        shown = [l for l in body[:b - a + 1] if l.strip()]
        if len(shown) != b - a + 1:
            errs.append("%s: %d of the %d lines %d-%d blank" % (label, b - a + 1 - len(shown), b - a + 1, a, b))
        if not any(c in "[]" for l in shown for c in l):
            errs.append("%s: no bracket on the screen" % label)
        if want_a is not None and a != want_a:
            errs.append("%s: starts at line %d, want %d" % (label, a, want_a))
        if want_b is not None and b != want_b:
            errs.append("%s: ends at line %d, want %d" % (label, b, want_b))
        if "6000 bytes" not in head[0] if head else True:
            errs.append("%s: header %r" % (label, head[:1]))
        return pos

    p0 = check("opened", s, want_a=1)
    if p0:
        n = p0[2]
        steps = [("G", lambda a, b: (None, n)), ("PgUp", None), ("PgDn", lambda a, b: (None, n)),
                 ("g", lambda a, b: (1, None)), ("End", lambda a, b: (None, n)), ("Home", lambda a, b: (1, None)),
                 ("PgDn", None), ("Down", None), ("Up", None)]
        prev = p0
        for key, want in steps:
            p.keys(key)
            s = p.settle()
            wa, wb = want(*prev[:2]) if want else (None, None)
            if key == "PgUp":
                page = prev[1] - prev[0] + 1
                wa = max(1, prev[0] - page)
            if key == "PgDn" and want is None:
                page = prev[1] - prev[0] + 1
                wa = min(prev[0] + page, n - page + 1)
            if key == "Down":
                wa = min(prev[0] + 1, n - (prev[1] - prev[0]))
            if key == "Up":
                wa = max(1, prev[0] - 1)
            got = check(key, s, wa, wb)
            prev = got or prev
        # G in the text view, the hex view, and with wrapping off
        for key, label in (("x", "view: text"), ("x", "view: hex"), ("x", "view: auto"), ("w", "not wrapped")):
            p.keys(key)
            ok, s = p.wait(label)
            p.keys("G")
            s = p.settle()
            head, body, pos = detail(s)
            if pos is None or pos[1] != pos[2] or not any(l.strip() for l in body):
                errs.append("G after %s: blank or not at the end: %s" % (label, pos))
                shots.append("G after %s:\n%s" % (label, s))
        p.keys("Right", "Right", "Left")
        s = p.settle()
        if detail(s)[2] is None:
            errs.append("Left/Right: no position line")
    p.keys("q")
    p.wait(lambda s: s.startswith(" conn 1 "))
    p.keys("q", "q")
    ok2, s = p.wait("EXITED 0")
    ctx.case("brackets: the 6000-byte nest opens; G, PgUp, PgDn, g, End, Home, Down, Up keep "
             "'lines A-B of N' consistent with the rows shown, G never shows a blank body (JSON, text, "
             "hex, unwrapped), and it quits cleanly", ok and not errs and ok2,
             "; ".join(errs[:8]) + "\n" + "\n".join(shots[-3:]) + "\n" + s)

    # the whole pretty-printed nest, page by page on a tall terminal: every
    # bracket is there, in order, one to a line (an empty [] on its own)
    p = ctx.wscope(["-r", ctx.cap("brackets")], w=100, h=200)
    wait_loaded(p)
    p.keys("Enter")
    p.wait(lambda s: s.startswith(" conn 1 "))
    ok, s = open_message(p, 0)
    lines = {}
    n = None
    guard = 0
    while ok and guard < 100:
        guard += 1
        head, body, pos = detail(s)
        if pos is None:
            break
        a, b, n = pos
        for i in range(a, b + 1):
            lines[i] = body[i - a]
        if b >= n:
            break
        p.keys("PgDn")
        ok, s = p.wait(lambda s, a=a: pos_of(s) is not None and pos_of(s)[0] != a)
    full = n is not None and len(lines) == n
    joined = "".join(lines[i].strip() for i in sorted(lines))
    odd = [(i, lines[i].strip()) for i in sorted(lines) if lines[i].strip() not in ("[", "]", "[]")]
    p.keys("Q")
    ctx.case("brackets: paging through all %s lines shows the 6000 brackets in order, nothing lost"
             % n, full and joined == text, "pages read %d, lines %d of %s, brackets %d of %d" % (
                 guard, len(lines), n, len(joined), len(text)))
    ctx.case("brackets: the pretty-printer puts one bracket on each line ([] for the empty innermost "
             "array)", full and not odd, "lines that are not '[', ']' or '[]': %s" % odd[:5])


# ----------------------------------------------------------------- 3 controls

def test_controls(ctx):
    if not ctx.need("controls"):
        return
    side = ctx.side("controls")
    msgs = side["connections"][0]["messages"]
    p = ctx.wscope(["-r", ctx.cap("controls")], w=140, h=40)
    title0 = p.title()
    wait_loaded(p)
    p.keys("Enter")
    ok, s = p.wait(lambda s: s.startswith(" conn 1 "))
    raw = {}
    shots = {}
    s_e = p.screen(e=True)
    raw["message list"] = raw_controls(s_e)
    list_text = visible(s_e)
    shots["message list"] = list_text
    # every message, opened in detail: auto, text and hex views
    seen = set()
    p.keys("g")
    p.settle()
    detail_text = ""
    for step in range(len(msgs) + 6):
        p.keys("Enter")
        okd, s = p.wait(lambda s: not s.startswith(" conn 1 "), 1.5)
        if okd and is_detail(s):
            m = re.match(r" message (\d+) of conn", s)
            idx = int(m.group(1)) if m else None
            seen.add(idx)
            for view in ("auto", "text", "hex"):
                if view != "auto":
                    p.keys("x")
                    p.wait("view: " + view, 2)
                s_e = p.screen(e=True)
                raw["message %s %s" % (idx, view)] = raw_controls(s_e)
                shots["message %s %s" % (idx, view)] = visible(s_e)
                detail_text += visible(s_e)
            p.keys("x")      # back to auto
            p.wait("view: auto", 2)
        elif okd:
            s_e = p.screen(e=True)     # a warning row's own screen
            raw["row %d opened" % step] = raw_controls(s_e)
            detail_text += visible(s_e)
        if okd:
            p.keys("q")
            p.wait(lambda s: s.startswith(" conn 1 "), 2)
        if len(seen) >= len(msgs):
            break
        p.keys("j")
        p.settle(0.1)
    # the connection detail too
    p.keys("i")
    p.wait("in detail")
    s_e = p.screen(e=True)
    raw["connection detail"] = raw_controls(s_e)
    p.keys("G")
    s_e = p.screen(e=True)
    raw["connection detail end"] = raw_controls(s_e)
    title = p.title()
    bufs = ctx.tm.buffers()
    p.keys("q")
    leaks = {k: v for k, v in raw.items() if v}
    ctx.case("controls: every message opened (%d of %d) in the list and in detail (auto, text, hex "
             "views): no raw control, C1, bidi or zero-width character reaches the terminal, only "
             "tmux's own colour sequences" % (len(seen - {None}), len(msgs)),
             not leaks and len(seen - {None}) == len(msgs),
             "raw characters: %s; opened %s" % (leaks, sorted(x for x in seen if x)))
    want = ["\\e[2J", "\\e]0;pwned-title\\a", "\\e]52;c;cHduZWQ=\\a", "\\b", "\\r", "\\u202e", "\\u200b",
            "\\u009b", "\\e[31mred\\e[0m"]
    by_label = {m.get("label"): m for m in msgs}
    for lab in ("esc_clear", "osc_title", "cr", "zero_width", "bidi", "c1", "sgr_red"):
        want.append(shown_escape(base64.b64decode(by_label[lab]["b64"]))[:40])
    missing = [w for w in want if w not in list_text and w not in detail_text]
    ctx.case("controls: the controls are shown as visible escapes (\\e, \\a, \\b, \\r, \\u009b, \\u202e, "
             "\\u200b ...)", not missing, "not on any screen: %s\n%s" % (missing, list_text))
    bs = base64.b64decode(by_label["backspaces"]["b64"])
    ctx.case("controls: 'cmd: rm -rf /home' stays readable, not overwritten by the backspaces after it",
             "cmd: rm -rf /home" + "\\b" * bs.count(b"\x08") in list_text, list_text)
    ctx.case("controls: the window title and the clipboard were not changed (OSC 0 / OSC 52 in payloads)",
             "pwned" not in title and "c1-title" not in title and title == title0 and "pwned" not in bufs
             and "cHduZWQ" not in bufs, "title before %r after %r; tmux buffers %r" % (title0, title, bufs))


# ------------------------------------------------------------------- 4 badkey

def test_badkey(ctx):
    if not ctx.need("badkey"):
        return
    side = ctx.side("badkey")
    c = side["connections"][0]
    key_shown = shown_escape(c["key"].encode())
    host_shown = shown_escape(c["host"].encode())
    cmd = "echo MARKER-BEFORE-RUN; %s -r %s --json >/dev/null" % (shlex.quote(ctx.e2e.WSCOPE), shlex.quote(ctx.cap("badkey")))
    p = ctx.tm.pane(cmd, w=120, h=30)
    ctx.panes.append(p)
    title0 = p.title()
    ok, s = p.wait("EXITED")
    sj = p.screen(J=True)
    s_e = p.screen(e=True)
    title = p.title()
    bufs = ctx.tm.buffers()
    ctx.case("badkey on stderr: the accept_mismatch warning quotes the key with its ESC shown as \\e "
             "(the sidecar's key, escaped), the screen was not cleared, the title and clipboard not set",
             ok and "accept_mismatch" in sj and key_shown in sj.replace("\n", "") and "MARKER-BEFORE-RUN" in s
             and not raw_controls(s_e) and "pwned" not in title and "pwned" not in bufs and "EXITED 0" in s,
             "want %r; title %r (was %r); raw %s\n%s" % (key_shown, title, title0, raw_controls(s_e), sj))
    p.kill()

    p = ctx.wscope(["-r", ctx.cap("badkey")], w=120, h=40)
    ok, s = wait_loaded(p)
    raw = {"list": raw_controls(p.screen(e=True))}
    row_ok = any(host_shown[:20] in r for r in list_rows(s))
    p.keys("i")
    ok1, s1 = p.wait("in detail")
    raw["detail"] = raw_controls(p.screen(e=True))
    acc = [l for l in s1.split("\n") if l.strip().startswith("Sec-WebSocket-Accept")]
    host = [l for l in s1.split("\n") if l.strip().startswith("Host ")]
    p.keys("G")
    ok2, s2 = p.wait("accept_mismatch")
    s2j = "".join(l.strip() for l in s2.split("\n"))   # the warning wraps, indented
    raw["detail end"] = raw_controls(p.screen(e=True))
    p.keys("q")
    p.wait(lambda s: "host/path" in s.split("\n")[0])
    p.keys("Enter")
    ok3, s3 = p.wait(lambda s: s.startswith(" conn 1 "))
    raw["messages"] = raw_controls(p.screen(e=True))
    title = p.title()
    p.keys("q", "q")
    ok4, s4 = p.wait("EXITED 0")
    leaks = {k: v for k, v in raw.items() if v}
    ctx.case("badkey in the UI: the Host (ESC [2J) shown escaped in the list and the detail, the accept "
             "shown as not matching (accept_ok false), the warning quotes the escaped key, a warning row "
             "in the messages; nothing raw reaches the terminal, the title is unchanged",
             ok and row_ok and ok1 and host and host_shown in host[0] and acc and "matches the key" not in acc[0]
             and "not" in acc[0].lower() and ok2 and key_shown in s2j
             and ok3 and "warning accept_mismatch" in s3 and not leaks and "pwned" not in title and ok4,
             "host %r want %r; accept %r; raw %s; title %r\n%s\n---\n%s\n---\n%s" % (
                 host, host_shown, acc, leaks, title, s, s2, s3))


# ----------------------------------------------------------------- 5 widehost

def column_check(s, width):
    """The columns after host/path start at the same display column on
    every row: protocol and state where their headings start, the counts
    ending where their headings end."""
    ls = s.rstrip("\n").split("\n")
    head = ls[0]
    rows = list_rows(s)
    want = {"protocol": head.index("protocol"), "state": head.index("state")}
    for h in ("c2s", "s2c", "bytes>", "bytes<"):
        want[h] = head.index(h) + len(h)
    errs = []
    for r in rows:
        m = re.match(r"^( *\d+ +\S+ +)(\S+)( +)(close \d+ \S+|\S[^ ]*(?: [^ ]+)*?)( +)(\d+)( +)(\d+)( +)(\S+)( +)(\S+)", r)
        if not m:
            errs.append("row not parsed: %r" % r)
            continue
        got = {"protocol": dcol(r, m.start(2)), "state": dcol(r, m.start(4)),
               "c2s": dcol(r, m.end(6)), "s2c": dcol(r, m.end(8)), "bytes>": dcol(r, m.end(10)),
               "bytes<": dcol(r, m.end(12))}
        for k, v in want.items():
            if got[k] != v:
                errs.append("row %r: %s at display column %d, heading at %d" % (r.split()[0], k, got[k], v))
        if dwidth(r) > width:
            errs.append("row %r is %d columns wide" % (r.split()[0], dwidth(r)))
    return rows, errs


def test_widehost(ctx):
    if not ctx.need("widehost"):
        return
    side = ctx.side("widehost")
    for w in (100, 120):
        p = ctx.wscope(["-r", ctx.cap("widehost")], w=w, h=12)
        ok, s = wait_loaded(p)
        rows, errs = column_check(s, w)
        if len(rows) != side["ws_connections"]:
            errs.append("%d rows, %d connections" % (len(rows), side["ws_connections"]))
        # each host is shown (whole, or cut with an ellipsis, never half a
        # character; host and path are cut in the middle, so what precedes
        # the ellipsis is the host's beginning)
        for h, r in zip(side["hosts"], rows):
            cell = r.split()[1]
            shown = cell.split("\u2026")[0]
            if not (h + "/").startswith(shown[:len(h)]) and not h.startswith(shown):
                errs.append("host %r shown as %r" % (h, cell))
        ctx.case("widehost at %d columns: protocol, state and counts line up on every row (display "
                 "columns, wide characters 2), hosts shown whole or cut at a character" % w,
                 ok and not errs, "; ".join(errs) + "\n" + s)
        p.keys("Q")


# ------------------------------------------------------------------- 6 korean

def test_korean(ctx):
    if not ctx.need("korean"):
        return
    side = ctx.side("korean")
    msgs = side["connections"][0]["messages"]
    texts = [m for m in msgs if m["opcode"] == "text"]
    for w in (80, 100):
        p = ctx.wscope(["-r", ctx.cap("korean")], w=w, h=40)
        wait_loaded(p)
        p.keys("Enter")
        p.wait(lambda s: s.startswith(" conn 1 "))
        errs = []
        shots = []
        for m in texts:
            ok, s = open_message(p, m["index"] - 1)
            hdr = "message %d of conn 1" % m["index"]
            if not ok or hdr not in s:
                errs.append("message %d did not open" % m["index"])
                shots.append(s)
                p.keys("q")
                continue
            for view in ("auto", "text"):
                if view == "text":
                    p.keys("x")
                    p.wait("view: text")
                s = p.screen(N=True)
                ls = s.rstrip("\n").split("\n")
                head, body, pos = detail(s)
                wide = fits(ls, w)
                if wide:
                    errs.append("message %d %s: lines wider than %d: %s" % (m["index"], view, w, wide[:2]))
                if pos is None or pos[1] != pos[2]:
                    errs.append("message %d %s: not all on one page: %s" % (m["index"], view, pos))
                    continue
                body = body[:pos[1] - pos[0] + 1]
                if view == "text" or not m["text"].startswith("{"):
                    good, why = match_wrapped(body, m["text"], w)
                else:
                    # pretty-printed JSON: the same characters, apart from layout spaces
                    joined = "".join(l.strip() for l in body).replace(" ", "")
                    good, why = joined == m["text"].replace(" ", ""), "JSON body %r" % joined[:80]
                if not good:
                    errs.append("message %d (%s, %d chars) %s view: %s" % (m["index"], m.get("label"),
                                                                       len(m["text"]), view, why))
                    shots.append(s)
            p.keys("x", "x")
            p.wait("view: auto")
            p.keys("q")
            p.wait(lambda s: s.startswith(" conn 1 "))
        # not wrapped: Left/Right show a contiguous piece of the text, never half a character
        m = [x for x in texts if x.get("label") == "nospace_300"][0]
        okm, sm = open_message(p, m["index"] - 1)
        p.keys("w")
        p.wait("not wrapped")
        pieces = []
        for step in range(12):
            sc = p.screen()
            head, body, pos = detail(sc)
            line = body[0] if body else ""
            piece = line[1:].strip(" ")
            wide = fits(sc.rstrip("\n").split("\n"), w)
            if not piece or piece not in m["text"] or wide:
                errs.append("unwrapped, %d x Right: %r is not a piece of the text (or too wide %s)" % (step, line, wide))
                break
            pieces.append(m["text"].index(piece))
            p.keys("Right")
            p.wait(lambda s, sc=sc: s != sc, 1)
        if len(pieces) > 1 and not (pieces == sorted(pieces) and pieces[-1] > pieces[0]):
            errs.append("Right does not move along the text: offsets %s" % pieces)
        for _ in range(20):
            p.keys("Left")
        p.settle()
        head, body, pos = detail(p.screen())
        if not body or not m["text"].startswith(body[0][1:].rstrip(" ")):
            errs.append("Left back to the start: %r" % (body[:1],))
        p.keys("w")
        p.keys("q")
        p.wait(lambda s: s.startswith(" conn 1 "))
        p.keys("Q")
        ctx.case("korean at %d columns: in the message detail every line fits and the text (auto and "
                 "text views) is the sidecar's text, no character split or lost (%d messages); unwrapped, Left/Right "
                 "scroll through it" % (w, len(texts)),
                 not errs, "; ".join(errs[:6]) + "\n" + "\n".join(shots[:2]))


# -------------------------------------------------------------- 7 deflate-big

def test_deflate_big(ctx):
    if not ctx.need("deflate-big"):
        return
    side = ctx.side("deflate-big")
    c = side["connections"][0]
    nmsg = c["messages_c2s"] + c["messages_s2c"]
    cap = ctx.cap("deflate-big")
    # A small ASan quarantine, as tests/limits does, so that freed memory is
    # given back and peak RSS measures what wscope holds (no effect on a
    # build without ASan).
    asan = (os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=8").lstrip(":")
    p = ctx.wscope(["--tui-memory", "64M", "-r", cap], w=120, h=30, env={"ASAN_OPTIONS": asan})
    pat = "^" + re.escape(ctx.e2e.WSCOPE) + " --tui-memory 64M -r " + re.escape(cap) + "$"
    pid = None
    hwm = 0
    t0 = time.time()
    ok = False
    s = ""
    while time.time() - t0 < 120:
        if pid is None:
            pids = tuitest.pgrep(pat)
            pid = pids[0] if len(pids) == 1 else None
        if pid is not None:
            v = tuitest.proc_status(pid, "VmHWM")
            hwm = max(hwm, v or 0)
        s = p.screen()
        if loaded(s):
            ok = True
            break
        time.sleep(0.1)
    load_s = time.time() - t0
    if pid is not None:
        hwm = max(hwm, tuitest.proc_status(pid, "VmHWM") or 0)
    st = status(s)
    limit = (64 + 120) * 1024
    ctx.case("deflate-big (400 x 1 MiB) with --tui-memory 64M: peak RSS %.1f MiB (VmHWM), under 64 MiB "
             "+ 120 MiB; loaded in %.1f s" % (hwm / 1024.0, load_s),
             ok and pid is not None and 0 < hwm < limit, "pid %s, VmHWM %d kB\n%s" % (pid, hwm, s))
    ctx.case("deflate-big: the status bar shows the sidecar's %d messages and that payloads were "
             "released (memory cap)" % nmsg,
             ok and re.search(r"\b%d messages\b" % nmsg, st) and "memory cap" in st and "released" in st, st)
    p.keys("Enter")
    p.wait(lambda s: s.startswith(" conn 1 "))
    ok1, s1 = open_message(p, 0)
    p.keys("q")
    p.wait(lambda s: s.startswith(" conn 1 "))
    # the newest big message is kept: its text is the sidecar's
    last_big = [m for m in c["messages"] if m.get("label") == "big"][-1]
    p.keys("G", "k", "k")     # the two close frames are last
    p.settle()
    p.keys("Enter")
    ok2, s2 = p.wait(is_detail)
    first_line = last_big["head"].split("\n")[0]
    body = detail(s2)[1]
    ok2b = ok2 and ("message %d of conn 1" % last_big["index"]) in s2 and \
        ("%d bytes" % last_big["length"]) in s2 and body and body[0].strip() == first_line
    if pid is not None:
        hwm = max(hwm, tuitest.proc_status(pid, "VmHWM") or 0)
    p.keys("Q")
    ctx.case("deflate-big: opening an old message says 'payload released'; the newest is shown "
             "(1 MiB, its text from the sidecar); peak RSS after opening it %.1f MiB" % (hwm / 1024.0),
             ok1 and "payload released" in s1 and ok2b and hwm < limit, s1 + "\n---\n" + s2)


# -------------------------------------------------------------------- 8 lossy

def test_lossy(ctx):
    if not ctx.need("lossy", "eof", "fin-noclose", "rst", "close4001"):
        return
    side = ctx.side("lossy")
    lost = side["lost"]
    dirname = {"s2c": "server -> client", "c2s": "client -> server"}[lost["dir"]]
    p = ctx.wscope(["-r", ctx.cap("lossy")], w=150, h=50)
    ok, s = wait_loaded(p)
    rows = list_rows(s)
    ctx.case("lossy: the connection list marks the loss (LOST %dB)" % lost["bytes"],
             ok and len(rows) == 1 and "LOST %dB" % lost["bytes"] in rows[0], s)
    p.keys("Enter")
    ok, s = p.wait(lambda s: s.startswith(" conn 1 ") and "lost" in s)
    rows = list_rows(s)
    loss = "-- %d bytes lost, %s --" % (lost["bytes"], dirname)
    ctx.case("lossy: the messages list has the row '%s' and a warning row ws_lost_sync" % loss,
             ok and any(loss in r for r in rows) and any("warning ws_lost_sync" in r for r in rows), s)
    # every client message, and the server's before the gap, in order
    texts = [r.split(None, 4)[-1] for r in rows if re.search(r" (->|<-) text ", r)]
    want_c = side["seen"]["c2s"]
    want_s = [t for t in side["seen"]["s2c"] if int(t.split()[-1]) < int(lost["message"].split()[-1])]
    got_c = [t for t in texts if t.startswith("client")]
    got_s = [t for t in texts if t.startswith("server")]
    ctx.case("lossy: all %d client messages and the %d server messages before the gap are listed in order"
             % (len(want_c), len(want_s)), got_c == want_c and got_s == want_s,
             "client %s\nserver %s\n%s" % (got_c, got_s, s))
    # f on the messages: a phrase, loss, warning, a direction and a regex
    res = []
    shown_s2c = want_s
    for words, want in (('"message 1"', [t for t in want_c + shown_s2c if re.search(r"message 1\b|message 1\d", t)]),
                        ("c2s /message [12]$/", [t for t in want_c if re.search(r"message [12]$", t)]),
                        ("s2c text", shown_s2c),
                        ("loss", ["LOSS"]), ("warning", ["WARNING"])):
        p.keys("f")
        prompt(p, words, "filter:")
        p.keys("Enter")
        okf, sf = p.wait("FILTER:")
        sf = p.settle()
        got = []
        for r in list_rows(sf):
            if "bytes lost" in r:
                got.append("LOSS")
            elif " warning " in r:
                got.append("WARNING")
            elif re.search(r" (->|<-) text ", r):
                got.append(r.split(None, 4)[-1])
            else:
                got.append(r)
        if want in (["LOSS"], ["WARNING"]):
            good = got == want
        else:
            good = sorted(got, key=str) == sorted(want, key=str)
        res.append((words, good, got if not good else ""))
    p.keys("f")
    prompt(p, "", "filter:")
    p.keys("Enter")
    p.wait(lambda s: "FILTER:" not in s)
    ctx.case("lossy: f on the messages list with a phrase, c2s + /regex/, s2c text, loss, warning keeps "
             "exactly the rows the sidecar says", all(g for _, g, _ in res), "%s" % [r for r in res if not r[1]])
    # t: UTC times are the sidecar's
    p.keys("t")  # local (the default) -> UTC
    ok, s = p.wait(lambda s: "UTC" in s.split("\n")[0])
    rows = list_rows(s)
    import datetime
    errs = []
    for m in side["connections"][0]["messages"]:
        if m["opcode"] != "text" or m.get("lost") or m["dir"] == "s2c" and m["text"] not in want_s:
            continue
        t = datetime.datetime.fromtimestamp(m["ts_us"] / 1e6, datetime.timezone.utc).strftime("%H:%M:%S.%f")
        if not any(r.strip().startswith(t) and r.rstrip().endswith(m["text"]) for r in rows):
            errs.append("%s at %s" % (m["text"], t))
    ctx.case("lossy: t shows UTC times, each the packet time from the sidecar to the microsecond",
             ok and not errs, "missing: %s\n%s" % (errs[:5], s))
    p.keys("Q")

    for name, want in (("eof", None), ("fin-noclose", None), ("rst", None), ("close4001", None)):
        sd = ctx.side(name)
        c = sd["connections"][0]
        end = c["end"]
        if end == "close":
            codes = c["close_codes"]
            want = "close %d both" % codes["c2s"] if codes.get("c2s") == codes.get("s2c") else "close"
        else:
            want = {"eof": "eof", "fin": "fin, no close", "rst": "rst"}[end]
        p = ctx.wscope(["-r", ctx.cap(name)], w=150, h=12)
        ok, s = wait_loaded(p)
        rows = list_rows(s)
        state = None
        if rows:
            hd = s.split("\n")[0]
            i = hd.index("state")
            state = rows[0][i:i + 24].strip()
        ctx.case("%s (ends: %s): the state column says '%s'" % (name, end, want),
                 ok and len(rows) == 1 and state is not None and state == want, "state %r\n%s" % (state, s))
        p.keys("Q")


# ---------------------------------------------------------- 9 connection detail

def test_conn_detail(ctx):
    conns, sent = endpoint_log(ctx)
    k = 2
    c = conns[k]
    cl, sv = ep(c["client"]["ip"], c["client"]["port"]), ep(c["server"]["ip"], c["server"]["port"])
    reqline, req, stline, resp = tuitest.handshake(ctx.sample, c["client"]["ip"], c["client"]["port"])
    path = reqline.split()[1]
    ext = resp.get("sec-websocket-extensions", "")
    params = [x.strip() for x in ext.split(";")]
    want_deflate = ["server window %s bits" % next((x.split("=")[1] for x in params if x.startswith("server_max_window_bits=")), "15"),
                    "client window %s bits" % next((x.split("=")[1] for x in params if x.startswith("client_max_window_bits=")), "15")]
    nct = "server_no_context_takeover" in params or "client_no_context_takeover" in params
    closes = {d: [m for m in sent[(k, d)] if m["opcode"] == "close"][0] for d in ("c2s", "s2c")}
    counts = {d: len(sent[(k, d)]) for d in ("c2s", "s2c")}
    p = ctx.wscope(["-r", ctx.sample], w=150, h=60)
    wait_loaded(p)
    p.keys("j")
    p.settle()
    p.keys("i")
    ok, s = p.wait("Traffic")
    field = {}
    for l in s.split("\n"):
        m = re.match(r"^   (\S.*?)  +(\S.*)$", l)
        if m:
            field[m.group(1)] = m.group(2)
    errs = []

    def want(name, cond, what):
        if not cond:
            errs.append("%s: %r, want %s" % (name, field.get(name), what))
    want("client", field.get("client") == cl, cl)
    want("server", field.get("server") == sv, sv)
    want("Host", field.get("Host") == req.get("host"), req.get("host"))
    want("path", field.get("path") == path, path)
    want("extensions accepted", field.get("extensions accepted") == ext, ext)
    want("extensions asked", field.get("extensions asked") == req.get("sec-websocket-extensions"),
         req.get("sec-websocket-extensions"))
    pd = field.get("permessage-deflate", "")
    want("permessage-deflate", all(x in pd for x in want_deflate) and (("no context takeover" in pd) == nct),
         "%s%s" % (want_deflate, ", no context takeover" if nct else ""))
    for who, d in (("client", "c2s"), ("server", "s2c")):
        v = field.get("close sent by the %s" % who, "")
        m = closes[d]
        want("close sent by the %s" % who, v.startswith("%d " % m["close_code"]) and
             close_meaning(m["close_code"]) in v and ('"%s"' % m["close_reason"]) in v,
             "%d (%s), reason %r" % (m["close_code"], close_meaning(m["close_code"]), m["close_reason"]))
    want("client -> server", (field.get("client -> server") or "").startswith("%d messages" % counts["c2s"]),
         "%d messages" % counts["c2s"])
    want("server -> client", (field.get("server -> client") or "").startswith("%d messages" % counts["s2c"]),
         "%d messages" % counts["s2c"])
    p.keys("q")
    ok2, s2 = p.wait(lambda s: "host/path" in s.split("\n")[0])
    p.keys("q")
    ok3, _ = p.wait("EXITED 0")
    ctx.case("i on ws-node connection 2 (deflate): addresses, Host, path, deflate parameters (from the "
             "capture's handshake), close codes both ways with their meanings and reasons, message counts "
             "each way (from the endpoint log); q goes back",
             ok and not errs and ok2 and ok3, "; ".join(errs) + "\n" + s)


# ------------------------------------------------------------------ 10 export

def ts_tokens(path_or_text):
    return re.findall(r'"ts":([0-9.eE+-]+)', path_or_text)


def test_export(ctx):
    d = ctx.tmp("export")
    out = ctx.tmp("outside")
    rc, so, se = ctx.e2e.run_wscope(["-r", ctx.sample, "--json"])
    ref_lines = so.splitlines()
    ref = [json.loads(l) for l in ref_lines]
    k = 2
    ref_conn = [(r, l) for r, l in zip(ref, ref_lines) if r["type"] == "connection" and r["id"] == k]
    ref_msgs = [(r, l) for r, l in zip(ref, ref_lines) if r["type"] == "message" and r["conn"] == k]
    p = ctx.wscope(["-r", ctx.sample], w=150, h=30, cwd=d)
    wait_loaded(p)
    p.keys("j")
    p.settle()
    p.keys("Enter")
    p.wait(lambda s: s.startswith(" conn %d " % k))
    p.keys("e")
    ok0, s0 = p.wait("export NDJSON to:")
    default = s0.rstrip("\n").split("\n")[-1].split("export NDJSON to:", 1)[-1].strip()
    p.keys("Enter")
    ok, s = p.wait("exported")
    files = [f for f in os.listdir(d) if f.endswith(".ndjson")]
    errs = []
    recs, lines = [], []
    if len(files) != 1:
        errs.append("files in the working directory: %s" % files)
    else:
        with open(os.path.join(d, files[0])) as f:
            lines = f.read().splitlines()
        recs = [json.loads(l) for l in lines]
        if files[0] != default:
            errs.append("file %s, the prompt offered %s" % (files[0], default))
        m = re.search(r"exported (\d+) messages? of (\d+) connection", s)
        nm = sum(1 for r in recs if r["type"] == "message")
        if not m or int(m.group(1)) != nm or int(m.group(2)) != 1:
            errs.append("the note says %s, the file has %d messages" % (m and m.group(0), nm))
        conn = [(r, l) for r, l in zip(recs, lines) if r["type"] == "connection"]
        if len(conn) != 1 or not ref_conn or conn[0][0] != ref_conn[0][0] or \
                list(conn[0][0]) != list(ref_conn[0][0]) or ts_tokens(conn[0][1]) != ts_tokens(ref_conn[0][1]):
            errs.append("connection record %s differs from --json %s" % (conn[:1], ref_conn[:1]))
        msgs = [(r, l) for r, l in zip(recs, lines) if r["type"] == "message"]
        j = 0
        for r, l in msgs:
            while j < len(ref_msgs) and ref_msgs[j][0] != r:
                j += 1
            if j == len(ref_msgs):
                errs.append("message not in --json (or out of order): %s" % l[:200])
                break
            if list(r) != list(ref_msgs[j][0]) or ts_tokens(l) != ts_tokens(ref_msgs[j][1]):
                errs.append("fields or time precision differ: %s vs %s" % (l[:200], ref_msgs[j][1][:200]))
            j += 1
        if len(msgs) != len(ref_msgs):
            errs.append("%d messages exported, the connection has %d (no filter)" % (len(msgs), len(ref_msgs)))
        for r in recs:
            if r["type"] not in ("connection", "message") and r not in ref:
                errs.append("record not in --json: %s" % r)
    ctx.case("e, Enter on the default name: writes NDJSON whose connection and message records equal "
             "--json's for that connection field by field, same time precision",
             ok0 and ok and not errs, "; ".join(errs[:5]) + "\n" + s)

    # again: a new name, or 'exists'; the first file untouched
    first = os.path.join(d, files[0]) if len(files) == 1 else None
    before = open(first, "rb").read() if first else None
    mt = os.stat(first).st_mtime_ns if first else None
    p.keys("e")
    p.wait("export NDJSON to:")
    p.keys("Enter")
    ok, s = p.wait(lambda s: "exported" in status(s) or "exists" in status(s))
    files2 = [f for f in os.listdir(d) if f.endswith(".ndjson")]
    same = first and open(first, "rb").read() == before and os.stat(first).st_mtime_ns == mt
    ctx.case("e again: a different file name, or 'it exists: not overwritten'; the first file unchanged",
             ok and same and (len(files2) == 2 or "exists" in status(s)), "files %s\n%s" % (files2, s))

    # a symlink planted at the path typed: not followed, target unchanged
    target = os.path.join(out, "target.txt")
    with open(target, "w") as f:
        f.write("original\n")
    link = os.path.join(d, "planted.ndjson")
    os.symlink(target, link)
    dangling_target = os.path.join(out, "created-through-link.txt")
    link2 = os.path.join(d, "dangling.ndjson")
    os.symlink(dangling_target, link2)
    res = []
    for lk in (link, link2):
        p.keys("e")
        prompt(p, lk, "export NDJSON to:")
        p.keys("Enter")
        ok, s = p.wait(lambda s: "exists" in status(s) or "exported" in status(s) or "export:" in status(s))
        res.append((ok, status(s)))
    tgt = open(target).read()
    ctx.case("e to a path that is a symlink (to a file outside, or dangling): not followed, the target "
             "unchanged or not created, the UI says it exists",
             tgt == "original\n" and not os.path.exists(dangling_target) and os.path.islink(link)
             and all(ok and "exists" in st for ok, st in res),
             "target %r, dangling target exists %s, notes %s" % (tgt, os.path.exists(dangling_target), res))
    p.keys("Q")


def test_export_conns(ctx):
    """e on the connection list exports every listed connection (the filter
    applies); and payloads released under --tui-memory are still exported
    whole."""
    if not ctx.need("many-conns", "deflate-big-small"):
        return
    import hashlib
    side = ctx.side("many-conns")
    d = ctx.tmp("export-conns")
    p = ctx.wscope(["-r", ctx.cap("many-conns")], w=150, h=20, cwd=d)
    wait_loaded(p)
    p.keys("f")
    prompt(p, "path:/conn/17", "filter:")
    p.keys("Enter")
    p.wait("FILTER: path:/conn/17")
    p.keys("e")
    p.wait("export NDJSON to:")
    p.keys("Enter")
    ok, s = p.wait("exported")
    files = os.listdir(d)
    want = [c for c in side["connections"] if "/conn/17" in c["path"]]
    errs = []
    if len(files) != 1:
        errs.append("files %s" % files)
    else:
        with open(os.path.join(d, files[0])) as f:
            recs = [json.loads(l) for l in f]
        conns = [r for r in recs if r["type"] == "connection"]
        if sorted(r["path"] for r in conns) != sorted(c["path"] for c in want):
            errs.append("connections %s" % sorted(r["path"] for r in conns))
        byid = {r["id"]: r["path"] for r in conns}
        for c in want:
            got = [r for r in recs if r["type"] == "message" and byid.get(r["conn"]) == c["path"]]
            if [(r["dir"], r["opcode"], r.get("text")) for r in got] != \
                    [(m["dir"], m["opcode"], m.get("text")) for m in c["messages"]]:
                errs.append("%s: messages %s" % (c["path"], [(r["dir"], r.get("text")) for r in got]))
        nm = sum(len(c["messages"]) for c in want)
        if "exported %d messages of %d connections" % (nm, len(want)) not in s:
            errs.append("note does not say %d messages of %d connections" % (nm, len(want)))
    p.keys("Q")
    ctx.case("e on the filtered connection list (path:/conn/17): exactly the %d listed connections with all "
             "their messages (sidecar)" % len(want), ok and not errs, "; ".join(errs[:5]) + "\n" + s)

    side = ctx.side("deflate-big-small")
    want = side["connections"][0]["messages"]
    d = ctx.tmp("export-released")
    p = ctx.wscope(["--tui-memory", "8M", "-r", ctx.cap("deflate-big-small")], w=150, h=20, cwd=d)
    ok0, s0 = wait_loaded(p)
    p.keys("e")
    p.wait("export NDJSON to:")
    p.keys("Enter")
    ok, s = p.wait("exported", 30)
    errs = []
    files = os.listdir(d)
    if "released" not in status(s0):
        errs.append("no payload was released: %r" % status(s0))
    if len(files) != 1:
        errs.append("files %s" % files)
    else:
        with open(os.path.join(d, files[0])) as f:
            msgs = [json.loads(l) for l in f]
        msgs = [r for r in msgs if r["type"] == "message"]
        if len(msgs) != len(want):
            errs.append("%d messages, sidecar %d" % (len(msgs), len(want)))
        whole = cut = 0
        for r, m in zip(msgs, want):
            if r["length"] != m["length"] or r["opcode"] != m["opcode"]:
                errs.append("message %d: length %s opcode %s" % (m["index"], r["length"], r["opcode"]))
                break
            if m["opcode"] != "text":
                continue
            if r.get("truncated"):
                cut += 1
                if r.get("text") or r.get("data"):
                    errs.append("message %d: truncated but with %d characters" % (m["index"], len(r.get("text", ""))))
            elif hashlib.sha256(r.get("text", "").encode()).hexdigest() == m["sha256"]:
                whole += 1
            else:
                errs.append("message %d: not marked truncated, text differs from the sidecar" % m["index"])
        mm = re.search(r"(\d+) payloads released", status(s0))
        if not whole or not cut or not mm or cut > int(mm.group(1)):
            errs.append("%d whole, %d truncated; the status bar says %s" % (whole, cut, mm and mm.group(0)))
    p.keys("Q")
    ctx.case("e after payloads were released (--tui-memory 8M): each message has its exact length, and "
             "either its whole payload (SHA-256 of the sidecar) or \"truncated\": true and no payload "
             "(README), never a wrong one", ok0 and ok and not errs, "; ".join(errs) + "\n" + s)


# -------------------------------------------------------------------- 11 save

def test_save(ctx):
    if not ctx.need("controls"):
        return
    side = ctx.side("controls")
    by = {m.get("label"): m for m in side["connections"][0]["messages"]}
    d = ctx.tmp("save")
    p = ctx.wscope(["-r", ctx.cap("controls")], w=150, h=30, cwd=d)
    wait_loaded(p)
    p.keys("Enter")
    p.wait(lambda s: s.startswith(" conn 1 "))
    results = []
    for label, query in (("binary_256", "binary"), ("backspaces", '"rm -rf"'), ("c1", "/CSI/")):
        m = by[label]
        want = base64.b64decode(m["b64"])
        target = os.path.join(d, "saved-%s.bin" % label)
        p.keys("g", "/")
        prompt(p, query, "search:")
        p.keys("Enter")
        p.wait("search:")
        p.keys("Enter")
        ok, s = p.wait(is_detail)
        opened = ok and ("message %d of conn 1" % m["index"]) in s
        p.keys("s")
        prompt(p, target, "save payload to:")
        p.keys("Enter")
        ok, s = p.wait(lambda s: "saved" in status(s) or "save:" in status(s))
        got = open(target, "rb").read() if os.path.exists(target) else None
        results.append((label, opened, ok and ("saved %d bytes" % len(want)) in status(s), got == want,
                        status(s)))
        p.keys("q")
        p.wait(lambda s: s.startswith(" conn 1 "))
    ctx.case("s saves the message's payload: the file's bytes are the sidecar's (all 256 byte values; "
             "backspaces; C1 controls)", all(r[1] and r[2] and r[3] for r in results),
             "(label, opened, note, bytes equal, status) %s" % results)
    # saving again to the same path: not overwritten
    target = os.path.join(d, "saved-binary_256.bin")
    before = open(target, "rb").read() if os.path.exists(target) else None
    p.keys("g", "/")
    prompt(p, "binary", "search:")
    p.keys("Enter")
    p.wait("search:")
    p.keys("Enter")
    p.wait(is_detail)
    p.keys("s")
    prompt(p, os.path.join(d, "saved-backspaces.bin"), "save payload to:")
    p.keys("Enter")
    ok, s = p.wait(lambda s: "exists" in status(s) or "saved" in status(s))
    bs = open(os.path.join(d, "saved-backspaces.bin"), "rb").read() if os.path.exists(os.path.join(d, "saved-backspaces.bin")) else None
    ctx.case("s to an existing file: 'exists', the file unchanged",
             ok and "exists" in status(s) and bs == base64.b64decode(by["backspaces"]["b64"]) and
             (before is None or open(target, "rb").read() == before), status(s))
    p.keys("Q")


# ------------------------------------------------------- 11b a full disk

def fill(mnt, leave=0):
    """Fills the tmpfs at mnt with one-page files until one more does not
    fit, then removes `leave` of them (that many pages free)."""
    page = os.sysconf("SC_PAGE_SIZE")
    made = []
    while True:
        path = os.path.join(mnt, "fill-%05d" % len(made))
        try:
            with open(path, "wb") as f:
                f.write(b"x" * page)
        except OSError as ex:
            if ex.errno != errno.ENOSPC:
                raise
            break
        made.append(path)
    for path in made[len(made) - leave:] if leave else []:
        os.unlink(path)


def test_full_disk(ctx):
    """e and s to a path on a full tmpfs: the status line names the path
    and the error, the UI goes on (the next key works), and no partial
    file is left at the path."""
    if os.geteuid() != 0:
        ctx.case("export and save on a full disk need root to test (mount -t tmpfs)", False,
                 "not root: run the suite as root")
        return
    d = ctx.tmp("full-disk-cwd")
    mnt = os.path.join(ctx.e2e.TMP, "tui-full")
    p = None
    try:
        with outputs.tmpfs(mnt, "size=64k"):
            try:
                # two pages free: the export (all three connections, about 580 kB of
                # NDJSON) gets part way, then the disk is full
                fill(mnt, leave=2)
                p = ctx.wscope(["-r", ctx.sample], w=200, h=30, cwd=d)
                wait_loaded(p)
                target = os.path.join(mnt, "export.ndjson")
                p.keys("e")
                prompt(p, target, "export NDJSON to:")
                p.keys("Enter")
                ok, s = p.wait(lambda s: "export" in status(s) and ("exported" in status(s) or "export:" in status(s)))
                st = status(s)
                ctx.case("e to a path on a full tmpfs: the status line names the path and says 'No space left on device'",
                         ok and target in st and "No space left on device" in st, "status %r" % st)
                p.keys("Enter")
                ok2, s2 = p.wait(lambda s: s.startswith(" conn 1 "))
                ctx.case("after the failed export wscope keeps running: the next key (Enter) opens the connection",
                         ok2 and "EXITED" not in s2, s2)
                left = os.path.getsize(target) if os.path.lexists(target) else None
                ctx.case("e to a path on a full tmpfs: no partial file is left at the path",
                         ok and left is None, "%s is there, %s bytes" % (target, left))

                # the disk full to the last page: saving any payload fails
                fill(mnt)
                target = os.path.join(mnt, "payload.bin")
                p.keys("g", "Enter")
                ok0, s0 = p.wait(is_detail)
                p.keys("s")
                prompt(p, target, "save payload to:")
                p.keys("Enter")
                ok, s = p.wait(lambda s: "saved" in status(s) or "save:" in status(s))
                st = status(s)
                ctx.case("s to a path on a full tmpfs: the status line names the path and says 'No space left on device'",
                         ok0 and ok and target in st and "No space left on device" in st, "status %r\n%s" % (st, s0))
                p.keys("q")
                ok2, s2 = p.wait(lambda s: s.startswith(" conn 1 ") and not is_detail(s))
                ctx.case("after the failed save wscope keeps running: the next key (q) goes back to the messages",
                         ok2 and "EXITED" not in s2, s2)
                left = os.path.getsize(target) if os.path.lexists(target) else None
                ctx.case("s to a path on a full tmpfs: no partial file is left at the path",
                         ok and left is None, "%s is there, %s bytes" % (target, left))
                p.keys("Q")
                p.wait("EXITED")
            finally:
                if p is not None:
                    p.kill()
    except OSError as ex:
        ctx.case("export and save on a full disk: a tmpfs mounted and filled", False, str(ex))


# ------------------------------------------------------------- 12 no terminal

def test_no_terminal(ctx):
    if not ctx.need("korean"):
        return
    err = os.path.join(ctx.tmp("notty"), "stderr.txt")
    cmd = ("S=$(date +%%s%%N); %s -r %s --tui </dev/null 2>%s; R=$?; E=$(date +%%s%%N); "
           "echo DONE status=$R ms=$(( (E - S) / 1000000 ))" % (
               shlex.quote(ctx.e2e.WSCOPE), shlex.quote(ctx.cap("korean")), shlex.quote(err)))
    p = ctx.tm.pane(cmd, w=120, h=10, after="sleep 600")
    ctx.panes.append(p)
    ok, s = p.wait("DONE", 5)
    m = re.search(r"DONE status=(\d+) ms=(\d+)", s)
    msg = open(err, encoding="utf-8", errors="replace").read() if os.path.exists(err) else ""
    ctx.case("--tui with standard input /dev/null (output a terminal): ends within 1 s, non-zero status, "
             "a message on stderr that says a terminal is needed",
             ok and m and int(m.group(1)) != 0 and int(m.group(2)) < 1000 and "terminal" in msg,
             "%s stderr %r" % (m and m.group(0), msg))
    p.kill()

    cap = ctx.cap("korean")
    p = ctx.wscope(["-r", cap, "--tui"], w=100, h=20)
    ok, s = wait_loaded(p)
    pat = "^" + re.escape(ctx.e2e.WSCOPE) + " -r " + re.escape(cap) + " --tui$"
    pids = tuitest.pgrep(pat)
    t0 = time.time()
    p.kill_pane()
    gone = None
    while time.time() - t0 < 3:
        if not any(tuitest.alive(x) for x in pids):
            gone = time.time() - t0
            break
        time.sleep(0.02)
    left = tuitest.pgrep(pat)
    ctx.case("closing the terminal (tmux kill-pane) under a running UI: wscope exits within 1 s "
             "(%s)" % ("%.2f s" % gone if gone is not None else "still running"),
             ok and len(pids) == 1 and gone is not None and gone < 1.0 and not left,
             "pids %s, left %s" % (pids, left))
    ctx.panes.remove(p)


def test_dropped_user_save(ctx):
    """Started as root with -Z nobody in a directory nobody cannot write:
    e offers a file in $TMPDIR (/tmp), the status line says why, and the
    export is made there, owned by nobody, 0600; a path typed in the
    directory fails with a message that names the user and where it can
    write."""
    if os.geteuid() != 0:
        ctx.case("-Z nobody: the save directory (needs root)", False, "not running as root")
        return
    if not ctx.need("many-conns"):
        return
    import pwd
    side = ctx.side("many-conns")
    d = ctx.tmp("dropped-cwd")
    os.chmod(d, 0o700)
    p = ctx.wscope(["-Z", "nobody", "-r", ctx.cap("many-conns")], w=170, h=20, cwd=d, env={"TMPDIR": "/tmp"})
    wait_loaded(p)
    p.keys("e")
    ok, s = p.wait("export NDJSON to:")
    m = re.search(r"export NDJSON to: (\S+)", s)
    path = m.group(1) if m else ""
    errs = []
    if not path.startswith("/tmp/wscope-export-"):
        errs.append("default path %r is not in /tmp" % path)
    if "runs as nobody, who cannot write in %s" % d not in s:
        errs.append("the status line does not say why")
    p.keys("Enter")
    ok2, s2 = p.wait("exported")
    try:
        st = os.lstat(path)
        if st.st_uid != pwd.getpwnam("nobody").pw_uid or (st.st_mode & 0o777) != 0o600:
            errs.append("%s: uid %d mode %o" % (path, st.st_uid, st.st_mode & 0o777))
        with open(path) as f:
            conns = [json.loads(l) for l in f if '"type":"connection"' in l]
        if len(conns) != len(side["connections"]):
            errs.append("%d connections exported, the sidecar has %d" % (len(conns), len(side["connections"])))
    except OSError as e:
        errs.append("export not there: %s" % e)
    finally:
        if path.startswith("/tmp/wscope-export-"):
            try:
                os.unlink(path)
            except OSError:
                pass
    ctx.case("-Z nobody in a directory nobody cannot write: e offers a file in /tmp, says why, and exports "
             "there (owned by nobody, 0600)", ok and ok2 and not errs, "; ".join(errs) + "\n" + s2)
    p.keys("e")
    prompt(p, os.path.join(d, "x.ndjson"), "export NDJSON to:")
    p.keys("Enter")
    ok, s = p.wait("Permission denied")
    want = "runs as nobody since the capture opened; it can write in /tmp"
    ctx.case("-Z nobody: a path nobody cannot write fails naming the user and where it can write",
             ok and want in s and not os.path.exists(os.path.join(d, "x.ndjson")), s)
    p.keys("Q")


# ----------------------------------------------------------------- 13 summary

def test_summary(ctx):
    if not ctx.need("korean"):
        return
    side = ctx.side("korean")
    cap = ctx.cap("korean")
    p = ctx.wscope(["-r", cap], w=120, h=20)
    wait_loaded(p)
    p.keys("q")
    ok, s = p.wait("EXITED")
    sj = p.screen(J=True)
    want = "wscope: %s: %d packets, " % (cap, side["packets"])
    ctx.case("after q the end-of-run summary ('wscope: FILE: N packets, ...', N from the sidecar) is on "
             "the terminal and the status is 0", ok and want in sj and "EXITED 0" in sj, "want %r\n%s" % (want, sj))


# ---------------------------------------------------------------- 14 NO_COLOR

def test_no_color(ctx):
    p = ctx.wscope(["-r", ctx.sample], w=150, h=30, env={"NO_COLOR": "1"})
    ok, s = wait_loaded(p)
    found = {}
    found["connections"] = colour_codes(p.screen(e=True))
    p.keys("Enter")
    p.wait(lambda s: s.startswith(" conn 1 "))
    found["messages"] = colour_codes(p.screen(e=True))
    p.keys("Enter")
    p.wait(is_detail)
    found["detail"] = colour_codes(p.screen(e=True))
    p.keys("q")
    p.wait(lambda s: s.startswith(" conn 1 "))
    p.keys("i")
    p.wait("in detail")
    found["connection detail"] = colour_codes(p.screen(e=True))
    p.keys("q")
    p.keys("?")
    p.wait("wscope keys")
    found["help"] = colour_codes(p.screen(e=True))
    p.keys("Q")
    # and the same screens with colour: the check sees colour when it is there
    p2 = ctx.wscope(["-r", ctx.sample], w=150, h=30)
    wait_loaded(p2)
    p2.keys("Enter")
    p2.wait(lambda s: s.startswith(" conn 1 "))
    with_colour = colour_codes(p2.screen(e=True))
    p2.keys("Q")
    found = {k: v for k, v in found.items() if v}
    ctx.case("NO_COLOR=1: no colour SGR (30-38, 40-48, 90-107, 38;5) on the connection list, messages, "
             "message and connection detail, help (without it: %s)" % sorted(with_colour),
             ok and not found and with_colour, "colour codes: %s" % found)


# ------------------------------------------------------- 15 filter and search

def test_conn_filter_search(ctx):
    if not ctx.need("widehost", "many-conns"):
        return
    side = ctx.side("widehost")
    # 160 columns: the client's address column shows (it names the rows)
    p = ctx.wscope(["-r", ctx.cap("widehost")], w=160, h=12)
    ok, s = wait_loaded(p)
    errs = []
    for word, want_hosts in (("plain", [h for h in side["hosts"] if "plain" in h]),
                             ("テスト", [h for h in side["hosts"] if "テスト" in h])):
        p.keys("f")
        prompt(p, "host:" + word, "filter:")
        p.keys("Enter")
        ok, s = p.wait("FILTER: host:" + word)
        rows = list_rows(s)
        ports = sorted(int(re.search(r"10\.0\.0\.1:(\d+)", r).group(1)) for r in rows if "10.0.0.1:" in r)
        want_ports = sorted(c["client"]["port"] for c in side["connections"] if c["host"] in want_hosts)
        if not ok or ports != want_ports or len(rows) != len(want_ports):
            errs.append("host:%s: rows %s, want client ports %s" % (word, rows, want_ports))
        p.keys("Escape")
        p.wait(lambda s: "FILTER:" not in s)
    s = p.settle()
    if len(list_rows(s)) != side["ws_connections"]:
        errs.append("Esc did not clear the filter: %s" % list_rows(s))
    p.keys("Q")
    ctx.case("f host:WORD on the connection list keeps the rows of that host (ASCII and wide), Esc clears it",
             not errs, "; ".join(errs) + "\n" + s)

    many = ctx.side("many-conns")
    want = [c["path"] for c in many["connections"] if "/conn/15" in c["path"]]
    p = ctx.wscope(["-r", ctx.cap("many-conns")], w=120, h=20)
    wait_loaded(p)
    p.keys("/")
    prompt(p, "path:/conn/15", "search:")
    p.keys("Enter")
    ok, s = p.wait("search:")
    got = []
    for i in range(3):
        if i:
            p.keys("n")
            p.settle()
        p.keys("Enter")
        ok1, s1 = p.wait(lambda s: s.startswith(" conn "))
        m = re.search(r"many\.example:9000(/conn/\d+)", s1.split("\n")[0])
        got.append(m.group(1) if m else s1.split("\n")[0])
        p.keys("q")
        p.wait(lambda s: "host/path" in s.split("\n")[0])
    p.keys("Q")
    ctx.case("/ path:/conn/15 on the connection list jumps to the first matching row, n to the next "
             "ones (%s)" % ", ".join(want[:3]), ok and got == want[:3], "opened %s" % got)


# -------------------------------------------------------------------- 16 help

def test_help(ctx):
    p = ctx.wscope(["-r", ctx.sample], w=120, h=60)
    wait_loaded(p)
    p.keys("?")
    ok, s = p.wait("wscope keys")
    keys = ["Down j", "Up k", "PgDn", "PgUp", "g Home", "G End", "Enter", "Tab", "Esc", " q ", " Q ",
            " / ", " n ", " N ", " f ", " e ", " s ", " w ", " x ", " t ", "Space", " F ", " i ", " ? "]
    words = ["c2s", "s2c", "text", "binary", "ping", "pong", "close", "warning", "loss", "conn:N",
             "host:S", "path:S", "proto:S", "addr:S", "state:S", "after:SEC", "before:SEC", "/regex/",
             '"quote a phrase"']
    missing = [k for k in keys if k not in s] + [w for w in words if w not in s]
    p.keys("q")
    ok2, s2 = p.wait(lambda s: "host/path" in s.split("\n")[0])
    p.keys("Q")
    ctx.case("? lists every key and every filter word; q closes it", ok and not missing and ok2,
             "missing %s\n%s" % (missing, s))


# -------------------------------------------------------------------- live

def test_live(ctx):
    if os.geteuid() != 0:
        ctx.case("live test needs root", False, "not root")
        return
    port = 9978
    p = ctx.wscope(["-i", "lo", "tcp port %d" % port], w=150, h=30)
    ok, s = p.wait("LIVE", 10)
    if not ok:
        ctx.case("live: the UI starts", False, s)
        return
    logf = os.path.join(ctx.e2e.TMP, "tui_live.jsonl")
    r = subprocess.run([PYSYS, os.path.join(HERE, "live_ws.py"), str(port), logf], capture_output=True,
                       timeout=60)
    sent = []
    if os.path.exists(logf):
        with open(logf) as f:
            sent = [json.loads(x) for x in f]
    n = len(sent) + 1      # and the close
    ok, s = p.wait("close 1000 both", 10)
    rows = list_rows(s)
    row = [x for x in rows if "/live" in x]
    ctx.case("live: the connection appears with its state and %d messages each way, drops shown" % n,
             r.returncode == 0 and ok and row and re.search(r"\b%d +%d\b" % (n, n), row[0])
             and "0 kernel drops" in s and "0 wscope drops" in s and "following" in s,
             r.stderr.decode("utf-8", "replace")[-300:] + "\n" + s)
    p.keys("Enter")
    last_text = [x["text"] for x in sent if "text" in x][-1] if sent else "live message"
    ok, s = p.wait("<- close")
    ctx.case("live: the messages follow the tail, newest at the bottom", ok and last_text in s and
             "<- close" in list_rows(s)[-1], s)
    p.keys("q")
    p.wait(lambda s: "host/path" in s.split("\n")[0])
    p.keys("q")
    ok, s = p.wait("EXITED 0")
    ctx.case("live: q quits and the capture ends cleanly", ok, s)


def test_socketio_session(ctx):
    """A Socket.IO session: on long-polling it is an entry of its own
    (polling, its exchanges as poll rows, decoded, a jumping from an
    answer to its request); its WebSocket upgrade takes its rows."""
    pcap = os.path.join(ctx.e2e.TOP, "samples", "sio.pcap")
    rc, recs, bad, se = ctx.e2e.wscope_json(pcap)
    polls = [r for r in recs if r["type"] == "poll"]
    ws = next(r for r in recs if r["type"] == "connection" and r.get("session"))
    sess = ws["session"]
    before = [r for r in polls if r["ts"] < ws["ts"]]
    # without the upgrade's TCP connection the session never upgrades
    p = ctx.wscope(["-r", pcap, "tcp and not port %d" % ws["client"]["port"]], w=140, h=40)
    wait_loaded(p)
    s = p.screen()
    rows = list_rows(s)
    first = rows[0] if rows else ""
    c2s = sum(1 for r in polls if r["method"] == "POST")
    ok1 = "(long-polling) /sock" in first and ws["sid"][-5:] + " " in first and "polling, eof" in first and \
        re.search(r"\b%d +%d\b" % (c2s, len(polls) - c2s), first) is not None
    p.keys("Enter")
    ok2, s2 = p.wait(lambda s: s.startswith(" session %d " % sess) and "poll" in s)
    p.keys("g")
    p.settle()
    rows2 = list_rows(p.screen())
    prow = [r for r in rows2 if re.search(r" (->|<-) poll ", r)]
    dec = [r for r in prow if " SIO " in r]
    # the answer of the event with an ack: its request, by a
    ack = next(i for i, r in enumerate(rows2) if "ack id 0" in r)
    ask = next(i for i, r in enumerate(rows2) if 'event "hello" ack 0' in r)
    for _ in range(ack):
        p.keys("j")
    p.keys("Enter")
    ok3, s3 = p.wait(lambda s: s.startswith(" long-polling body "))
    head3 = s3.split("\n")[0]
    # i on that row: the exchange and its heads as the packets have them
    p.keys("i")
    okh, sh = p.wait(lambda s: "Response head, as captured" in s and "HTTP/1.1 200 OK" in s)
    tgt = re.search(r"GET (/socket\.io/\S+)", s3)
    tgt = tgt.group(1) if tgt else "?"
    tr = subprocess.run(["tshark", "-r", pcap, "-Y", 'http.request.uri == "%s"' % tgt, "-T", "fields",
                         "-E", "aggregator=\x1e", "-e", "http.request.line"], capture_output=True, text=True,
                        timeout=120)
    want_h = [x.rstrip("\r\n").replace("\\r\\n", "") for x in tr.stdout.strip("\n").split("\x1e") if x.strip()]
    shown = [ln.strip() for ln in sh.split("\n")]
    okh = okh and want_h and all(x in shown for x in want_h) and ("GET %s HTTP/1.1" % tgt) in shown and \
        "Long-polling exchange (the selected row" in sh
    p.keys("q")
    p.wait(lambda s: s.startswith(" long-polling body "))
    p.keys("a")
    ok4, s4 = p.wait(lambda s: "its request: long-polling body" in s)
    head4 = s4.split("\n")[0]
    p.keys("q", "q", "q")
    ok5, _ = p.wait("EXITED 0")
    ctx.case("sio.pcap without the upgrade: the session's entry says polling, eof and its bodies each way "
             "(%d, %d); its %d exchanges are poll rows, decoded; Enter on the ack shows 'long-polling body' "
             "with GET 200; i there shows its request head as tshark reads it (%d header lines) and the response "
             "head; a goes to its request (POST)" % (c2s, len(polls) - c2s, len(polls), len(want_h)),
             ok1 and ok2 and len(prow) == len(polls) and len(dec) == len(polls) and ask < ack and ok3 and okh and
             "GET 200" in head3 and "s2c" in head3 and ok4 and "POST 200" in head4 and "c2s" in head4 and ok5,
             "first row %r; %d poll rows (%d decoded) of %d; heads %r / %r; i: %r vs tshark %r" % (
                 first, len(prow), len(dec), len(polls), head3, head4, sh[:900], want_h))
    # the whole capture: the WebSocket connection holds the session's rows
    p = ctx.wscope(["-r", pcap], w=140, h=50)
    wait_loaded(p)
    rows = list_rows(p.screen())
    listed = [r.split()[0] for r in rows]
    p.keys("Enter")
    ok6, s6 = p.wait(lambda s: s.startswith(" conn %d " % ws["id"]))
    p.keys("g")
    p.settle()
    rows6 = list_rows(p.screen())
    lead = [r for r in rows6[:len(before)] if re.search(r" (->|<-) poll ", r)]
    p.keys("i")
    ok7, s7 = p.wait("Socket.IO session")
    p.keys("q", "q", "q")
    ok8, _ = p.wait("EXITED 0")
    ctx.case("sio.pcap: the session is not listed apart once upgraded (%s); its WebSocket connection %d begins "
             "with its %d long-polling rows; i says the transport history" % (listed, ws["id"], len(before)),
             str(sess) not in listed and ok6 and len(lead) == len(before) and ok7 and
             "HTTP long-polling (session %d), then this WebSocket" % sess in s7 and
             "%d exchanges" % len(polls) in s7 and ok8,
             "listed %s; %d leading poll rows; %s" % (listed, len(lead), s7[:600]))


def test_narrow(ctx):
    """Narrow terminals: the connection list shows a column only when
    enough of it does to be read (an address 12 columns or not at all,
    numbers whole); a decoded row keeps room for its decoded line; a status
    or key line cut by the edge ends in a marker."""
    pcap = os.path.join(ctx.e2e.TOP, "samples", "stomp-rabbitmq.pcap")
    rc, recs, bad, se = ctx.e2e.wscope_json(pcap)
    first = next(r for r in recs if r["type"] == "message" and r["conn"] == 1 and "app" in r)
    client = next(r for r in recs if r["type"] == "connection" and r["id"] == 1)["client"]
    addr = "%s:%d" % (client["ip"], client["port"])
    errs = []
    for w in (40, 60, 80, 100, 120, 135, 150, 165):
        p = ctx.wscope(["-r", pcap], w=w, h=12)
        wait_loaded(p)
        s = p.screen()
        ls = s.split("\n")
        head, row = ls[0], ls[1]
        cols = head.split()
        if "client" in cols:
            at = head.index("client")
            shown = row[at:].split(" ")[0] if len(row) > at else ""
            if len(shown) < min(12, len(addr)) or not addr.startswith(shown):
                errs.append("%d cols: client column shows %r" % (w, shown))
        elif ":%d" % client["port"] in row or ":%s" % str(client["port"])[:2] in row.split()[-1]:
            errs.append("%d cols: a piece of the address without its column: %r" % (w, row))
        for c in ("c2s", "s2c", "bytes>", "bytes<"):
            if head.rstrip().endswith(c[:-1]) or head.rstrip().endswith(c[:2]):
                errs.append("%d cols: %s cut" % (w, c))
        if any(dwidth(x) > w for x in ls):
            errs.append("%d cols: a line wider than the screen" % w)
        p.keys("Q")
        p.wait("EXITED 0")
    p = ctx.wscope(["-r", pcap], w=40, h=10)
    wait_loaded(p)
    p.keys("Enter")
    ok, s = p.wait(lambda s: s.startswith(" conn 1 "))
    p.keys("g")
    p.settle()
    s = p.screen()
    ls = s.rstrip("\n").split("\n")
    # the first decoded row: its decoded line's first words show
    word = first["app"]["summary"].split()[0]
    row1 = ls[1]
    mark = ("\u2026", "~")
    ok2 = ("STOMP " + word)[:8] in row1 or ("STOMP " + word)[:8] in ls[1:3][-1]
    ok3 = ls[-2].rstrip().endswith(mark) and ls[0].rstrip().endswith(mark) and \
        ls[-1].rstrip().endswith(mark)
    p.keys("Q")
    ok4, _ = p.wait("EXITED 0")
    ctx.case("narrow terminals (40 to 165 columns): each column of the connection list whole or readable "
             "(the client address %s from 12 columns or not at all, numbers whole); at 40x10 a decoded row shows "
             "'STOMP %s', and the title, status and key lines cut by the edge end in a marker" % (addr, word),
             not errs and ok and ok2 and ok3 and ok4, "; ".join(errs[:4]) + " | " + s)


TESTS = [test_sample_walkthrough, test_resize, test_search_no_match, test_brackets, test_controls, test_badkey,
         test_widehost, test_korean, test_deflate_big, test_lossy, test_conn_detail, test_export,
         test_export_conns, test_save, test_full_disk, test_dropped_user_save, test_no_terminal, test_summary, test_no_color,
         test_conn_filter_search, test_help, test_live, test_socketio_session, test_narrow]


def run(e2e, only=None):
    if shutil.which("tmux") is None:
        e2e.case("tmux installed for the UI tests", False, "tmux missing (tools/deps.sh installs it)")
        return
    ctx = Ctx(e2e)
    mk = os.path.join(TUIDIR, "mkcaps.py")
    try:
        r = subprocess.run([sys.executable, mk, ctx.caps], capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            ctx.mkcaps_error = "mkcaps.py: exit %d: %s" % (r.returncode, r.stderr[-500:])
    except (OSError, subprocess.SubprocessError) as ex:
        ctx.mkcaps_error = "mkcaps.py: %s" % ex
    try:
        ctx.tm.start()
    except Exception as ex:  # noqa: BLE001
        e2e.case("TUI: a private tmux server starts", False, str(ex))
        return
    try:
        for t in TESTS:
            if only and t.__name__ not in only:
                continue
            try:
                t(ctx)
            except Exception:  # noqa: BLE001 - a broken test is one failed case, the rest still run
                ctx.case("%s ran to the end" % t.__name__, False, traceback.format_exc())
            finally:
                ctx.done()
    finally:
        ctx.tm.kill()
        # A process of ours still there seconds after its terminal went away
        # (seen once: a sanitizer build spinning in LeakSanitizer's exit-time
        # check after a kill-session) is said and ended, so that it does not
        # hold a CPU for the rest of the run; the test that asserts the exit
        # on a closed terminal is test_no_terminal.
        time.sleep(2)
        left = tuitest.pgrep("^" + re.escape(ctx.e2e.WSCOPE) + " ")
        for pid in left:
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    what = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
                print("note: a wscope of the UI tests still running, ended: %d %s" % (pid, what), flush=True)
                os.kill(pid, 9)
            except OSError:
                pass
