"""TLS (wss://) end-to-end tests: every sample NAME.pcap that has a key log
NAME.keys. Truth is the endpoints' logs (messages, and the TLS version and
cipher each endpoint reported)."""
import json
import os
import subprocess

# OpenSSL names (as Node reports them) -> IANA names (as wscope reports them)
OPENSSL_TO_IANA = {
    "ECDHE-RSA-AES128-GCM-SHA256": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384": "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "ECDHE-RSA-CHACHA20-POLY1305": "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "ECDHE-RSA-AES128-SHA": "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "ECDHE-RSA-AES256-SHA": "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "ECDHE-RSA-AES128-SHA256": "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    "ECDHE-RSA-AES256-SHA384": "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    "ECDHE-ECDSA-AES128-GCM-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "AES128-GCM-SHA256": "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "AES256-GCM-SHA384": "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "AES128-SHA": "TLS_RSA_WITH_AES_128_CBC_SHA",
    "AES256-SHA": "TLS_RSA_WITH_AES_256_CBC_SHA",
}


def tls_samples(e2e):
    out = []
    for pcap, log in e2e.samples():
        keys = pcap.rsplit(".", 1)[0] + ".keys"
        if os.path.exists(keys):
            out.append((pcap, log, keys))
    return out


def endpoint_tls(e2e, log):
    """conn -> (version, IANA cipher, sni) as the server side reported it."""
    res = {}
    conns = {}
    with e2e.open_log(log) as f:
        for line in f:
            r = json.loads(line)
            if r["kind"] == "conn":
                conns[r["conn"]] = r
            elif r["kind"] == "tls" and (r["side"] == "server" or r["conn"] not in res):
                c = r.get("cipher")
                res[r["conn"]] = (r.get("version"), OPENSSL_TO_IANA.get(c, c), r.get("sni"), r.get("alpn"))
    return conns, res


def run(e2e):
    samples = tls_samples(e2e)
    if not samples:
        return
    for pcap, log, keys in samples:
        name = os.path.basename(pcap)
        # with the key log: messages as the endpoints logged them
        res = e2e.compare_messages(pcap, log, extra=["--keylog", keys])
        if res is not None:
            errors, n = res
            e2e.case("%s with its key log: %d messages match the endpoint logs" % (name, n),
                     not errors, "; ".join(errors[:4]))
        # version and cipher as the endpoints reported them
        conns, tls = endpoint_tls(e2e, log)
        rc, recs, bad, se = e2e.wscope_json(pcap, ["--keylog", keys])
        byep = {(r["client"]["ip"], r["client"]["port"]): r for r in recs if r["type"] == "connection"}
        errs = []
        for k, c in conns.items():
            cr = byep.get((c["client"]["ip"], c["client"]["port"]))
            if cr is None or k not in tls:
                continue
            ver, cipher, sni, alpn = tls[k]
            if not cr.get("tls") or not cr.get("decrypted"):
                errs.append("conn %d: tls %s decrypted %s" % (k, cr.get("tls"), cr.get("decrypted")))
            if ver and cr.get("tls_version") != ver:
                errs.append("conn %d: version %s, endpoint %s" % (k, cr.get("tls_version"), ver))
            if cipher and cr.get("cipher") != cipher:
                errs.append("conn %d: cipher %s, endpoint %s" % (k, cr.get("cipher"), cipher))
        e2e.case("%s: TLS version and cipher of every connection as the endpoints reported" % name,
                 rc == 0 and not errs and len(tls) > 0, "; ".join(errs[:4]))
        # no secret from the key log appears anywhere in any output
        p = subprocess.run([e2e.WSCOPE, "-r", pcap, "--keylog", keys, "--json", "--frames", "-v"], capture_output=True)
        out = (p.stdout + p.stderr).decode("utf-8", "replace").lower()
        leaked = []
        with open(keys) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and not line.startswith("#") and parts[2].lower() in out:
                    leaked.append(parts[0])
        e2e.case("%s: no secret appears in stdout or stderr" % name, p.returncode == 0 and not leaked, str(leaked))
        # without keys: listed, not decrypted, no_key, no message
        rc, recs, bad, se = e2e.wscope_json(pcap)
        cr = [r for r in recs if r["type"] == "connection"]
        msgs = [r for r in recs if r["type"] == "message"]
        nokey = [r for r in recs if r["type"] == "warning" and r["code"] == "no_key"]
        ends = {r["conn"]: r for r in recs if r["type"] == "end" and "conn" in r}
        e2e.case("%s without a key log: %d TLS connections listed undecrypted, no_key each, no message, each "
                 "with its end record (how TCP ended, no close code)" % (name, len(cr)),
                 rc == 0 and cr and all(c["tls"] and not c["decrypted"] for c in cr) and not msgs and
                 len(nokey) == len(cr) and all(c["id"] in ends and ends[c["id"]]["reason"] in ("fin", "rst", "eof")
                                               and "close_code_c2s" not in ends[c["id"]] for c in cr),
                 se[-300:])
        if name.startswith("wss-alpn-h2"):
            # HTTP/2: one warning for the connection, counted apart
            p = subprocess.run([e2e.WSCOPE, "-r", pcap, "--keylog", keys, "--json"], capture_output=True, text=True)
            h2 = [l for l in p.stdout.splitlines() if '"h2_unsupported"' in l]
            e2e.case("%s: one h2_unsupported warning for the connection, and the summary counts it as HTTP/2, not "
                     "as a WebSocket connection" % name,
                     p.returncode == 0 and len(h2) == 1 and "0 WebSocket connections" in p.stderr and
                     "1 HTTP/2 connection" in p.stderr, p.stderr[-300:])
        # SSLKEYLOGFILE stands in for --keylog
        p = subprocess.run([e2e.WSCOPE, "-r", pcap, "--json", "-q"], capture_output=True,
                           env=dict(os.environ, SSLKEYLOGFILE=keys))
        q = subprocess.run([e2e.WSCOPE, "-r", pcap, "--json", "-q", "--keylog", keys], capture_output=True)
        e2e.case("%s: SSLKEYLOGFILE works like --keylog" % name,
                 p.returncode == 0 and p.stdout == q.stdout and b'"decrypted":true' in p.stdout, "")
        # every secret wrong by one bit: decrypt_failed, never a message
        bad_keys = os.path.join(e2e.TMP, "bad.keys")
        with open(keys) as f, open(bad_keys, "w") as g:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and not line.startswith("#"):
                    sec = parts[2]
                    parts[2] = ("1" if sec[0] == "0" else "0") + sec[1:]
                    line = " ".join(parts) + "\n"
                g.write(line)
        rc, recs, bad, se = e2e.wscope_json(pcap, ["--keylog", bad_keys])
        codes = {r["code"] for r in recs if r["type"] == "warning"}
        msgs = [r for r in recs if r["type"] == "message"]
        e2e.case("%s with wrong keys: decrypt_failed, no message invented" % name,
                 rc == 0 and "decrypt_failed" in codes and not msgs, str(codes))
        # records split and reordered across segments still decrypt
        if os.path.exists(e2e.PCAPTOOL):
            out = os.path.join(e2e.TMP, "tls-t.pcap")
            p = subprocess.run([e2e.PY, e2e.PCAPTOOL, "-q", "--seed", "4", pcap, out, "resegment", "--max", "200",
                                "+", "reorder", "--window", "5", "+", "seqshift", "--to-wrap"], capture_output=True)
            res = e2e.compare_messages(out, log, extra=["--keylog", keys])
            if res is not None:
                e2e.case("%s resegmented to 200 bytes, reordered, across 2^32: messages still match" % name,
                         not res[0], "; ".join(res[0][:4]))
    # a malformed key log: one warning per bad line, with its number
    pcap, log, keys = samples[0]
    kl = os.path.join(e2e.TMP, "mixed.keys")
    with open(keys) as f, open(kl, "w") as g:
        g.write("# comment\n\nNOT_A_LABEL 00 11\n")
        g.write(f.read())
        g.write("CLIENT_RANDOM abc def\n")
    rc, so, se = e2e.run_wscope(["-r", pcap, "--keylog", kl, "--json"])
    lines = [l for l in se.splitlines() if "keylog_malformed]" in l]
    e2e.case("malformed key log lines: a warning each, naming the line", rc == 0 and len(lines) == 2 and "line 3" in lines[0],
             "\n".join(lines))
    rc, so, se = e2e.run_wscope(["-r", pcap, "--keylog", os.path.join(e2e.TMP, "nope.keys")])
    e2e.case("missing key log file: usage error naming it", rc == 2 and "nope.keys" in se, se)
