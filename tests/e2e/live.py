"""Live capture on loopback: a real Python websockets client and server
exchange messages while wscope captures; what the client logged it sent
(and the server echoed) must come out of wscope's NDJSON, live and from the
-w replay."""
import json
import os
import signal
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYSYS = "/usr/bin/python3"  # Debian's, with python3-websockets


def run(e2e):
    if os.geteuid() != 0:
        e2e.case("live capture tests need root (run the suite as root)", False, "not root")
        return
    port = 9977
    js = os.path.join(e2e.TMP, "live.json")
    wp = os.path.join(e2e.TMP, "live.pcap")
    sent_log = os.path.join(e2e.TMP, "live_sent.jsonl")
    w = subprocess.Popen([e2e.WSCOPE, "-i", "lo", "--json=" + js, "-w", wp, "tcp port %d" % port],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.0)
    c = subprocess.run([PYSYS, os.path.join(HERE, "live_ws.py"), str(port), sent_log],
                       capture_output=True, text=True, timeout=60)
    time.sleep(0.5)
    w.send_signal(signal.SIGINT)
    so, se = w.communicate(timeout=30)
    se = se.decode("utf-8", "replace")
    if c.returncode != 0:
        e2e.case("live: the websockets scenario ran", False, c.stderr[-300:])
        return
    sent = []
    with open(sent_log) as f:
        for line in f:
            r = json.loads(line)
            sent.append(r["text"].encode() if "text" in r else bytes.fromhex(r["hex"]))

    def check(recs):
        errs = []
        for d in ("c2s", "s2c"):  # the server echoes every message
            got = [e2e.payload_of(r) for r in recs if r["type"] == "message" and r["dir"] == d
                   and r["opcode"] in ("text", "binary")]
            if got != sent:
                errs.append("%s: %d messages, %d sent" % (d, len(got), len(sent)))
        return errs

    with open(js) as f:
        recs = [json.loads(l) for l in f]
    errs = check(recs)
    e2e.case("live capture on lo: %d messages each way, as the client sent them" % len(sent),
             w.returncode == 0 and not errs and "kernel dropped 0" in se, "; ".join(errs) + se[-300:])
    rc, recs2, bad, se2 = e2e.wscope_json(wp)
    e2e.case("live -w file replays to the same messages", rc == 0 and not check(recs2), se2[-200:])
    # -c stops after N packets
    p = subprocess.run([e2e.WSCOPE, "-r", wp, "-c", "5"], capture_output=True, text=True)
    e2e.case("-c 5 with -r reads 5 packets", p.returncode == 0 and ": 5 packets" in p.stderr, p.stderr[-200:])
    w = subprocess.Popen([e2e.WSCOPE, "-i", "lo", "-c", "3", "-q", "tcp port %d" % (port + 1)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.8)
    subprocess.run([PYSYS, os.path.join(HERE, "live_ws.py"), str(port + 1), sent_log], capture_output=True, timeout=60)
    try:
        w.wait(timeout=10)
        ok = w.returncode == 0
    except subprocess.TimeoutExpired:
        w.kill()
        ok = False
    e2e.case("-c 3: a live capture stops by itself after 3 packets", ok, "")
    # without the privilege: a message that says what to do
    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", e2e.WSCOPE, "-i", "lo"],
                       capture_output=True, text=True, timeout=10)
    e2e.case("live capture without privileges: says to use root or CAP_NET_RAW",
             p.returncode != 0 and "CAP_NET_RAW" in p.stderr, p.stderr[-300:])
