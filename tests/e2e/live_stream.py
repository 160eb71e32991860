"""Live output as it is streamed: a real Python websockets client sends
messages on loopback while wscope captures; each message's NDJSON record
must reach the reader within 200 ms of the client sending it (the client
logs its send times), with and without -l; --json=FILE must be readable
while the capture runs; Ctrl-C leaves only whole lines; a reader that goes
away ends wscope at once with 141; a full disk is an error with status 1,
for --json and for -w. Needs root (live capture)."""
import json
import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYSYS = "/usr/bin/python3"  # Debian's, with python3-websockets

# The client: N text messages 250 ms apart; prints "SENT <epoch> <text>" as
# it sends each one.
CLIENT = r'''
import asyncio, sys, time, websockets
port, n = int(sys.argv[1]), int(sys.argv[2])
async def handler(ws, path):
    async for m in ws:
        pass
async def main():
    async with websockets.serve(handler, "127.0.0.1", port):
        async with websockets.connect("ws://127.0.0.1:%d/stream" % port) as c:
            for i in range(n):
                m = "stream message %d" % i
                print("SENT %.6f %s" % (time.time(), m), flush=True)
                await c.send(m)
                await asyncio.sleep(0.25)
asyncio.run(main())
'''


def client(port, n):
    p = subprocess.run([PYSYS, "-c", CLIENT, str(port), str(n)], capture_output=True, text=True, timeout=60)
    sent = {}
    for line in p.stdout.splitlines():
        if line.startswith("SENT "):
            _, t, m = line.split(" ", 2)
            sent[m] = float(t)
    return p.returncode, sent, p.stderr


def latency_run(e2e, port, extra):
    """wscope -i lo --json [extra] read through a pipe; the time each
    client message's record arrives, against its send time."""
    w = subprocess.Popen([e2e.WSCOPE, "-i", "lo", "--json"] + extra + ["tcp port %d" % port],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    arrivals, lines = {}, []

    def reader():
        for line in w.stdout:
            t = time.time()
            lines.append(line)
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if r.get("type") == "message" and r.get("dir") == "c2s" and r.get("opcode") == "text":
                arrivals.setdefault(r["text"], t)

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    time.sleep(1.0)
    rc, sent, cerr = client(port, 12)
    time.sleep(0.3)
    w.send_signal(signal.SIGINT)
    try:
        w.wait(timeout=10)
    except subprocess.TimeoutExpired:
        w.kill()
    th.join(timeout=5)
    se = w.stderr.read().decode("utf-8", "replace")
    lat = {m: (arrivals[m] - t) * 1000 for m, t in sent.items() if m in arrivals}
    whole = all(l.endswith(b"\n") for l in lines) and all(_is_json(l) for l in lines)
    return rc, sent, lat, w.returncode, whole, se + cerr


def _is_json(b):
    try:
        json.loads(b)
        return True
    except ValueError:
        return False


def run(e2e):
    if os.geteuid() != 0:
        e2e.case("live streaming tests need root (run the suite as root)", False, "not root")
        return
    port = 9931
    for extra, name in (([], "--json"), (["-l"], "--json -l")):
        rc, sent, lat, wrc, whole, err = latency_run(e2e, port, extra)
        port += 1
        worst = max(lat.values()) if lat else -1
        e2e.case("live %s | reader: every message's record arrives within 200 ms of the client sending it "
                 "(%d of %d, worst %.1f ms, median %.1f ms)" % (name, len(lat), len(sent), worst,
                                                               sorted(lat.values())[len(lat) // 2] if lat else -1),
                 rc == 0 and len(sent) == 12 and len(lat) == len(sent) and worst <= 200, err[-300:])
        e2e.case("live %s: after Ctrl-C every line written is whole JSON, status 0" % name,
                 whole and wrc == 0, "status %s\n%s" % (wrc, err[-300:]))

    # --json=FILE can be followed while the capture runs
    path = os.path.join(e2e.TMP, "stream.ndjson")
    if os.path.exists(path):
        os.unlink(path)
    w = subprocess.Popen([e2e.WSCOPE, "-i", "lo", "--json=" + path, "tcp port %d" % port],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.0)
    seen_during = []

    def watch():
        for _ in range(40):
            time.sleep(0.1)
            try:
                with open(path) as f:
                    seen_during.append(sum(1 for l in f if '"type":"message"' in l))
            except OSError:
                seen_during.append(0)

    th = threading.Thread(target=watch, daemon=True)
    th.start()
    rc, sent, cerr = client(port, 12)
    port += 1
    th.join(timeout=10)
    w.send_signal(signal.SIGINT)
    w.wait(timeout=10)
    e2e.case("live --json=FILE: the file holds the messages while the capture runs (tail -f works; "
             "most seen during the run: %d)" % (max(seen_during) if seen_during else 0),
             rc == 0 and seen_during and max(seen_during) >= 6 and w.returncode == 0, cerr[-300:])

    # a reader that goes away: wscope ends at once, status 141, quietly
    w = subprocess.Popen([e2e.WSCOPE, "-i", "lo", "--json", "tcp port %d" % port],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.0)
    w.stdout.close()
    t0 = time.time()
    rc, sent, cerr = client(port, 4)
    port += 1
    try:
        w.wait(timeout=5)
        ended = True
    except subprocess.TimeoutExpired:
        w.kill()
        w.wait()
        ended = False
    se = w.stderr.read().decode("utf-8", "replace")
    e2e.case("live --json into a pipe whose reader went away: ends by itself with status 141, quietly",
             ended and w.returncode in (141, -signal.SIGPIPE) and "write failed" not in se,
             "status %s after %.1f s\n%s" % (w.returncode, time.time() - t0, se[-300:]))

    # a full disk: --json and -w are errors with their path and status 1
    for args, what in ((["--json=/dev/full"], "--json=/dev/full"), (["-w", "/dev/full", "-q"], "-w /dev/full")):
        w = subprocess.Popen([e2e.WSCOPE, "-i", "lo"] + args + ["tcp port %d" % port],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1.0)
        rc, sent, cerr = client(port, 4)
        port += 1
        try:
            w.wait(timeout=5)
            ended = True
        except subprocess.TimeoutExpired:
            w.send_signal(signal.SIGINT)
            w.wait(timeout=10)
            ended = False
        se = w.stderr.read().decode("utf-8", "replace")
        e2e.case("live %s (a full disk): the capture ends by itself, 'write failed' with the path and why, "
                 "status 1" % what,
                 ended and w.returncode == 1 and "/dev/full" in se and "No space left on device" in se,
                 "status %s\n%s" % (w.returncode, se[-400:]))
