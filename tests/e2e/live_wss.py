"""Live wss:// with a key log that is written while wscope captures: real
TLS clients (Python websockets, TLS 1.3 and TLS 1.2, and Node's ws) talk to a
Python websockets wss:// echo server on loopback; the client writes the key
log K itself, a file that does not exist yet when wscope starts. wscope must
hold the TLS records until the secrets are in K, then decrypt them in order,
each message with its own capture time. Also: secrets that arrive only
seconds later (copied into K by the test), secrets that never arrive (a
no_key warning by the connection's end, and a prompt exit on SIGINT), and
key logs refused at once (a directory, a FIFO, /dev/zero; a missing file
with -r).

Truth is what the client logged it sent and received (and the TLS version
and cipher it reported), never wscope's own output. A harness case checks
with dumpcap and tshark that the capture holds the traffic and that the
client's key log decrypts it. Needs root (live capture on lo).

Live wscope runs as the user nobody after opening the interface, the
outputs and the key log, so: a key log that exists at the start is kept in
a directory only root can enter (it can then be read only through the
descriptor opened before the drop); one that the client creates later lies
in a directory the user nobody can enter, and is readable by that user.
Node's --tls-keylog creates its file 0600, so the Node client runs as
nobody (as a user's own program would), in a directory of its own.

Alone: WSCOPE=build/wscope python3 -c 'import sys; sys.path.insert(0,
"tests/e2e"); import e2e, live_wss; live_wss.run(e2e)'"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

PYSYS = "/usr/bin/python3"  # Debian's, with python3-websockets
NODE_PATH = "/usr/share/nodejs"  # Debian's node-ws
PORT = 9861
NOBODY = 65534
RUNS_TLS13 = 20
RUNS_TLS12 = 5
RUNS_NODE = 5

# The echo server: wss:// with the test's self-signed certificate; no key log
# (the client's key log is the one under test). Prints READY once listening.
SERVER = r'''
import asyncio, ssl, sys, websockets
port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
async def echo(ws, path):
    async for m in ws:
        await ws.send(m)
async def main():
    async with websockets.serve(echo, "127.0.0.1", port, ssl=ctx, compression=None, max_size=None):
        print("READY", flush=True)
        await asyncio.Future()
asyncio.run(main())
'''

# The Python client: argv port cert keylog(- for none) log tls12(0/1)
# count pace. Setting keylog_filename creates the key log at once (with a
# comment line); the secrets are appended during the handshake. Logs one
# JSON line per event, flushed: open (local port, version, cipher), sent and
# recv (time, payload), closed.
PY_CLIENT = r'''
import asyncio, json, os, ssl, sys, time, websockets
port, cert, keylog, logpath = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
tls12, count, pace = sys.argv[5] == "1", int(sys.argv[6]), float(sys.argv[7])
log = open(logpath, "w")
def ev(**kw):
    log.write(json.dumps(kw) + "\n"); log.flush()
def make(i):
    k = i % 8
    if k == 0: return "wss message %d: hello" % i
    if k == 1: return "non-ASCII %d: \u2713 \uc548\ub155\ud558\uc138\uc694 \u00fcn\u00efc\u00f8d\u00e9 \U0001f680 \u20ac \U0001d11e" % i
    if k == 2: return b"\x00"
    if k == 3: return os.urandom(125)
    if k == 4: return os.urandom(126)
    if k == 5: return "\u03ba\u1f79\u03c3\u03bc\u03b5 \u2713 %d " % i * 1000
    if k == 6: return os.urandom(65536)
    return os.urandom(70000)
def rec(m):
    return {"text": m} if isinstance(m, str) else {"hex": m.hex()}
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.load_verify_locations(cert)
if tls12:
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
if keylog != "-":
    ctx.keylog_filename = keylog
async def main():
    async with websockets.connect("wss://127.0.0.1:%d/live-wss" % port, ssl=ctx, compression=None,
                                  max_size=None) as c:
        so = c.transport.get_extra_info("ssl_object")
        ev(ev="open", t=time.time(), port=c.transport.get_extra_info("sockname")[1],
           version=so.version(), cipher=so.cipher()[0])
        for i in range(count):
            m = make(i)
            ev(ev="sent", i=i, t=time.time(), **rec(m))
            await c.send(m)
            r = await c.recv()
            ev(ev="recv", i=i, t=time.time(), **rec(r))
            if pace:
                await asyncio.sleep(pace)
    ev(ev="closed", t=time.time())
try:
    asyncio.run(main())
except Exception as e:
    ev(ev="error", msg=repr(e))
    sys.exit(1)
'''

# The Node client (run as node --tls-keylog=K): argv port log count. The
# same messages, the same log lines.
NODE_CLIENT = r'''
const WebSocket = require('ws');
const crypto = require('crypto');
const fs = require('fs');
const port = process.argv[2], logpath = process.argv[3], count = parseInt(process.argv[4]);
const log = fs.openSync(logpath, 'w');
function ev(o) { fs.writeSync(log, JSON.stringify(o) + '\n'); }
function now() { return Date.now() / 1000; }
function make(i) {
  switch (i % 8) {
  case 0: return 'wss message ' + i + ': hello';
  case 1: return 'non-ASCII ' + i + ': \u2713 \uc548\ub155\ud558\uc138\uc694 \u00fcn\u00efc\u00f8d\u00e9 \u{1f680} \u20ac \u{1d11e}';
  case 2: return Buffer.from([0]);
  case 3: return crypto.randomBytes(125);
  case 4: return crypto.randomBytes(126);
  case 5: return ('\u03ba\u1f79\u03c3\u03bc\u03b5 \u2713 ' + i + ' ').repeat(1000);
  case 6: return crypto.randomBytes(65536);
  default: return crypto.randomBytes(70000);
  }
}
function rec(o, m, isText) {
  if (isText) o.text = m.toString(); else o.hex = Buffer.from(m).toString('hex');
  return o;
}
const ws = new WebSocket('wss://127.0.0.1:' + port + '/live-wss-node', { rejectUnauthorized: false });
let i = 0;
function next() {
  if (i >= count) { ws.close(1000); return; }
  const m = make(i);
  ev(rec({ ev: 'sent', i: i, t: now() }, m, typeof m === 'string'));
  ws.send(m);
}
ws.on('open', () => {
  ev({ ev: 'open', t: now(), port: ws._socket.localPort, version: ws._socket.getProtocol(),
       cipher: ws._socket.getCipher().standardName });
  next();
});
ws.on('message', (data, isBinary) => {
  ev(rec({ ev: 'recv', i: i, t: now() }, data, !isBinary));
  i++;
  next();
});
ws.on('close', () => { ev({ ev: 'closed', t: now() }); });
ws.on('error', (e) => { ev({ ev: 'error', msg: String(e) }); process.exitCode = 1; });
'''

# OpenSSL's TLS 1.2 suite names (as Python reports them) -> IANA (as wscope)
OPENSSL_TO_IANA = {
    "ECDHE-ECDSA-AES128-GCM-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
}


class Run:
    """One live wscope run: its NDJSON records with their arrival times,
    its exit, and the client's log."""
    def __init__(self):
        self.recs = []          # (arrival time, record)
        self.bad_lines = 0
        self.wscope_rc = None   # after SIGINT (None: had to be killed)
        self.early_rc = None    # wscope had already exited when the client started
        self.exit_secs = None   # from SIGINT to exit
        self.sigint_at = None
        self.stderr = ""
        self.ready = False      # wscope ran as nobody (capturing) before the client
        self.client_rc = None
        self.client_err = ""
        self.client_end = None
        self.clog = []
        self.copy_at = None     # late key: when the secrets were copied into K
        self.copy_note = ""


def _uid(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _read_log(path):
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    out.append({"ev": "unparsable", "line": line[:100]})
    except OSError:
        pass
    return out


def live_run(e2e, tag, client_argv, keylog, clog_path, client_env=None, late=None, dumpcap=None,
             settle=0.5):
    """wscope -i lo --keylog K --json -l while client_argv runs. late =
    (private key log, delay): once the client logged 'open', wait delay and
    copy the private key log into K. dumpcap = pcap path: dumpcap captures
    the same traffic too."""
    r = Run()
    errf = os.path.join(os.path.dirname(clog_path), "wscope-%s.err" % tag)
    dc = None
    if dumpcap:
        dc = subprocess.Popen(["dumpcap", "-i", "lo", "-f", "tcp port %d" % PORT, "-w", dumpcap],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # dumpcap says "Capturing on 'Loopback: lo'" once it captures
        t_end = time.time() + 10
        while time.time() < t_end:
            line = dc.stderr.readline()
            if not line or "Capturing on" in line:
                break
    with open(errf, "w") as ef:
        try:
            w = subprocess.Popen([e2e.WSCOPE, "-i", "lo", "--keylog", keylog, "--json", "-l",
                                  "--max-payload", "1M", "tcp port %d" % PORT],
                                 stdout=subprocess.PIPE, stderr=ef)
        except OSError as ex:
            w = None
            ef.write("could not start %s: %s\n" % (e2e.WSCOPE, ex))

    def reader():
        for line in w.stdout:
            t = time.time()
            try:
                r.recs.append((t, json.loads(line)))
            except ValueError:
                r.bad_lines += 1

    th = threading.Thread(target=reader, daemon=True)
    if w is not None:
        th.start()
        # the drop to nobody comes after the interface, outputs and key
        # log are open: from then on it captures
        t_end = time.time() + 3
        while time.time() < t_end and w.poll() is None:
            if _uid(w.pid) == NOBODY:
                r.ready = True
                break
            time.sleep(0.01)
        time.sleep(0.3 if r.ready else 0.5)
        r.early_rc = w.poll()
    else:
        r.early_rc = 127

    copier = None
    if late is not None:
        private, delay = late

        def copy():
            t_end = time.time() + 20
            while time.time() < t_end:
                if any(x.get("ev") == "open" for x in _read_log(clog_path)):
                    break
                time.sleep(0.01)
            else:
                r.copy_note = "the client never logged its handshake"
                return
            time.sleep(delay)
            with open(private, "rb") as f:
                data = f.read()
            with open(keylog, "ab") as f:
                f.write(data)
            r.copy_at = time.time()
            r.copy_note = "%d secret lines copied" % sum(1 for l in data.splitlines() if l and not l.startswith(b"#"))

        copier = threading.Thread(target=copy, daemon=True)
        copier.start()
    try:
        c = subprocess.run(client_argv, capture_output=True, text=True, timeout=60, env=client_env)
        r.client_rc, r.client_err = c.returncode, (c.stderr + c.stdout)[-400:]
    except subprocess.TimeoutExpired:
        r.client_rc, r.client_err = "timeout", "client still running after 60 s"
    r.client_end = time.time()
    if copier is not None:
        copier.join(timeout=20)
    time.sleep(settle)
    r.sigint_at = time.time()
    if w is not None:
        if w.poll() is None:
            w.send_signal(signal.SIGINT)
        try:
            w.wait(timeout=10)
            r.wscope_rc = w.returncode
        except subprocess.TimeoutExpired:
            w.kill()
            w.wait()
        th.join(timeout=5)
    r.exit_secs = time.time() - r.sigint_at
    if dc is not None:
        dc.send_signal(signal.SIGINT)
        try:
            dc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            dc.kill()
            dc.wait()
    with open(errf, encoding="utf-8", errors="replace") as f:
        r.stderr = f.read()
    r.clog = _read_log(clog_path)
    return r


def _want(rec):
    return rec["text"].encode("utf-8") if "text" in rec else bytes.fromhex(rec["hex"])


def _kind(rec):
    return "text" if "text" in rec else "binary"


def _tail(s, n=240):
    s = s.strip().replace("\n", " | ")
    return s[-n:]


def conn_of(r, port):
    for _, x in r.recs:
        if x.get("type") == "connection" and x.get("client", {}).get("port") == port:
            return x
    return None


def check_run(e2e, r, ts_within=1.0):
    """Every message the client sent and every echo it received, in order,
    byte for byte, with a capture time within ts_within s of its sending;
    the connection decrypted with the version and suite the client
    reported; no warning; status 0 after SIGINT. Returns a list of errors
    (empty: the run is good)."""
    errs = []
    opened = [x for x in r.clog if x.get("ev") == "open"]
    sent = [x for x in r.clog if x.get("ev") == "sent"]
    recv = [x for x in r.clog if x.get("ev") == "recv"]
    if r.client_rc != 0 or not opened or len(recv) != len(sent) or not any(x.get("ev") == "closed" for x in r.clog):
        errs.append("client did not run through (status %s, %d sent, %d echoed): %s %s" % (
            r.client_rc, len(sent), len(recv), [x for x in r.clog if x.get("ev") in ("error", "unparsable")][:2],
            _tail(r.client_err)))
        return errs
    if r.early_rc is not None:
        errs.append("wscope exited with status %d before the client ran: %s" % (r.early_rc, _tail(r.stderr)))
        return errs
    port = opened[0]["port"]
    cr = conn_of(r, port)
    if cr is None:
        errs.append("no connection record for client port %d (%d records: %s); stderr: %s" % (
            port, len(r.recs), sorted({x.get("type") for _, x in r.recs}), _tail(r.stderr)))
    else:
        if not cr.get("tls") or cr.get("decrypted") is not True or cr.get("status") != 101:
            errs.append("connection: tls %s decrypted %s status %s" % (cr.get("tls"), cr.get("decrypted"),
                                                                       cr.get("status")))
        ver, cipher = opened[0].get("version"), opened[0].get("cipher")
        cipher = OPENSSL_TO_IANA.get(cipher, cipher)
        if cr.get("decrypted") and (cr.get("tls_version") != ver or cr.get("cipher") != cipher):
            errs.append("connection: %s %s, the client reported %s %s" % (cr.get("tls_version"), cr.get("cipher"),
                                                                          ver, cipher))
    warns = [x for _, x in r.recs if x.get("type") == "warning"]
    if warns:
        errs.append("%d warnings: %s" % (len(warns), "; ".join("%s %s" % (x.get("code"), x.get("msg"))
                                                               for x in warns[:3])))
    if cr is not None:
        for d, want in (("c2s", sent), ("s2c", recv)):
            got = [x for _, x in r.recs if x.get("type") == "message" and x.get("conn") == cr["id"]
                   and x.get("dir") == d and x.get("opcode") in ("text", "binary")]
            for i, w in enumerate(want):
                wp = _want(w)
                what = "%s message %d (%s, %d bytes)" % (d, i + 1, _kind(w), len(wp))
                if i >= len(got):
                    errs.append("%s missing: wscope has %d %s messages of %d" % (what, len(got), d, len(want)))
                    break
                g = got[i]
                gp = e2e.payload_of(g)
                if g["opcode"] != _kind(w) or g.get("length") != len(wp) or g.get("truncated") or gp != wp:
                    errs.append("%s: wscope has %s, %s bytes%s, payload %s" % (
                        what, g["opcode"], g.get("length"), " truncated" if g.get("truncated") else "",
                        "equal" if gp == wp else "different"))
                    break
                # capture time, not the time the secrets arrived
                t_sent = sent[i]["t"]
                lo_t, hi_t = t_sent - ts_within, (t_sent if d == "c2s" else recv[i]["t"]) + ts_within
                if not lo_t <= g["ts"] <= hi_t:
                    errs.append("%s: ts %.3f is %+.3f s from the client's send time%s" % (
                        what, g["ts"], g["ts"] - t_sent,
                        "" if r.copy_at is None else " (%+.3f s from the key copy)" % (g["ts"] - r.copy_at)))
                    break
            else:
                if len(got) > len(want):
                    errs.append("%s: %d data messages, the client logged %d" % (d, len(got), len(want)))
    if r.bad_lines:
        errs.append("%d output lines not JSON" % r.bad_lines)
    if r.wscope_rc is None:
        errs.append("still running 10 s after SIGINT (killed): %s" % _tail(r.stderr))
    elif r.wscope_rc != 0:
        errs.append("status %s after SIGINT (%.1f s): %s" % (r.wscope_rc, r.exit_secs, _tail(r.stderr)))
    return errs


def summarize(results, runs):
    good = sum(1 for e in results if not e)
    bad = ["run %d: %s" % (i + 1, "; ".join(e[:2])) for i, e in enumerate(results) if e]
    return good, "%d/%d runs decrypted. %s" % (good, runs, " || ".join(bad[:3]))


def tshark_check(e2e, pcap, keylog, r):
    """The harness itself: dumpcap's capture of the run holds the TLS
    traffic, and tshark, with the client's key log, finds the client's
    messages in it (data frames each way)."""
    if shutil.which("tshark") is None:
        return False, "tshark is not installed (tools/deps.sh installs it)"
    sent = [x for x in r.clog if x.get("ev") == "sent"]
    recv = [x for x in r.clog if x.get("ev") == "recv"]
    p = subprocess.run(["tshark", "-r", pcap, "-d", "tcp.port==%d,tls" % PORT, "-o", "tls.keylog_file:" + keylog,
                        "-Y", "websocket", "-T", "fields", "-E", "occurrence=a", "-e", "tcp.dstport",
                        "-e", "websocket.opcode"], capture_output=True, text=True, timeout=120)
    n = {"c2s": 0, "s2c": 0}
    for line in p.stdout.splitlines():
        dport, ops = (line.split("\t") + [""])[:2]
        for op in ops.split(","):
            if op in ("1", "2"):
                n["c2s" if dport == str(PORT) else "s2c"] += 1
    # application data records (TLS 1.3 calls the outer type opaque_type)
    q = subprocess.run(["tshark", "-r", pcap, "-d", "tcp.port==%d,tls" % PORT, "-Y",
                        "tls.record.content_type == 23 or tls.record.opaque_type == 23"],
                       capture_output=True, text=True, timeout=120)
    app = len(q.stdout.splitlines())
    ok = p.returncode == 0 and n["c2s"] == len(sent) and n["s2c"] == len(recv) and len(sent) > 0 and app > 0
    return ok, "tshark: %d packets with TLS application data; %d/%d client messages, %d/%d echoes; %s" % (
        app, n["c2s"], len(sent), n["s2c"], len(recv), _tail(p.stderr))


def replay_check(e2e, pcap, keylog, r):
    """The checker itself: wscope -r on dumpcap's capture of the run, with
    the finished key log, must pass the same checks as a live run."""
    rc, recs, bad, se = e2e.wscope_json(pcap, ["--keylog", keylog, "--max-payload", "1M"])
    x = Run()
    x.recs = [(0.0, y) for y in recs]
    x.bad_lines, x.wscope_rc, x.exit_secs, x.stderr = bad, rc, 0.0, se
    x.client_rc, x.client_err, x.clog = r.client_rc, r.client_err, r.clog
    errs = check_run(e2e, x)
    return not errs, "; ".join(errs[:4])


def run(e2e):
    base = os.path.join(e2e.TOP, "samples", "ws-node.pcap")
    work = tempfile.mkdtemp(prefix="wscope-e2e-wss-")
    try:
        if os.geteuid() != 0:
            e2e.case("live wss:// key log tests need root (run the suite as root)", False, "not root")
        else:
            live_cases(e2e, work)
        refusals(e2e, work, base)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def live_cases(e2e, work):
    # nobody (the user live wscope runs as) may enter the work directory and
    # read what the Python client creates there (0644)
    os.chmod(work, 0o755)
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        e2e.case("harness: openssl made the test's certificate", False, _tail(p.stderr))
        return
    pyclient = os.path.join(work, "client.py")
    with open(pyclient, "w") as f:
        f.write(PY_CLIENT)
    nodeclient = os.path.join(work, "client.js")
    with open(nodeclient, "w") as f:
        f.write(NODE_CLIENT)
    os.chmod(nodeclient, 0o644)
    srv = subprocess.Popen([PYSYS, "-c", SERVER, str(PORT), cert, key], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        ready = [False]

        def wait_ready():
            ready[0] = srv.stdout.readline().strip() == "READY"

        th = threading.Thread(target=wait_ready, daemon=True)
        th.start()
        th.join(timeout=15)
        if not ready[0]:
            srv.kill()
            e2e.case("harness: the wss:// echo server started", False, _tail(srv.stderr.read()))
            return
        with_server(e2e, work, cert, pyclient, nodeclient)
    finally:
        srv.terminate()
        try:
            srv.wait(timeout=5)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()


def py_argv(pyclient, cert, keylog, clog, tls12=False, count=8, pace=0.0):
    return [PYSYS, pyclient, str(PORT), cert, keylog, clog, "1" if tls12 else "0", str(count), str(pace)]


def with_server(e2e, work, cert, pyclient, nodeclient):
    # 1 and 2: the Python client creates K while wscope captures
    for tls12, runs in ((False, RUNS_TLS13), (True, RUNS_TLS12)):
        v = "tls12" if tls12 else "tls13"
        results = []
        harness = None
        for i in range(runs):
            K = os.path.join(work, "%s-%d.keys" % (v, i))
            clog = os.path.join(work, "%s-%d.client.jsonl" % (v, i))
            pcap = os.path.join(work, "%s-%d.pcap" % (v, i)) if i == 0 and shutil.which("dumpcap") else None
            r = live_run(e2e, "%s-%d" % (v, i), py_argv(pyclient, cert, K, clog, tls12), K, clog, dumpcap=pcap)
            results.append(check_run(e2e, r))
            if pcap:
                harness = tshark_check(e2e, pcap, K, r) + replay_check(e2e, pcap, K, r)
        ok, why, ok2, why2 = harness or (False, "dumpcap is not installed (tools/deps.sh: tshark)", False, "")
        e2e.case("harness (%s): dumpcap captured run 1, and tshark with the client's key log finds its "
                 "messages" % v, ok, why)
        e2e.case("harness (%s): wscope -r on that capture with the finished key log passes the same checks "
                 "as a live run" % v, ok2, why2)
        good, detail = summarize(results, runs)
        e2e.case("live wss:// %s, Python websockets client creating the key log after wscope started: %d "
                 "messages each way decrypted byte for byte with capture times, no warning, in every one of %d "
                 "runs (%d/%d runs decrypted)" % ("TLS 1.2 (forced)" if tls12 else "TLS 1.3", 8, runs, good, runs),
                 good == runs, detail)

    # 3: Node's ws with --tls-keylog (runs as nobody: Node creates K 0600)
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None or not os.path.exists(os.path.join(NODE_PATH, "ws")):
        e2e.case("live wss:// Node ws client: needs nodejs and node-ws (tools/deps.sh installs them)", False,
                 "node %s, %s/ws %s" % (node, NODE_PATH, os.path.exists(os.path.join(NODE_PATH, "ws"))))
    else:
        results = []
        for i in range(RUNS_NODE):
            d = os.path.join(work, "node-%d" % i)
            os.mkdir(d, 0o700)
            os.chown(d, NOBODY, NOBODY)
            K = os.path.join(d, "node.keys")
            clog = os.path.join(d, "client.jsonl")
            argv = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups",
                    node, "--tls-keylog=" + K, nodeclient, str(PORT), clog, "8"]
            env = dict(os.environ, NODE_PATH=NODE_PATH, HOME=d)
            r = live_run(e2e, "node-%d" % i, argv, K, clog, client_env=env)
            results.append(check_run(e2e, r))
        good, detail = summarize(results, RUNS_NODE)
        e2e.case("live wss:// Node ws client (node --tls-keylog=K, K created after wscope started): every "
                 "message each way decrypted byte for byte, no warning, in every one of %d runs (%d/%d runs "
                 "decrypted)" % (RUNS_NODE, good, RUNS_NODE), good == RUNS_NODE, detail)

    # 4: the secrets reach K only 1.5 s after the handshake, while messages
    # go on flowing every 0.25 s: held records are decrypted, each message
    # with its capture time (not the time of the copy)
    for variant in ("exists", "absent"):
        if variant == "exists":
            # K exists (empty) when wscope starts, in a directory only root
            # may enter: after the drop to nobody it can be read only
            # through the descriptor opened before
            d = os.path.join(work, "late-private")
            os.mkdir(d, 0o700)
            K = os.path.join(d, "late.keys")
            fd = os.open(K, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
            what = "K empty at the start in a root-only directory (read through wscope's descriptor)"
        else:
            K = os.path.join(work, "late-absent.keys")
            what = "K created by the copy"
        private = os.path.join(work, "late-%s.client.keys" % variant)
        clog = os.path.join(work, "late-%s.client.jsonl" % variant)
        r = live_run(e2e, "late-" + variant, py_argv(pyclient, cert, private, clog, count=14, pace=0.25), K, clog,
                     late=(private, 1.5))
        errs = check_run(e2e, r, ts_within=0.5)
        sent = [x for x in r.clog if x.get("ev") == "sent"]
        before = [x for x in sent if r.copy_at is not None and x["t"] < r.copy_at - 0.5]
        if r.copy_at is None:
            errs.insert(0, "the secrets were never copied: %s" % r.copy_note)
        elif len(before) < 3:
            errs.insert(0, "harness: only %d messages were sent over 0.5 s before the copy" % len(before))
        e2e.case("live wss:// secrets copied into the key log 1.5 s after the handshake (%s): all %d messages "
                 "each way decrypted, each with its capture time (%d sent more than 0.5 s before the copy)" % (
                     what, len(sent), len(before)), not errs, "; ".join(errs[:4]) + " [%s]" % r.copy_note)

    # 5: the secrets never come: the connection is listed undecrypted with
    # a no_key warning by the time it has ended, and SIGINT ends wscope at once
    K = os.path.join(work, "never.keys")
    clog = os.path.join(work, "never.client.jsonl")
    r = live_run(e2e, "never", py_argv(pyclient, cert, "-", clog), K, clog, settle=1.0)
    errs = []
    opened = [x for x in r.clog if x.get("ev") == "open"]
    if r.client_rc != 0 or not opened:
        errs.append("client did not run through (status %s): %s" % (r.client_rc, _tail(r.client_err)))
    elif r.early_rc is not None:
        errs.append("wscope exited with status %d before the client ran: %s" % (r.early_rc, _tail(r.stderr)))
    else:
        cr = conn_of(r, opened[0]["port"])
        if cr is None:
            errs.append("no connection record for client port %d (%d records: %s)" % (
                opened[0]["port"], len(r.recs), sorted({x.get("type") for _, x in r.recs})))
        else:
            if not cr.get("tls") or cr.get("decrypted") is not False:
                errs.append("connection: tls %s decrypted %s" % (cr.get("tls"), cr.get("decrypted")))
            nokey = [(t, x) for t, x in r.recs if x.get("type") == "warning" and x.get("code") == "no_key"
                     and (x.get("conn") == cr["id"] or x.get("flow") == cr.get("flow"))]
            if not nokey:
                errs.append("no no_key warning for the connection (warnings: %s)" % [
                    x.get("code") for _, x in r.recs if x.get("type") == "warning"])
            elif nokey[0][0] > r.sigint_at:
                errs.append("no_key only after SIGINT, %.2f s after the client's connection ended" % (
                    nokey[0][0] - r.client_end))
            msgs = [x for _, x in r.recs if x.get("type") == "message" and x.get("conn") == cr["id"]]
            if msgs:
                errs.append("%d messages invented without keys" % len(msgs))
        if r.wscope_rc != 0 or r.exit_secs >= 3:  # None: killed 10 s after SIGINT
            errs.append("after SIGINT: status %s in %.2f s: %s" % (r.wscope_rc, r.exit_secs, _tail(r.stderr)))
    e2e.case("live wss:// with a key log that never appears: connection listed undecrypted with no_key by its "
             "end (1 s later), no message, status 0 within 3 s of SIGINT", not errs, "; ".join(errs[:4]))


def refusals(e2e, work, pcap):
    """Key logs that cannot be read as a file are refused at once; with -r a
    missing one is an error. Both name where the path came from."""
    env = dict(os.environ)
    env.pop("SSLKEYLOGFILE", None)
    d = os.path.join(work, "keys.dir")
    os.mkdir(d)
    fifo = os.path.join(work, "keys.fifo")
    os.mkfifo(fifo)

    def wscope(args, extra_env=None):
        t0 = time.time()
        try:
            p = subprocess.run([e2e.WSCOPE, "-r", pcap, "--json"] + args, capture_output=True, timeout=5,
                               env=dict(env, **(extra_env or {})))
            return p.returncode, p.stderr.decode("utf-8", "replace"), time.time() - t0
        except subprocess.TimeoutExpired as x:
            return "still running after 5 s (killed)", (x.stderr or b"").decode("utf-8", "replace"), time.time() - t0
        except OSError as x:
            return "not started", str(x), 0.0

    for path, what in ((d, "a directory"), (fifo, "a FIFO"), ("/dev/zero", "/dev/zero")):
        rc, se, secs = wscope(["--keylog", path])
        e2e.case("--keylog naming %s: refused at once, status 2, '--keylog', the path and 'not a regular "
                 "file' on stderr" % what,
                 rc == 2 and "--keylog" in se and path in se and "not a regular file" in se,
                 "status %s after %.1f s: %s" % (rc, secs, _tail(se, 300)))
    rc, se, secs = wscope([], {"SSLKEYLOGFILE": d})
    e2e.case("SSLKEYLOGFILE naming a directory (no --keylog): refused at once, status 2, the message says "
             "SSLKEYLOGFILE (not --keylog), the path and 'not a regular file'",
             rc == 2 and "SSLKEYLOGFILE" in se and "--keylog" not in se and d in se and "not a regular file" in se,
             "status %s after %.1f s: %s" % (rc, secs, _tail(se, 300)))
    missing = os.path.join(work, "missing.keys")
    rc, se, secs = wscope(["--keylog", missing])
    e2e.case("-r with --keylog naming a file that does not exist: status 2, '--keylog' and the path",
             rc == 2 and "--keylog" in se and missing in se, "status %s: %s" % (rc, _tail(se, 300)))
    rc, se, secs = wscope([], {"SSLKEYLOGFILE": missing})
    e2e.case("-r with SSLKEYLOGFILE naming a file that does not exist: status 2, 'SSLKEYLOGFILE' and the path",
             rc == 2 and "SSLKEYLOGFILE" in se and missing in se, "status %s: %s" % (rc, _tail(se, 300)))
