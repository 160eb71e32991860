"""tuitest.py - helpers for driving wscope's terminal UI in tmux like a user.

Used by tests/e2e/tui.py. Standard library only.

* Tmux: one private tmux server (its own socket name, `tmux -L NAME`), kept
  alive by a session that only sleeps, so that sessions can come and go
  without the server exiting between them. Each test starts its own
  session (a Pane) with a shell command; kill() ends the server.
* Pane: send keys (tmux key names) or literal text, read the screen
  (plain, with colours -e, keeping trailing spaces -N, joining wrapped
  lines -J), wait for a condition with a timeout, read the pane title.
* dwidth(): the display width of a string as a terminal shows it
  (East Asian Wide and Fullwidth are 2 columns, combining marks and format
  characters 0).
* handshake(): the HTTP upgrade request and response of one TCP connection,
  read straight from a classic pcap file (Ethernet or Linux cooked v1/v2,
  IPv4 or IPv6): an independent reading of the capture, not wscope's.
"""
import os
import re
import shlex
import socket
import struct
import subprocess
import time
import unicodedata


def dwidth(s):
    w = 0
    for c in s:
        if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Me", "Cf"):
            continue
        w += 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1
    return w


def dcol(s, i):
    """The display column at which s[i] starts."""
    return dwidth(s[:i])


# the terminal type tmux emulates: its Home and End keys are ESC [1~ and
# ESC [4~, which xterm's terminfo does not know
TERM = "tmux-256color"
if subprocess.run(["infocmp", TERM], capture_output=True).returncode != 0:
    TERM = "screen-256color"

SGR = re.compile(r"\x1b\[[0-9;:]*m")


def strip_sgr(s):
    return SGR.sub("", s)


class Tmux:
    def __init__(self, name):
        self.name = name
        self.n = 0
        self.socket = None

    def run(self, *args, timeout=10):
        return subprocess.run(["tmux", "-L", self.name] + list(args), capture_output=True,
                              timeout=timeout)

    def start(self):
        """The server, kept alive by a session that only sleeps; with
        set-clipboard on, an OSC 52 sequence that reached tmux would
        become a paste buffer (so a test can see it)."""
        self.run("kill-server")
        last = None
        for _ in range(20):
            p = self.run("new-session", "-d", "-s", "keep", "-x", "80", "-y", "10", "sleep 100000")
            if p.returncode == 0:
                break
            last = p
            time.sleep(0.25)
        else:
            raise RuntimeError("tmux did not start: %s" % last.stderr.decode("utf-8", "replace"))
        self.socket = self.run("display-message", "-p", "-t", "keep", "#{socket_path}").stdout.decode(
            "utf-8", "replace").strip() or None
        self.run("set-option", "-s", "set-clipboard", "on")
        self.run("set-option", "-g", "default-shell", "/bin/sh")   # the commands are sh
        self.run("set-option", "-g", "remain-on-exit", "off")
        self.run("set-option", "-g", "history-limit", "0")

    def kill(self):
        """Ends the server and removes its socket (kill-server leaves it)."""
        self.run("kill-server")
        if self.socket and os.path.basename(self.socket) == self.name:
            for _ in range(20):
                if self.run("list-sessions").returncode != 0:
                    break
                time.sleep(0.1)
            try:
                os.unlink(self.socket)
            except OSError:
                pass

    def buffers(self):
        p = self.run("list-buffers", "-F", "#{buffer_sample}")
        return p.stdout.decode("utf-8", "replace")

    def pane(self, cmd, w=120, h=30, cwd=None, env=None, after="echo EXITED $?; sleep 600"):
        """A new session whose shell runs `export TERM=tmux-256color
        LANG=C.UTF-8 ENV...; cmd`, then `after` (so the exit status and what
        was printed stay on the screen). cmd is a list of arguments or a
        shell command line."""
        self.n += 1
        name = "t%d" % self.n
        if not isinstance(cmd, str):
            cmd = " ".join(shlex.quote(a) for a in cmd)
        envs = {"TERM": TERM, "LANG": "C.UTF-8"}
        envs.update(env or {})
        line = "export %s; %s" % (" ".join("%s=%s" % (k, shlex.quote(v)) for k, v in envs.items()), cmd)
        if cwd:
            line = "cd %s && %s" % (shlex.quote(cwd), line)
        if after:
            line += "; " + after
        p = self.run("new-session", "-d", "-s", name, "-x", str(w), "-y", str(h), line)
        if p.returncode != 0:
            raise RuntimeError("tmux new-session: %s" % p.stderr.decode("utf-8", "replace"))
        return Pane(self, name, w, h)


class Pane:
    def __init__(self, tmux, name, w, h):
        self.t = tmux
        self.name = name
        self.w = w
        self.h = h

    def keys(self, *keys):
        """tmux key names (Enter, Escape, PgDn, C-u, q, ...), one by one."""
        for k in keys:
            self.t.run("send-keys", "-t", self.name, k)

    def type(self, text):
        """Literal text, never read as key names."""
        self.t.run("send-keys", "-t", self.name, "-l", text)

    def screen(self, e=False, N=False, J=False, raw=False):
        args = ["capture-pane", "-p", "-t", self.name]
        if e:
            args.append("-e")
        if N:
            args.append("-N")
        if J:
            args.append("-J")
        out = self.t.run(*args).stdout
        if raw:
            return out
        return out.decode("utf-8", "surrogateescape")

    def lines(self, **kw):
        s = self.screen(**kw)
        ls = s.split("\n")
        if ls and ls[-1] == "":
            ls.pop()
        while len(ls) < self.h:
            ls.append("")
        return ls

    def wait(self, cond, timeout=5.0, **kw):
        """Waits until cond (a string on the screen, or a function of the
        screen text) holds. Returns (ok, screen)."""
        if isinstance(cond, str):
            text = cond
            cond = lambda s: text in s  # noqa: E731
        end = time.time() + timeout
        while True:
            s = self.screen(**kw)
            if cond(s):
                return True, s
            if time.time() > end:
                return False, s
            time.sleep(0.05)

    def settle(self, quiet=0.15, timeout=3.0, **kw):
        """Waits until the screen stops changing for `quiet` seconds."""
        end = time.time() + timeout
        last = self.screen(**kw)
        since = time.time()
        while time.time() < end:
            time.sleep(0.05)
            s = self.screen(**kw)
            if s != last:
                last, since = s, time.time()
            elif time.time() - since >= quiet:
                break
        return last

    def title(self):
        return self.t.run("display-message", "-p", "-t", self.name, "#{pane_title}").stdout.decode(
            "utf-8", "replace").rstrip("\n")

    def pid(self):
        out = self.t.run("display-message", "-p", "-t", self.name, "#{pane_pid}").stdout.strip()
        return int(out) if out.isdigit() else None

    def resize(self, w, h):
        self.t.run("resize-window", "-t", self.name, "-x", str(w), "-y", str(h))
        self.w, self.h = w, h

    def kill(self):
        self.t.run("kill-session", "-t", self.name)

    def kill_pane(self):
        """Closes the terminal under the program: its pty goes away."""
        self.t.run("kill-pane", "-t", self.name)


def pgrep(pattern):
    p = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    return [int(x) for x in p.stdout.split()]


def proc_status(pid, field):
    """A field of /proc/PID/status, in kB for the Vm* ones; None if gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


# ---- reading a capture without wscope ----

def _pcap_packets(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise ValueError("%s: not a classic pcap file" % path)
    linktype = struct.unpack(e + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(e + "IIII", data[off:off + 16])
        yield linktype, data[off + 16:off + 16 + incl]
        off += 16 + incl


def _tcp_of(linktype, pkt):
    """(src ip, sport, dst ip, dport, seq, payload) or None."""
    if linktype == 1:
        et, p = struct.unpack("!H", pkt[12:14])[0], 14
        while et in (0x8100, 0x88a8):
            et, p = struct.unpack("!H", pkt[p + 2:p + 4])[0], p + 4
    elif linktype == 113:
        et, p = struct.unpack("!H", pkt[14:16])[0], 16
    elif linktype == 276:
        et, p = struct.unpack("!H", pkt[0:2])[0], 20
    else:
        return None
    if et == 0x0800:
        ihl = (pkt[p] & 15) * 4
        if pkt[p + 9] != 6:
            return None
        tot = struct.unpack("!H", pkt[p + 2:p + 4])[0]
        src, dst = socket.inet_ntop(socket.AF_INET, pkt[p + 12:p + 16]), socket.inet_ntop(socket.AF_INET, pkt[p + 16:p + 20])
        t, end = p + ihl, p + tot
    elif et == 0x86dd:
        if pkt[p + 6] != 6:
            return None  # extension headers: not needed here
        plen = struct.unpack("!H", pkt[p + 4:p + 6])[0]
        src, dst = socket.inet_ntop(socket.AF_INET6, pkt[p + 8:p + 24]), socket.inet_ntop(socket.AF_INET6, pkt[p + 24:p + 40])
        t, end = p + 40, p + 40 + plen
    else:
        return None
    sport, dport, seq = struct.unpack("!HHI", pkt[t:t + 8])
    doff = (pkt[t + 12] >> 4) * 4
    return src, sport, dst, dport, seq, pkt[t + doff:end]


def handshake(path, client_ip, client_port):
    """The first HTTP request the client sent and the answer, as
    (request line, {header: value}, status line, {header: value}), the
    header names in lower case; each stream is put together by sequence
    number."""
    streams = {0: {}, 1: {}}
    for lt, pkt in _pcap_packets(path):
        t = _tcp_of(lt, pkt)
        if t is None or not t[5]:
            continue
        src, sport, dst, dport, seq, payload = t
        if (src, sport) == (client_ip, client_port):
            streams[0].setdefault(seq, payload)
        elif (dst, dport) == (client_ip, client_port):
            streams[1].setdefault(seq, payload)

    def head(d):
        out = b""
        if not d:
            return out
        nxt = min(d)
        while nxt in d and b"\r\n\r\n" not in out:
            out += d[nxt]
            nxt += len(d[nxt])
        return out.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")

    res = []
    for k in (0, 1):
        lines = head(streams[k]).split("\r\n")
        hdrs = {}
        for l in lines[1:]:
            if ":" in l:
                n, v = l.split(":", 1)
                hdrs[n.strip().lower()] = v.strip()
        res += [lines[0], hdrs]
    return tuple(res)


def alive(pid):
    """The process exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return False
    return st.rsplit(")", 1)[1].split()[0] != "Z"
