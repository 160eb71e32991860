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
    node_cases(e2e, port + 10)
    # without the privilege: a message that says what to do
    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", e2e.WSCOPE, "-i", "lo"],
                       capture_output=True, text=True, timeout=10)
    e2e.case("live capture without privileges: says to use root or CAP_NET_RAW",
             p.returncode != 0 and "CAP_NET_RAW" in p.stderr, p.stderr[-300:])


def node_cases(e2e, port):
    """A Node `ws` server and client (Debian's node-ws) with
    permessage-deflate, live: ws://, and wss:// with node --tls-keylog
    writing into a key log made (empty) before wscope started, as the README
    advises for a client that runs as root (wscope reads it as nobody)."""
    env = dict(os.environ, NODE_PATH="/usr/share/nodejs")
    peer = os.path.join(HERE, "live_node.js")
    cert, key = os.path.join(e2e.TMP, "node-cert.pem"), os.path.join(e2e.TMP, "node-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                   capture_output=True)
    for tls, p in ((False, port), (True, port + 1)):
        what = "wss:// (node --tls-keylog)" if tls else "ws://"
        js = os.path.join(e2e.TMP, "node-live-%d.json" % p)
        log = os.path.join(e2e.TMP, "node-live-%d.jsonl" % p)
        kl = os.path.join(e2e.TMP, "node-live-%d.keys" % p)
        args = [e2e.WSCOPE, "-i", "lo", "--json=" + js, "--max-payload", "1M", "tcp port %d" % p]
        if tls:
            open(kl, "w").close()
            os.chmod(kl, 0o644)
            args[3:3] = ["--keylog", kl]
        w = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(1.0)
        node = ["node"] + (["--tls-keylog=" + kl] if tls else []) + [peer, str(p), log, "1" if tls else "0",
                                                                    cert, key]
        try:
            c = subprocess.run(node, capture_output=True, text=True, timeout=60, env=env)
        except (OSError, subprocess.TimeoutExpired) as ex:
            c = None
            cerr = str(ex)
        time.sleep(0.5)
        w.send_signal(signal.SIGINT)
        so, se = w.communicate(timeout=30)
        se = se.decode("utf-8", "replace")
        if c is None or c.returncode != 0:
            e2e.case("live %s: the Node ws peers ran (node and node-ws installed)" % what, False,
                     cerr if c is None else c.stderr[-400:])
            continue
        sent = {"c2s": [], "s2c": []}
        with open(log) as f:
            for line in f:
                r = json.loads(line)
                sent[r["dir"]].append(bytes.fromhex(r["hex"]))
        with open(js) as f:
            recs = [json.loads(l) for l in f]
        errs = []
        for d in ("c2s", "s2c"):
            got = [e2e.payload_of(r) for r in recs if r["type"] == "message" and r["dir"] == d
                   and r["opcode"] in ("text", "binary")]
            if got != sent[d]:
                errs.append("%s: %d messages (%d as sent), the peer sent %d" % (
                    d, len(got), sum(1 for a, b in zip(got, sent[d]) if a == b), len(sent[d])))
        conn = [r for r in recs if r["type"] == "connection"]
        comp = sum(1 for r in recs if r["type"] == "message" and r.get("compressed"))
        if len(conn) != 1 or "permessage-deflate" not in json.dumps(conn[0]):
            errs.append("connection record: %s" % conn)
        if comp == 0:
            errs.append("no message came compressed")
        if tls and (not conn or conn[0].get("decrypted") is not True):
            errs.append("not decrypted")
        warns = [r["code"] for r in recs if r["type"] == "warning"]
        if warns:
            errs.append("warnings %s" % warns)
        ends = [r for r in recs if r["type"] == "end"]
        if not ends or ends[0].get("reason") != "close":
            errs.append("end %s" % ends)
        e2e.case("live %s: Node ws server and client with permessage-deflate: every message each way as the "
                 "peers logged it (%d compressed), closed with 4001" % (what, comp),
                 w.returncode == 0 and not errs, "; ".join(errs) + " | " + se[-300:])
