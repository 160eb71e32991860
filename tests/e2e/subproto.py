"""What the messages mean: every decoded unit and pair against the endpoints.

Each subprotocol sample was captured from real software whose endpoints
logged every application-level unit they sent and received, as their own
library parsed or built it ("app" records: mqtt.js packets, stompjs
frames, Socket.IO's parser, graphql-ws and JSON-RPC messages). Here
wscope's units, in order per connection and direction, must match them
field by field; every request the log shows answered must be paired with
its answer; and each pair's latency must equal the time between the two
messages' last packets as tshark reads them from the capture.
"""
import base64
import json
import os
import re
import shutil
import subprocess


def app_log(e2e, log):
    """Per (conn, dir): the app records of the side that sent them (the
    receiver's when the sender could not be instrumented)."""
    sent, received, conns = {}, {}, {}
    with e2e.open_log(log) as f:
        for line in f:
            r = json.loads(line)
            if r["kind"] == "conn":
                conns[r["conn"]] = r
            if r["kind"] != "app":
                continue
            (sent if r["role"] == "sent" else received).setdefault((r["conn"], r["dir"]), []).append(r)
    for k, v in received.items():
        sent.setdefault(k, v)
    return conns, sent


def wscope_units(e2e, pcap, extra=()):
    rc, recs, bad, se = e2e.wscope_json(pcap, list(extra))
    byep, units, pairs, msgs = {}, {}, [], {}
    for r in recs:
        if r["type"] == "connection":
            byep[(r["client"]["ip"], r["client"]["port"])] = r
        elif r["type"] == "message":
            msgs[(r["conn"], r["seq"])] = r
            for u in r.get("app", {}).get("units", []):
                units.setdefault((r["conn"], r["dir"]), []).append((r, u))
        elif r["type"] == "pair" and "conn" in r:
            pairs.append(r)
    warns = [r for r in recs if r["type"] == "warning"]
    return rc, bad, byep, units, pairs, msgs, warns, recs


def frame_times(pcap):
    p = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-e", "frame.time_epoch"],
                       capture_output=True, text=True, timeout=120)
    return [None] + [float(x) for x in p.stdout.split()]


def b64(x):
    return base64.b64decode(x) if x else b""


def json_eq(a, b):
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


# ---- per protocol: the log's units, and how one compares ----

def jsonrpc_units(rec):
    m = rec["msg"]
    return m if isinstance(m, list) else [m]


def jsonrpc_check(w, u):
    f = u.get("fields", {})
    if "method" in w or "notification" in w:
        name = w.get("method", w.get("notification"))
        v1 = "jsonrpc" not in w
        notif = "notification" in w or "id" not in w or (v1 and w.get("id") is None)
        want = "notification" if notif else "request"
        if u["op"] != want or f.get("method") != name or u.get("subject") != name:
            return "op %s method %r, sent %s %r" % (u["op"], f.get("method"), want, name)
        if "params" in w and not json_eq(f.get("params"), w["params"]):
            return "params differ"
        if not notif and not json_eq(f.get("id"), w["id"]):
            return "id %r, sent %r" % (f.get("id"), w["id"])
        return None
    err = w.get("error")
    want = "error" if err is not None else "result"
    if u["op"] != want or not json_eq(f.get("id"), w.get("id")):
        return "op %s id %r, sent %s %r" % (u["op"], f.get("id"), want, w.get("id"))
    if want == "result" and not json_eq(f.get("result"), w["result"]):
        return "result differs"
    if want == "error" and (f.get("code") != err.get("code") or f.get("message") != err.get("message")):
        return "error %r %r, sent %r" % (f.get("code"), f.get("message"), err)
    return None


def jsonrpc_pairs(sent):
    """(request dir, id json) for every request answered in the log."""
    req, out = {}, []
    for (conn, d), recs in sent.items():
        for r in recs:
            for w in jsonrpc_units(r):
                if "method" in w and w.get("id") is not None:
                    req[(conn, d, json.dumps(w["id"]))] = True
    for (conn, d), recs in sent.items():
        other = "c2s" if d == "s2c" else "s2c"
        for r in recs:
            for w in jsonrpc_units(r):
                if "method" not in w and "id" in w and (conn, other, json.dumps(w["id"])) in req:
                    out.append((conn, other, json.dumps(w["id"])))
    return out


def graphql_units(rec):
    return [rec]


def graphql_check(w, u):
    m = w["msg"]
    f = u.get("fields", {})
    if u["op"] != m["type"]:
        return "op %s, sent %s" % (u["op"], m["type"])
    if "id" in m and f.get("id") != m["id"]:
        return "id %r, sent %r" % (f.get("id"), m["id"])
    op = w.get("operation")
    if m["type"] in ("subscribe", "start"):
        if f.get("query") != m["payload"]["query"]:
            return "query differs"
        if op:
            if f.get("operation_type") != op["type"] or f.get("operation_name") != op.get("name"):
                return "operation %s %s, the server parsed %s %s" % (
                    f.get("operation_type"), f.get("operation_name"), op["type"], op.get("name"))
        if "variables" in m["payload"] and not json_eq(f.get("variables"), m["payload"]["variables"]):
            return "variables differ"
    elif "payload" in m and not json_eq(f.get("payload"), m["payload"]):
        return "payload differs"
    return None


def graphql_pairs(sent):
    """Completed pairs: an operation ended by the server's complete or
    error, connection_init by its ack or error, a ping by its pong."""
    asks, out = {}, []
    for (conn, d), recs in sent.items():
        for r in recs:
            m = r["msg"]
            if m["type"] in ("subscribe", "start"):
                asks[(conn, d, "op " + m["id"])] = True
            elif m["type"] == "connection_init":
                asks[(conn, d, "init")] = True
            elif m["type"] == "ping":
                asks.setdefault((conn, d, "ping"), 0)
                asks[(conn, d, "ping")] += 1
    for (conn, d), recs in sent.items():
        other = "c2s" if d == "s2c" else "s2c"
        for r in recs:
            m = r["msg"]
            key = None
            if d == "s2c" and m["type"] in ("complete", "error") and "id" in m:
                key = (conn, other, "op " + m["id"])
            elif m["type"] in ("connection_ack", "connection_error"):
                key = (conn, other, "init")
            elif m["type"] == "pong":
                key = (conn, other, "ping")
            if key is None or not asks.get(key):
                continue
            if key[2] == "ping":
                asks[key] -= 1
            else:
                asks[key] = False
            out.append(key)
    return out


MQTT_OPS = {"connect": "CONNECT", "connack": "CONNACK", "publish": "PUBLISH", "puback": "PUBACK",
            "pubrec": "PUBREC", "pubrel": "PUBREL", "pubcomp": "PUBCOMP", "subscribe": "SUBSCRIBE",
            "suback": "SUBACK", "unsubscribe": "UNSUBSCRIBE", "unsuback": "UNSUBACK", "pingreq": "PINGREQ",
            "pingresp": "PINGRESP", "disconnect": "DISCONNECT", "auth": "AUTH"}


def mqtt_units(rec):
    return [rec]


def mqtt_b64(x):
    if x is None:
        return b""
    if isinstance(x, dict):
        return b64(x.get("b64"))
    return x.encode()


def mqtt_check(w, u):
    p = w["packet"]
    f = u.get("fields", {})
    if u["op"] != MQTT_OPS[p["cmd"]]:
        return "op %s, sent %s" % (u["op"], p["cmd"])
    cmd = p["cmd"]
    if cmd == "publish":
        qos = p.get("qos", 0)
        if f.get("topic") != p.get("topic") and not (f.get("topic") == "" and p.get("properties", {}).get("topicAlias")):
            return "topic %r, sent %r" % (f.get("topic"), p.get("topic"))
        if f.get("qos") != qos or f.get("retain") != bool(p.get("retain")) or f.get("dup") != bool(p.get("dup")):
            return "flags qos %s retain %s dup %s, sent %s %s %s" % (f.get("qos"), f.get("retain"), f.get("dup"),
                                                                   qos, p.get("retain"), p.get("dup"))
        if qos > 0 and f.get("packet_id") != p.get("messageId"):
            return "id %s, sent %s" % (f.get("packet_id"), p.get("messageId"))
        if b64(f.get("payload")) != mqtt_b64(p.get("payload")):
            return "payload differs"
    elif cmd in ("puback", "pubrec", "pubrel", "pubcomp", "subscribe", "suback", "unsubscribe", "unsuback"):
        if f.get("packet_id") != p.get("messageId"):
            return "id %s, sent %s" % (f.get("packet_id"), p.get("messageId"))
        if cmd == "suback" and list(b64(f.get("return_codes"))) != p.get("granted"):
            return "granted %s, sent %s" % (list(b64(f.get("return_codes"))), p.get("granted"))
        if cmd == "subscribe":
            subs = [s["topic"] for s in p.get("subscriptions", [])]
            got = [kv[0] for kv in f.get("subscriptions", [])]
            if got != subs:
                return "filters %s, sent %s" % (got, subs)
        if cmd in ("puback", "pubrec", "pubcomp") and p.get("reasonCode") and f.get("reason_code") != p["reasonCode"]:
            return "reason %s, sent %s" % (f.get("reason_code"), p["reasonCode"])
    elif cmd == "connect":
        if f.get("client_id") != p.get("clientId") or f.get("protocol_level") != p.get("protocolVersion"):
            return "client %r level %s, sent %r %s" % (f.get("client_id"), f.get("protocol_level"),
                                                      p.get("clientId"), p.get("protocolVersion"))
        if f.get("keepalive") != p.get("keepalive") or f.get("clean_start") != bool(p.get("clean")):
            return "keepalive/clean differ"
        if "will" in p and (f.get("will_topic") != p["will"]["topic"] or
                            b64(f.get("will_payload")) != mqtt_b64(p["will"].get("payload"))):
            return "will differs"
        if "password" in p and b64(f.get("password")) != mqtt_b64(p["password"]):
            return "password differs"
    elif cmd == "connack":
        rc = p.get("reasonCode", p.get("returnCode"))
        if f.get("reason_code", f.get("return_code")) != rc or f.get("session_present") != bool(p.get("sessionPresent")):
            return "connack %s %s, sent %s %s" % (f.get("reason_code", f.get("return_code")), f.get("session_present"),
                                                rc, p.get("sessionPresent"))
    return None


def mqtt_pairs(sent):
    out = []
    for (conn, d), recs in sent.items():
        other = "c2s" if d == "s2c" else "s2c"
        for r in recs:
            p = r["packet"]
            if p["cmd"] == "publish" and p.get("qos", 0) > 0:
                out.append((conn, d, "%s %d" % ("puback" if p["qos"] == 1 else "pubrec", p["messageId"])))
            elif p["cmd"] in ("subscribe", "unsubscribe", "pubrel"):
                out.append((conn, d, "%s %d" % ({"subscribe": "suback", "unsubscribe": "unsuback",
                                                 "pubrel": "pubcomp"}[p["cmd"]], p["messageId"])))
            elif p["cmd"] in ("connect", "pingreq"):
                out.append((conn, d, p["cmd"]))
    # only those whose answer is in the log
    answers = set()
    for (conn, d), recs in sent.items():
        for r in recs:
            p = r["packet"]
            if p["cmd"] in ("puback", "pubrec", "pubcomp", "suback", "unsuback"):
                answers.add((conn, "c2s" if d == "s2c" else "s2c", "%s %d" % (p["cmd"], p["messageId"])))
            elif p["cmd"] == "connack":
                answers.add((conn, "c2s" if d == "s2c" else "s2c", "connect"))
            elif p["cmd"] == "pingresp":
                answers.add((conn, "c2s" if d == "s2c" else "s2c", "pingreq"))
    return [x for x in out if x in answers]


SIO_EIO = {"open": "open", "close": "close", "ping": "ping", "pong": "pong", "upgrade": "upgrade", "noop": "noop"}


def sio_units(rec):
    return [rec] if rec.get("transport") == "websocket" else []


def sio_check(w, u):
    e = w["eio"]
    f = u.get("fields", {})
    s = w.get("sio")
    if e["type"] != "message":
        if u["op"] != SIO_EIO[e["type"]]:
            return "op %s, sent EIO %s" % (u["op"], e["type"])
        if e.get("data") and f.get("data") != e["data"] and u["op"] != "open":
            return "data %r, sent %r" % (f.get("data"), e.get("data"))
        return None
    if s is None:
        if u["op"] not in ("attachment", "binary") or b64(f.get("data")) != b64(e.get("data_b64")):
            return "op %s, sent a binary message" % u["op"]
        return None
    if u["op"] != s["type"] or f.get("namespace") != s["nsp"]:
        return "op %s nsp %r, sent %s %r" % (u["op"], f.get("namespace"), s["type"], s["nsp"])
    if s.get("id") is not None and f.get("ack_id") != s["id"]:
        return "ack id %s, sent %s" % (f.get("ack_id"), s["id"])
    if "data" in s and not json_eq(f.get("data"), s["data"]):
        return "data %s, sent %s" % (f.get("data"), s["data"])
    if s["type"] in ("EVENT", "BINARY_EVENT") and f.get("event") != s["data"][0]:
        return "event %r, sent %r" % (f.get("event"), s["data"][0])
    if s["type"].startswith("BINARY") and f.get("attachments") != s["attachments"]:
        return "attachments %s, sent %s" % (f.get("attachments"), s["attachments"])
    return None


def nsp_key(nsp):
    """A namespace as CONNECT answers name it (v2 asks with its query)."""
    return nsp.split("?", 1)[0]


def sio_pairs(sent):
    asks, out = {}, []
    for (conn, d), recs in sent.items():
        for r in sio_units_all(recs):
            s = r.get("sio")
            if s and s["type"] in ("EVENT", "BINARY_EVENT") and s.get("id") is not None:
                asks[(conn, d, s["nsp"], s["id"])] = True
    pings, conn_asks = {}, {}
    for (conn, d), recs in sent.items():
        for r in sio_units_all(recs):
            e, s = r["eio"], r.get("sio")
            if e["type"] == "ping":
                pings.setdefault((conn, d, e.get("data", "")), []).append(r)
            if s and s["type"] == "CONNECT" and d == "c2s":
                conn_asks[(conn, nsp_key(s["nsp"]))] = True
    for (conn, d), recs in sent.items():
        other = "c2s" if d == "s2c" else "s2c"
        for r in sio_units_all(recs):
            e, s = r["eio"], r.get("sio")
            if s and s["type"] in ("ACK", "BINARY_ACK") and (conn, other, s["nsp"], s["id"]) in asks:
                out.append((conn, other, "ack %s %d" % (s["nsp"], s["id"])))
            # a pong answers the other side's ping with the same data
            if e["type"] == "pong" and pings.get((conn, other, e.get("data", ""))):
                pings[(conn, other, e.get("data", ""))].pop(0)
                out.append((conn, other, "ping"))
            # the server's CONNECT or CONNECT_ERROR (v2: ERROR) answers a
            # namespace's CONNECT
            if s and s["type"] in ("CONNECT", "CONNECT_ERROR", "ERROR") and d == "s2c" and \
                    conn_asks.pop((conn, nsp_key(s["nsp"])), None):
                out.append((conn, other, "connect " + s["nsp"]))
    return out


def sio_units_all(recs):
    return [r for r in recs if r.get("transport") == "websocket"]


def sio_cross_pairs(sent):
    """Requests asked on a session's long-polling whose answer the logs show
    sent on its WebSocket: an EVENT with an ack id, answered by the ACK of
    that id and namespace from the other side."""
    asks, out = {}, []
    for (conn, d), recs in sent.items():
        for r in recs:
            s = r.get("sio")
            if r.get("transport") == "polling" and s and s["type"] in ("EVENT", "BINARY_EVENT") and \
                    s.get("id") is not None:
                asks[(r.get("sid"), d, s["nsp"], s["id"])] = True
    for (conn, d), recs in sent.items():
        other = "c2s" if d == "s2c" else "s2c"
        for r in recs:
            s = r.get("sio")
            if r.get("transport") == "websocket" and s and s["type"] in ("ACK", "BINARY_ACK") and \
                    asks.pop((r.get("sid"), other, s["nsp"], s["id"]), None):
                out.append((conn, other, "ack %s %d" % (s["nsp"], s["id"])))
    return out


def stomp_units(rec):
    return [rec]


def stomp_check(w, u):
    f = u.get("fields", {})
    if w["command"] == "heartbeat":
        return None if u["op"] == "heartbeat" else "op %s, sent a heart-beat" % u["op"]
    if u["op"] != w["command"]:
        return "op %s, sent %s" % (u["op"], w["command"])
    want = [list(h) for h in w.get("headers", [])]
    if f.get("headers") != want:
        return "headers %s, sent %s" % (f.get("headers"), want)
    body = f.get("body", "")
    got = body.encode() if isinstance(body, str) else b""
    if isinstance(body, str) and "\\u" not in json.dumps(body):
        pass
    if got != b64(w.get("body_b64")) and b64(f.get("body")) != b64(w.get("body_b64")):
        return "body differs"
    return None


def stomp_pairs(sent):
    out, answers = [], set()
    for (conn, d), recs in sent.items():
        for r in recs:
            h = dict((k, v) for k, v in reversed(r.get("headers", [])))
            if r["command"] == "RECEIPT":
                answers.add((conn, "c2s", "receipt " + h.get("receipt-id", "")))
            if r["command"] == "CONNECTED":
                answers.add((conn, "c2s", "connect"))
            if r["command"] in ("ACK", "NACK") and "id" in h:
                answers.add((conn, "s2c", "ack " + h["id"]))
    for (conn, d), recs in sent.items():
        for r in recs:
            h = dict((k, v) for k, v in reversed(r.get("headers", [])))
            if d == "c2s" and "receipt" in h:
                out.append((conn, d, "receipt " + h["receipt"]))
            if r["command"] in ("CONNECT", "STOMP"):
                out.append((conn, d, "connect"))
            if r["command"] == "MESSAGE" and "ack" in h:
                out.append((conn, d, "ack " + h["ack"]))
    return [x for x in out if x in answers]


PROTOS = {
    "jsonrpc": (jsonrpc_units, jsonrpc_check, jsonrpc_pairs),
    "graphql-ws": (graphql_units, graphql_check, graphql_pairs),
    "mqtt-mosquitto": (mqtt_units, mqtt_check, mqtt_pairs),
    "sio": (sio_units, sio_check, sio_pairs),
    "sio-v2": (sio_units, sio_check, sio_pairs),
    "stomp-rabbitmq": (stomp_units, stomp_check, stomp_pairs),
}


def check_sample(e2e, name):
    pcap = os.path.join(e2e.TOP, "samples", name + ".pcap")
    log = os.path.join(e2e.TOP, "samples", name + ".endpoints.jsonl.gz")
    if not os.path.exists(pcap) or not os.path.exists(log):
        e2e.case("subprotocol sample %s is there" % name, False, "missing")
        return
    units_of, check, pairs_of = PROTOS[name]
    conns, sent = app_log(e2e, log)
    rc, bad, byep, units, pairs, msgs, warns, recs = wscope_units(e2e, pcap)
    e2e.case("%s: exit 0, every line JSON, no warning" % name, rc == 0 and bad == 0 and not warns,
             "rc %d, %d bad lines, warnings %s" % (rc, bad, [(w["code"], w["msg"]) for w in warns[:3]]))
    errors, n = [], 0
    for (k, d), recs_ in sorted(sent.items()):
        c = conns[k]
        cr = byep.get((c["client"]["ip"], c["client"]["port"]))
        want = [x for r in recs_ for x in units_of(r)]
        if not want:
            continue
        if cr is None:
            errors.append("conn %d: no connection record" % k)
            continue
        got = units.get((cr["id"], d), [])
        if len(got) != len(want):
            errors.append("conn %d %s: %d units, the endpoint logged %d" % (k, d, len(got), len(want)))
        for i, (w, (m, u)) in enumerate(zip(want, got)):
            why = check(w, u)
            n += 1
            if why:
                errors.append("conn %d %s unit %d (message seq %d): %s" % (k, d, i + 1, m["seq"], why))
                break
    e2e.case("%s: %d units decoded as the endpoints' own libraries logged them (op and every field)" % (name, n),
             not errors and n > 0, "; ".join(errors[:4]))
    # pairs: every request the log shows answered is paired, and the
    # latency is the capture's time between the two messages
    times = frame_times(pcap) if shutil.which("tshark") else None
    bad_lat, bad_pair = [], []
    # a long-polling body, by (session, seq): its record and the packet
    # that carried it (a POST's request, a GET's answer)
    bodies = {}
    for r in recs:
        if r["type"] == "poll":
            for side, pk in (("request", r["request_packet"]), ("response", r["packet"])):
                if r[side].get("seq"):
                    bodies[(r["session"], r[side]["seq"])] = {"dir": "c2s" if side == "request" else "s2c",
                                                               "packet": pk}
    for p in pairs:
        if p["request"].get("session"):
            rq = bodies.get((p["request"]["session"], p["request"]["seq"]))
        else:
            rq = msgs.get((p["conn"], p["request"]["seq"]))
        rp = msgs.get((p["conn"], p["reply"]["seq"]))
        if rq is None or rp is None or rq["dir"] == rp["dir"]:
            bad_pair.append(p)
            continue
        if times is not None:
            t = times[rp["packet"]] - times[rq["packet"]]
            if abs(t - p["latency"]) > 2e-6:
                bad_lat.append((p["latency"], t))
            # a stream of answers: first_latency is the first one's time
            firsts = [m for (c, _), m in msgs.items() if c == p["conn"] and m["seq"] < p["reply"]["seq"] and
                      any(u.get("reply_to", {}).get("seq") == p["request"]["seq"] and
                          u.get("reply_to", {}).get("dir") == p["request"]["dir"]
                          for u in m.get("app", {}).get("units", []))]
            if firsts:
                f = min(firsts, key=lambda m: m["seq"])
                t1 = times[f["packet"]] - times[rq["packet"]]
                if "first_latency" not in p or abs(t1 - p["first_latency"]) > 2e-6:
                    bad_lat.append(("first", p.get("first_latency"), t1))
            elif "first_latency" in p:
                bad_lat.append(("first_latency without an earlier answer", p["first_latency"]))
    if pairs_of is not None:
        expect = pairs_of(sent) + (sio_cross_pairs(sent) if pairs_of is sio_pairs else [])
        got_n = len(pairs)
        e2e.case("%s: %d request/answer pairs, as many as the endpoint logs show answered (%d)" % (
            name, got_n, len(expect)), got_n == len(expect) and not bad_pair,
            "%d pairs, expected %d; %d bad" % (got_n, len(expect), len(bad_pair)))
    e2e.case("%s: every pair's latency is the time between its two messages' packets as tshark reads them, "
             "and first_latency (%d) the time to the first of a stream of answers (%d pairs, within 2 us)" % (
                 name, sum(1 for p in pairs if "first_latency" in p), len(pairs)), pairs and not bad_lat,
             "%d differ, first %s" % (len(bad_lat), bad_lat[:1]))


def nearest_rank(vals, q):
    v = sorted(vals)
    import math
    r = max(1, min(len(v), math.ceil(q * len(v) - 1e-9)))
    return v[r - 1]


def test_stats(e2e, name):
    """--stats by operation: where every answer is the only one (MQTT,
    JSON-RPC), the answered counts and latency percentiles are those of
    the pair records of the same run."""
    pcap = os.path.join(e2e.TOP, "samples", name + ".pcap")
    rc, recs, bad, se = e2e.wscope_json(pcap, ["--stats"])
    by = {}
    for p in recs:
        if p["type"] == "pair":
            label = p["request"]["op"] + (" " + p["request"]["subject"] if p["request"].get("subject") else "")
            if p["request"]["dir"] == "s2c":
                label += " (server)"  # the statistics say who asked
            by.setdefault((p["proto"], label), []).append(p["latency"])
    allrec = [r for r in recs if r["type"] == "stats" and r["conn"] is None]
    ops = allrec[0].get("operations", []) if allrec else []
    errors = []
    got = {(o["proto"], o["op"]): o for o in ops}
    for k, lats in by.items():
        o = got.get(k)
        if o is None:
            errors.append("%s: not in the stats" % (k,))
            continue
        if o["answered"] != len(lats):
            errors.append("%s: %d answered, %d pairs" % (k, o["answered"], len(lats)))
            continue
        for q, key in ((0.5, "p50"), (0.9, "p90"), (0.99, "p99"), (1.0, "max")):
            if abs(o["latency"][key] - nearest_rank(lats, q)) > 1.5e-6:
                errors.append("%s %s %s, pairs say %s" % (k, key, o["latency"][key], nearest_rank(lats, q)))
    unans = allrec[0].get("unanswered") if allrec else None
    ends = sum(r.get("unanswered", 0) for r in recs if r["type"] == "end")
    e2e.case("%s --stats: %d operations, answered counts and p50/p90/p99/max as the pair records of the same "
             "run; unanswered %s as the end records say" % (name, len(by), unans),
             rc == 0 and not errors and by and unans == ends, "; ".join(errors[:4]) or se[-200:])


def test_polling(e2e, name):
    """Socket.IO's long-polling part: every exchange the endpoints logged,
    and every Engine.IO packet in the bodies, as their libraries built or
    parsed them; pairs within the session."""
    pcap = os.path.join(e2e.TOP, "samples", name + ".pcap")
    log = os.path.join(e2e.TOP, "samples", name + ".endpoints.jsonl.gz")
    conns, ex, units = {}, [], {}
    with e2e.open_log(log) as f:
        for line in f:
            r = json.loads(line)
            if r["kind"] == "conn":
                conns[r["conn"]] = r
            elif r["kind"] == "http_exchange" and r["side"] == "server":
                ex.append(r)
            elif r["kind"] == "app" and r.get("transport") == "polling" and r["role"] == "sent":
                units.setdefault((r["conn"], r["dir"]), []).append(r)
    rc, recs, bad, se = e2e.wscope_json(pcap)
    polls = [r for r in recs if r["type"] == "poll"]
    byport = {c["client"]["port"]: k for k, c in conns.items()}
    ex.sort(key=lambda r: r["t_req"])
    errors = []
    if len(polls) != len(ex):
        errors.append("%d poll records, the server logged %d exchanges" % (len(polls), len(ex)))
    # the records come as each answer ends, the log by request: matched by
    # target (t= makes each unique)
    bytarget = {(w["method"], w["target"]): w for w in ex}
    for p in polls:
        w = bytarget.get((p["method"], p["target"]), {"method": "-", "target": "-", "status": 0})
        if (p["method"], p["target"], p["status"]) != (w["method"], w["target"], w["status"]):
            errors.append("poll %s %s %s, logged %s %s %s" % (p["method"], p["target"], p["status"],
                                                            w["method"], w["target"], w["status"]))
            break
        if b64(w["req_body_b64"]) != p["request"].get("body", "").encode() or \
                b64(w["resp_body_b64"]) != p["response"].get("body", "").encode():
            errors.append("poll %s %s: bodies differ" % (p["method"], p["target"]))
            break
    e2e.case("%s long-polling: %d exchanges, method, target, status and both bodies as the server logged them"
             % (name, len(polls)), rc == 0 and not errors and polls, "; ".join(errors[:3]))
    got = {}
    for p in polls:
        k = byport.get(p["client"]["port"])
        for side, d in (("request", "c2s"), ("response", "s2c")):
            for u in p[side].get("app", {}).get("units", []):
                got.setdefault((k, d), []).append(u)
    errors, n = [], 0
    for key, want in sorted(units.items()):
        have = got.get(key, [])
        if len(have) != len(want):
            errors.append("conn %s %s: %d packets, logged %d" % (key[0], key[1], len(have), len(want)))
        for i, (w, u) in enumerate(zip(want, have)):
            n += 1
            why = sio_check(w, u)
            if why:
                errors.append("conn %s %s packet %d: %s" % (key[0], key[1], i + 1, why))
                break
    e2e.case("%s long-polling: %d Engine.IO packets in the bodies, as the libraries logged them" % (name, n),
             not errors and n > 0, "; ".join(errors[:3]))
    # pairs in the session: an event's ack, a namespace's CONNECT
    sp = [r for r in recs if r["type"] == "pair" and "sid" in r]
    want = 0
    asks = {}
    for key, recs_ in units.items():
        for r in recs_:
            s = r.get("sio")
            if s and key[1] == "c2s" and s["type"] == "CONNECT":
                asks[("CONNECT", nsp_key(s["nsp"]), None)] = True
            if s and key[1] == "c2s" and s["type"] in ("EVENT", "BINARY_EVENT") and s.get("id") is not None:
                asks[("EVENT", s["nsp"], s["id"])] = True
    for key, recs_ in units.items():
        for r in recs_:
            s = r.get("sio")
            if s and key[1] == "s2c":
                if s["type"] in ("CONNECT", "CONNECT_ERROR", "ERROR") and \
                        asks.pop(("CONNECT", nsp_key(s["nsp"]), None), None):
                    want += 1
                if s["type"] in ("ACK", "BINARY_ACK") and asks.pop(("EVENT", s["nsp"], s["id"]), None):
                    want += 1
    e2e.case("%s long-polling: %d pairs in the session (CONNECT answered, acks), as the logs show" % (name, len(sp)),
             len(sp) == want and want > 0, "%d pairs, expected %d" % (len(sp), want))
    # every pair record of the session names it by id and sid
    sids = {p["sid"]: p.get("session") for p in polls if p.get("sid")}
    e2e.case("%s long-polling: the poll and pair records name the session by id and sid, and the WebSocket "
             "connection that upgrades it names the same id" % name,
             all(p.get("session") == sids.get(p["sid"]) for p in sp) and
             all(r.get("session") == sids[r["sid"]] for r in recs if r["type"] == "connection" and r.get("sid") in sids)
             and any(r["type"] == "connection" and r.get("session") for r in recs), str(sids))


def test_filtered(e2e, name):
    """--filter writes from the model: its message and pair records must be
    the unfiltered ones, decoded units included."""
    pcap = os.path.join(e2e.TOP, "samples", name + ".pcap")
    rc, full, bad, se = e2e.wscope_json(pcap)
    rc2, part, bad2, se2 = e2e.wscope_json(pcap, ["--filter", "conn:1"])
    want = [r for r in full if r["type"] in ("message", "pair", "end") and r.get("conn") == 1]
    got = [r for r in part if r["type"] in ("message", "pair", "end")]
    n_app = sum(1 for r in got if "app" in r)
    diff = [(a, b) for a, b in zip(got, want) if a != b]
    e2e.case("%s --filter conn:1 --json: its %d message, pair and end records (%d decoded) equal the unfiltered ones"
             % (name, len(got), n_app), rc == 0 and rc2 == 0 and len(got) == len(want) and not diff and n_app > 0,
             "%d vs %d records; first difference %s" % (len(got), len(want), diff[:1]))


def test_filtered_session(e2e, name):
    """--filter conn:N with N a Socket.IO session: the session's poll and
    pair records, then its WebSocket connection's records, as unfiltered."""
    pcap = os.path.join(e2e.TOP, "samples", name + ".pcap")
    rc, full, bad, se = e2e.wscope_json(pcap)
    sess = next((r["session"] for r in full if r["type"] == "poll" and r.get("session")), None)
    ws = {r["id"] for r in full if r["type"] == "connection" and r.get("session") == sess}
    rc2, part, bad2, se2 = e2e.wscope_json(pcap, ["--filter", "conn:%s" % sess])
    kinds = ("message", "pair", "poll", "connection", "end")
    want = [r for r in full if r["type"] in kinds and (r.get("session") == sess or r.get("conn") in ws or
                                                      (r["type"] == "connection" and r["id"] in ws))]
    got = [r for r in part if r["type"] in kinds]
    diff = [(a, b) for a, b in zip(got, want) if a != b]
    npoll = sum(1 for r in got if r["type"] == "poll")
    e2e.case("%s --filter conn:%s (a Socket.IO session) --json: its %d poll records and its WebSocket "
             "connection's %d records equal the unfiltered ones" % (name, sess, npoll, len(got) - npoll),
             rc == 0 and rc2 == 0 and len(got) == len(want) and not diff and npoll > 0 and ws,
             "%d vs %d records; first difference %s" % (len(got), len(want), diff[:1]))


def test_session_end(e2e, name, crosses):
    """A Socket.IO session that never upgraded (its WebSocket connection
    left out of the capture by a BPF filter) has an end record: its
    exchanges as the server logged them for its sid, its bodies each way,
    and as unanswered the requests it asked whose answers came on the
    WebSocket connection that was left out (crosses: the sample has such
    requests). --filter gives the same."""
    pcap = os.path.join(e2e.TOP, "samples", name + ".pcap")
    log = os.path.join(e2e.TOP, "samples", name + ".endpoints.jsonl.gz")
    rc, full, bad, se = e2e.wscope_json(pcap)
    ws = next(r for r in full if r["type"] == "connection" and r.get("session"))
    sess, sid = ws["session"], ws["sid"]
    crossed = sum(1 for r in full if r["type"] == "message" and r["conn"] == ws["id"]
                  for u in r.get("app", {}).get("units", []) if (u.get("reply_to") or {}).get("session") == sess)
    left = [r.get("unanswered") for r in full if r["type"] == "end" and r.get("conn") == ws["id"]]
    logged = 0
    with e2e.open_log(log) as f:
        for line in f:
            r = json.loads(line)
            if r["kind"] == "http_exchange" and r["side"] == "server" and "transport=polling" in r["target"] and \
                    ("sid=" + sid in r["target"] or sid.encode() in b64(r["resp_body_b64"])):
                logged += 1
    cut = ["tcp and not port %d" % ws["client"]["port"]]
    rc2, part, bad2, se2 = e2e.wscope_json(pcap, cut)
    polls = [r for r in part if r["type"] == "poll" and r.get("session") == sess]
    ends = [r for r in part if r["type"] == "end" and r.get("session") == sess]
    bodies = [[p[k] for p in polls if p[k].get("seq")] for k in ("request", "response")]
    want = {"type": "end", "session": sess, "reason": "eof", "exchanges": logged,
            "messages_c2s": len(bodies[0]), "messages_s2c": len(bodies[1]),
            "bytes_c2s": sum(b["length"] for b in bodies[0]), "bytes_s2c": sum(b["length"] for b in bodies[1]),
            "app": "socketio", "unanswered": crossed}
    got = {k: v for k, v in ends[0].items() if k != "ts"} if len(ends) == 1 else None
    e2e.case("%s without its WebSocket connection: the session's end record (exchanges %d as the server logged "
             "for its sid, bodies %d/%d, unanswered %d: its requests answered on the connection left out)"
             % (name, logged, len(bodies[0]), len(bodies[1]), crossed),
             rc == 0 and rc2 == 0 and got == want and left == [0] and (crossed > 0) == crosses and not
             any(r["type"] == "end" and "conn" in r and r["conn"] == sess for r in part),
             "%s vs %s (the connection's own unanswered %s)" % (got, want, left))
    rc3, filt, bad3, se3 = e2e.wscope_json(pcap, ["--filter", "conn:%d" % sess] + cut)
    fe = [r for r in filt if r["type"] == "end"]
    e2e.case("%s without its WebSocket connection, --filter conn:%d: the same end record" % (name, sess),
             rc3 == 0 and fe == ends, "%s vs %s" % (fe, ends))
    # the statistics count its end apart; the HAR's last entry of it and
    # the HTML report's connection say how it ended and what is unanswered
    d = os.path.join(e2e.TMP, "sessend")
    os.makedirs(d, exist_ok=True)
    har, page = os.path.join(d, name + ".har"), os.path.join(d, name + ".html")
    for x in (har, page):
        if os.path.exists(x):
            os.unlink(x)
    rc5, st, _, _ = e2e.wscope_json(pcap, ["--stats", "--har=" + har, "--html=" + page] + cut)
    allst = [r for r in st if r["type"] == "stats" and r["conn"] is None]
    with open(har, encoding="utf-8") as f:
        xhr = [e for e in json.load(f)["log"]["entries"] if e["_resourceType"] == "xhr" and
               e["_wscope"].get("session") == sess]
    with open(page, "rb") as f:
        raw = f.read()
    a = raw.find(b'id="wscope-data">')
    b = raw.find(b"</script>", a)
    data = json.loads(base64.b64decode(b"".join(raw[a + len(b'id="wscope-data">'):b].split())))
    conns = data.get("conns") or data.get("connections") or []
    hc = [c for c in conns if c.get("id") == sess]
    last = xhr[-1]["_wscope"] if xhr else {}
    e2e.case("%s without its WebSocket connection: --stats counts the session's end apart (session_ends eof 1), "
             "the HAR's last entry of it says session_end eof and unanswered %d, the HTML report's session "
             "too" % (name, crossed),
             rc5 == 0 and allst and allst[0].get("session_ends") == {"eof": 1} and
             last.get("session_end") == "eof" and last.get("unanswered") == crossed and
             last.get("session_exchanges") == logged and
             not any("session_end" in e["_wscope"] for e in xhr[:-1]) and
             len(hc) == 1 and hc[0].get("unanswered") == crossed,
             "%s; %s; %s" % (allst[0].get("session_ends") if allst else None, last, hc[:1]))
    rc4, so, se4 = e2e.run_wscope(["-r", pcap, "--text"] + cut)
    line = [x for x in so.split("\n") if (" #%d " % sess) in x and " end " in x]
    e2e.case("%s without its WebSocket connection: the transcript's end line of the session counts its "
             "bodies and its unanswered requests" % name,
             rc4 == 0 and len(line) == 1 and ("%d request%s unanswered" % (crossed, "" if crossed == 1 else "s"))
             in line[0] and "never upgraded" in line[0] and
             ("; %d bod" % len(bodies[0])) in line[0], str(line))


def v3_framed(body):
    """An Engine.IO v3 payload: "<len>:<packet>" repeated, len in UTF-16
    units (as JavaScript counts)."""
    i = 0
    while i < len(body):
        j = body.find(":", i)
        if j <= i or not body[i:j].isdigit():
            return False
        n, k = int(body[i:j]), j + 1
        units = 0
        while units < n and k < len(body):
            units += 2 if ord(body[k]) > 0xFFFF else 1
            k += 1
        if units != n:
            return False
        i = k
    return True


def test_poll_redact(e2e, name):
    """--redact on long-polling: a body with a secret JSON value (the auth
    token of a namespace's CONNECT) says how many it replaced, the target's
    too; no replaced value is left anywhere in the output; lengths stay;
    an Engine.IO v3 payload still reads as v3 (each packet's length said
    again for what is left)."""
    pcap = os.path.join(e2e.TOP, "samples", name + ".pcap")
    rc, plain, _, _ = e2e.wscope_json(pcap)
    rc2, red, _, _ = e2e.wscope_json(pcap, ["--redact"])
    pp = [r for r in plain if r["type"] == "poll"]
    rp = [r for r in red if r["type"] == "poll"]
    errs, n, gone = [], 0, set()
    for a, b in zip(pp, rp):
        for side in ("request", "response"):
            x, y = a[side], b[side]
            if x.get("body") != y.get("body"):
                n += 1
                if y.get("redacted") != y["body"].count("[redacted]") or x["length"] != y["length"]:
                    errs.append("%s %s: redacted %s, %d replaced" % (b["method"], side, y.get("redacted"),
                                                                    y["body"].count("[redacted]")))
                for m in re.finditer(r'"([A-Za-z_]+)":"([^"]+)"', x["body"]):
                    if '"%s":"[redacted]"' % m.group(1) in y["body"]:
                        gone.add(m.group(2))
                for m in re.finditer(r'[?&]([A-Za-z_]+)=([^&,"\s]+)', x["body"]):
                    if "%s=[redacted]" % m.group(1) in y["body"]:
                        gone.add(m.group(2))
            elif "redacted" in y:
                errs.append("%s %s: redacted without a change" % (b["method"], side))
            if b["eio"] == 3 and x.get("body") != y.get("body") and not v3_framed(y["body"]):
                errs.append("%s %s: the redacted v3 payload's lengths are wrong: %r" % (b["method"], side,
                                                                                     y["body"][:60]))
        if (a["target"] != b["target"]) != ("redacted" in b):
            errs.append("target %s: redacted %s" % (b["target"][-30:], b.get("redacted")))
    out = json.dumps(red)
    left = [g for g in gone if g in out]
    e2e.case("%s --redact: %d long-polling bodies with secrets say how many values were replaced, lengths kept, "
             "none of the %d replaced values anywhere in the output, v3 payloads still framed right"
             % (name, n, len(gone)),
             rc == 0 and rc2 == 0 and len(pp) == len(rp) and n > 0 and gone and not errs and not left,
             "; ".join(errs[:3]) + " left: %s" % left[:3])


def test_options(e2e):
    pcap = os.path.join(e2e.TOP, "samples", "jsonrpc.pcap")
    rc, recs, bad, se = e2e.wscope_json(pcap, ["--decode-sub", "none"])
    e2e.case("--decode-sub none: no message has an app object",
             rc == 0 and not any("app" in r for r in recs if r["type"] == "message"), se[-200:])
    rc, recs, bad, se = e2e.wscope_json(pcap, ["--subprotocol", "9995=mqtt"])
    apps = set(r["app"]["proto"] for r in recs if r["type"] == "message" and "app" in r)
    e2e.case("--subprotocol 9995=mqtt: that port's connection is decoded as MQTT, the others as found",
             rc == 0 and apps == {"mqtt", "jsonrpc"}, str(apps))
    rc, so, se = e2e.run_wscope(["-r", pcap, "--decode-sub", "nosuch"])
    e2e.case("--decode-sub with an unknown name: status 2 and the list of decoders",
             rc == 2 and "stomp" in se and "jsonrpc" in se, se[-200:])
    rc, so, se = e2e.run_wscope(["-r", pcap, "--subprotocol", "x=mqtt"])
    e2e.case("--subprotocol without a port: status 2", rc == 2, se[-200:])


def run(e2e):
    for name in ("jsonrpc", "graphql-ws", "mqtt-mosquitto", "sio", "sio-v2", "stomp-rabbitmq"):
        check_sample(e2e, name)
    for name in ("mqtt-mosquitto", "jsonrpc"):
        test_stats(e2e, name)
    for name in ("sio", "sio-v2"):
        test_polling(e2e, name)
        test_filtered_session(e2e, name)
        test_session_end(e2e, name, name == "sio")
    test_poll_redact(e2e, "sio")
    test_poll_redact(e2e, "sio-v2")
    for name in ("stomp-rabbitmq", "mqtt-mosquitto", "jsonrpc"):
        test_filtered(e2e, name)
    test_options(e2e)
