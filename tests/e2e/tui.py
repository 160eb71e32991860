"""The terminal UI, driven in tmux like a user: open a capture, read the
connection list, open a connection, search, open a message, go back,
resize, quit."""
import base64
import json
import os
import re
import shutil
import subprocess
import time


def tmux(*args):
    return subprocess.run(["tmux", "-L", "wscope-e2e"] + list(args), capture_output=True, text=True)


def screen():
    return tmux("capture-pane", "-p", "-t", "ui").stdout


def wait_for(text, timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        s = screen()
        if text in s:
            return True, s
        time.sleep(0.1)
    return False, screen()


def run(e2e):
    if shutil.which("tmux") is None:
        e2e.case("tmux installed for the UI tests", False, "tmux missing (tools/deps.sh installs it)")
        return
    pcap = os.path.join(e2e.TOP, "samples", "ws-node.pcap")
    tmux("kill-server")
    tmux("new-session", "-d", "-s", "ui", "-x", "150", "-y", "30",
         "env TERM=xterm-256color LANG=C.UTF-8 %s -r %s; echo EXITED $?; sleep 30" % (e2e.WSCOPE, pcap))
    ok, s = wait_for("127.0.0.1:9701/plain")
    e2e.case("TUI: the connection list shows each connection, its state and counts",
             ok and "closed 4000" in s and "[::1]:9701/deflate" in s and "deflate" in s, s)
    tmux("send-keys", "-t", "ui", "Enter")
    ok, s = wait_for("client done")
    e2e.case("TUI: Enter opens a connection's messages, newest at the bottom, wide characters intact",
             ok and "클라이언트 종료 🚪 bye" in s and "->" in s and "<-" in s, s)
    tmux("send-keys", "-t", "ui", "g", "/")
    time.sleep(0.3)
    tmux("send-keys", "-t", "ui", "/split.*char", "Enter")
    ok, s = wait_for("search: /split.*char/")
    e2e.case("TUI: / searches with a regex and shows the active search", ok, s)
    tmux("send-keys", "-t", "ui", "Enter")
    ok, s = wait_for("text, 67 bytes")
    e2e.case("TUI: Enter opens the message in detail, with the frames that made it (a ping between them excluded)",
             ok and "조각난 텍스트" in s and "frame 1: --- MASK rsv=0 text" in s and "frame 3: FIN MASK" in s
             and "frame 4" not in s, s)
    tmux("send-keys", "-t", "ui", "Escape")
    time.sleep(0.3)
    tmux("send-keys", "-t", "ui", "?")
    ok, s = wait_for("wscope keys")
    e2e.case("TUI: ? lists the keys", ok and "search messages" in s, s)
    tmux("send-keys", "-t", "ui", "q")
    time.sleep(0.3)
    # f: only the server's text messages; the filter is shown
    tmux("send-keys", "-t", "ui", "f")
    time.sleep(0.3)
    tmux("send-keys", "-t", "ui", "s2c text", "Enter")
    ok, s = wait_for("FILTER: dir:s2c op:text")
    lines = [l for l in s.splitlines()[1:] if " -> " in l or " <- " in l]
    e2e.case("TUI: f filters the list (s2c text only) and shows the active filter",
             ok and lines and all(" <- text" in l for l in lines), s)
    # e: export the listed messages; the file holds what the server sent
    tmux("send-keys", "-t", "ui", "e")
    ok, s = wait_for("exported")
    path = None
    for l in s.splitlines():
        if "exported" in l:
            path = l.split("exported", 1)[1].split(" to ", 1)[1].split("  |", 1)[0].strip()
    good = False
    if ok and path and os.path.exists(path):
        with open(path) as f:
            recs = [json.loads(x) for x in f]
        os.unlink(path)
        got = [r["text"] for r in recs if r["type"] == "message"]
        want = []
        with e2e.open_log(os.path.join(e2e.TOP, "samples", "ws-node.endpoints.jsonl.gz")) as f:
            for line in f:
                r = json.loads(line)
                if r["kind"] == "msg" and r["conn"] == 1 and r["side"] == "server" and r["role"] == "sent" \
                        and r["opcode"] == "text":
                    want.append(base64.b64decode(r["b64"]).decode("utf-8"))
        good = got == want and len(got) > 0
    e2e.case("TUI: e exports the filtered messages as NDJSON and says where; they are what the server sent",
             good, s)
    tmux("send-keys", "-t", "ui", "t")
    time.sleep(0.4)
    s = screen()
    e2e.case("TUI: t shows absolute times",
             any(re.match(r"\d\d:\d\d:\d\d\.\d{6} <- text", l.strip()) for l in s.splitlines()), s)
    tmux("send-keys", "-t", "ui", "f")
    time.sleep(0.3)
    tmux("send-keys", "-t", "ui", "Enter")
    time.sleep(0.3)
    tmux("resize-window", "-t", "ui", "-x", "70", "-y", "15")
    time.sleep(0.5)
    s = screen()
    e2e.case("TUI: a resize redraws to the new size", "Enter open" in s and len(s.splitlines()[0]) <= 70, s)
    tmux("send-keys", "-t", "ui", "q", "q")
    ok, s = wait_for("EXITED 0")
    e2e.case("TUI: q goes back, and quits from the connection list", ok, s)
    tmux("kill-server")
    if os.geteuid() != 0:
        e2e.case("TUI live test needs root", False, "not root")
        return
    # live: the connection and its messages appear while the traffic flows
    port = 9978
    time.sleep(0.5)  # let the previous tmux server go
    for _ in range(5):
        p = tmux("new-session", "-d", "-s", "ui", "-x", "150", "-y", "30",
                 "env TERM=xterm-256color LANG=C.UTF-8 %s -i lo 'tcp port %d'; echo EXITED $?; sleep 30" % (e2e.WSCOPE, port))
        if p.returncode == 0:
            break
        time.sleep(0.5)
    ok, s = wait_for("LIVE")
    if not ok:
        e2e.case("TUI live: the UI starts", False, p.stderr + s)
        tmux("kill-server")
        return
    subprocess.run(["/usr/bin/python3", os.path.join(os.path.dirname(__file__), "live_ws.py"), str(port),
                    os.path.join(e2e.TMP, "tui_live.jsonl")], capture_output=True, timeout=60)
    ok, s = wait_for("closed 1000")
    e2e.case("TUI live: the connection appears with its state and 21 messages each way, drops shown",
             ok and "/live" in s and " 21 " in s and "0 kernel drops" in s and "0 wscope drops" in s and "following" in s, s)
    tmux("send-keys", "-t", "ui", "Enter")
    ok, s = wait_for("<- close")
    e2e.case("TUI live: the messages follow the tail, newest at the bottom", ok and "live message 18" in s, s)
    tmux("send-keys", "-t", "ui", "q", "q")
    ok, s = wait_for("EXITED 0")
    e2e.case("TUI live: q quits and the capture ends cleanly", ok, s)
    tmux("kill-server")
