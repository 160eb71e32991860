#!/usr/bin/python3
"""WebSocket scenario full of (fake) secrets, for testing redaction, with
Python `websockets` 10.4 (legacy asyncio API).  Run with Debian's
/usr/bin/python3 (package python3-websockets).

One process runs a websockets server on 127.0.0.1:PORT and two client
connections, one after the other:

  conn 1  ws://127.0.0.1:PORT/chat?room=7&token=T1&access_token=T2&lang=ko
          client compression=None (no extension).  Request headers
          Authorization: Bearer ..., Cookie: session=...; theme=dark,
          Proxy-Authorization: Basic ...; the 101 response carries
          Set-Cookie: sid=...; HttpOnly.  JSON text messages with secrets
          under the keys password, token, access_token, secret and
          authorization (top level, nested objects, arrays of objects, a
          top-level array, values that are a number, an object, an array,
          a string with escaped quotes), ordinary JSON, plain text, a binary
          message, a ping each way.  Client frames are masked, so the server
          also sends byte-for-byte copies of the client's six
          secret-carrying JSON texts: every conn 1 secret is then in the
          capture as it is.
          Client closes 1000.
  conn 2  ws://127.0.0.1:PORT/feed?sig=SIG
          client default compression (permessage-deflate negotiated), JSON
          messages with secrets both ways.  Server closes 1000.

Every secret is a fixed, random-looking string derived from a constant seed
(see secret()), so the scenario is the same on every run.  With --secrets
FILE, all of them are written to FILE as {"secrets": [...], "description":
...}, each exactly as its bytes appear on the wire (JSON escapes included).

Ground truth is logged from inside each endpoint with the protocol classes
and frame hooks of ws_python.py (imported from it; see samples/README.md);
the log is written in the same format, with the same self-checks.  The
script also checks the handshake headers on both ends and that every secret
really went over the connection (in the raw bytes, or for conn 2's
compressed messages in the decompressed payloads).

Usage: /usr/bin/python3 ws_secrets.py --port 9611 --log F.jsonl
           [--streams DIR] [--secrets F.secrets.json]
"""

import argparse
import asyncio
import base64
import collections
import hashlib
import json
import os
import random
import sys

sys.dont_write_bytecode = True   # no __pycache__ next to the scripts
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import websockets  # noqa: E402

import ws_python  # noqa: E402  (logging protocol classes, Recorder, endpoint())
from ws_python import REC  # noqa: E402

SEED = "wscope ws-secrets sample v1"


def secret(label, prefix="s3cr3t-"):
    """A deterministic, random-looking secret: prefix + 16 hex digits."""
    return prefix + hashlib.sha256(("%s/%s" % (SEED, label)).encode()).hexdigest()[:16]


def wire(s):
    """How the string s appears inside a compact JSON text (no quotes)."""
    return json.dumps(s, ensure_ascii=False)[1:-1]


# ------------------------------------------------------------ the secrets

S = {}
for name in ("T1", "T2", "AUTH1", "COOKIE1", "PROXY1", "SETCOOKIE1",
             "PW1", "TOK1", "AT1", "SEC1", "AUTHJ1", "ITEM1", "ITEM2", "PW1B",
             "STOK1", "KID1", "OBJ1", "ARR1", "ARR2", "SAUTH1",
             "SIG2", "PW2", "TOK2", "AT2", "SEC2", "AUTH2"):
    S[name] = secret(name)
# a secret string with quotes in it (escaped as \" in the JSON text)
S["QUOTED1"] = secret("QUOTED1", prefix='s3cr3t-"quoted"-')
# conn 2's message secrets travel compressed
CONN2_MSG_SECRETS = {"PW2", "TOK2", "AT2", "SEC2", "AUTH2"}
# a secret whose value is a JSON number
NUMBER_SECRET = 7391824650321

assert len(set(S.values())) == len(S)


def dumps(obj, **kw):
    kw.setdefault("separators", (",", ":"))
    return json.dumps(obj, ensure_ascii=False, **kw)


def plans():
    rng = random.Random(SEED)
    blob = rng.randbytes(300)          # binary message, no secrets in it
    sblob = rng.randbytes(77)
    # the client's JSON messages with secrets
    c_login = dumps({"type": "login", "user": "alice", "password": S["PW1"]})
    c_auth = dumps({"type": "auth", "token": S["TOK1"], "access_token": S["AT1"],
                    "meta": {"client": "ws_secrets.py", "v": 1}})
    # nested objects, pretty-printed (whitespace between tokens)
    c_profile = dumps({"type": "profile",
                       "user": {"name": "alice", "lang": "ko",
                                "credentials": {"secret": S["SEC1"],
                                                "authorization": "Bearer " + S["AUTHJ1"]}}},
                      indent=2, separators=(",", ": "))
    # an array of objects
    c_batch = dumps({"type": "batch", "items": [
        {"id": 1, "token": S["ITEM1"]}, {"id": 2, "token": S["ITEM2"]},
        {"id": 3, "note": "no secret here"}]})
    # a top-level array
    c_array = dumps([{"password": S["PW1B"]}, {"ok": True, "n": 2}])
    # a string with escaped quotes
    c_quoted = dumps({"type": "change", "password": S["QUOTED1"], "confirm": True})
    chat_client = [
        ("send", c_login),
        ("send", c_auth),
        ("send", c_profile),
        ("send", c_batch),
        ("send", "hello, plain text without secrets 안녕하세요 👋"),
        ("send", blob),
        ("ping", b"client ping"),
        ("send", c_array),
        ("send", c_quoted),
        ("send", dumps({"type": "chat", "room": 7, "text": "see you at 7 \"sharp\"",
                        "tags": ["a", "b"], "tokens_left": None})),
        ("send", "client done ✅"),
    ]
    chat_server = [
        ("send", dumps({"type": "welcome", "session": {"token": S["STOK1"], "expires_in": 3600}})),
        # number value
        ("send", dumps({"type": "otp", "secret": NUMBER_SECRET, "digits": 13})),
        # object value
        ("send", dumps({"type": "keys", "secret": {"kid": S["KID1"], "material": S["OBJ1"]},
                        "alg": "HS256"})),
        # array value
        ("send", dumps({"type": "rotate", "token": [S["ARR1"], S["ARR2"]], "count": 2})),
        ("send", dumps({"type": "echo", "authorization": "Basic " + S["SAUTH1"],
                        "path": "/chat"})),
        ("send", dumps({"type": "chat", "from": "bob", "text": "hi alice, 반가워요"})),
        ("send", "server says hi, nothing secret here"),
        ("ping", b"server ping"),
        # The client's frames are masked, so its secrets are not in the
        # capture as they are; the server also sends the same six JSON texts,
        # byte for byte, unmasked.
        ("send", c_login), ("send", c_auth), ("send", c_profile), ("send", c_batch),
        ("send", c_array), ("send", c_quoted),
        ("send", sblob),
        ("send", "server done ✅"),
    ]
    feed_client = [
        ("send", dumps({"type": "login", "user": "carol", "password": S["PW2"]})),
        ("send", dumps({"type": "subscribe", "topics": ["news", "sports", "weather"],
                        "token": S["TOK2"]})),
        ("send", dumps({"type": "subscribe", "topics": ["news", "sports", "weather"],
                        "note": "same again, compresses well"})),
        ("send", "plain text over deflate, no secrets"),
        ("send", "client done ✅"),
    ]
    feed_server = [
        ("send", dumps({"type": "ack", "access_token": S["AT2"],
                        "refresh": {"secret": S["SEC2"], "ttl": 86400}})),
        ("send", dumps({"type": "feed", "items": [
            {"id": i, "title": "item %d" % i, "topic": ["news", "sports", "weather"][i % 3]}
            for i in range(1, 21)]})),
        ("send", dumps({"type": "auth", "authorization": "Bearer " + S["AUTH2"]})),
        ("send", "server done ✅"),
    ]
    return {"chat": (chat_client, chat_server), "feed": (feed_client, feed_server)}


CLOSES = {"chat": ("client", 1000, "bye"),
          "feed": ("server", 1000, "feed done")}

REQUEST_HEADERS = {"chat": [("Authorization", "Bearer " + S["AUTH1"]),
                            ("Cookie", "session=%s; theme=dark" % S["COOKIE1"]),
                            ("Proxy-Authorization", "Basic " + S["PROXY1"])],
                   "feed": []}
SET_COOKIE = "sid=%s; HttpOnly" % S["SETCOOKIE1"]


def paths(port):
    return [("chat", "ws://127.0.0.1:%d/chat?room=7&token=%s&access_token=%s&lang=ko"
             % (port, S["T1"], S["T2"]), None),
            ("feed", "ws://127.0.0.1:%d/feed?sig=%s" % (port, S["SIG2"]), "deflate")]


def response_headers(path, request_headers):
    return [("Set-Cookie", SET_COOKIE)] if path.startswith("/chat") else []


async def amain(args):
    plan = plans()
    problems = []

    async def handler(ws):
        name = ws.path[1:].split("?")[0]
        for h, v in REQUEST_HEADERS[name]:
            if ws.request_headers.get(h) != v:
                problems.append("server: %s header %r" % (h, ws.request_headers.get(h)))
        closer, code, reason = CLOSES[name]
        await ws_python.endpoint(ws, "server", plan[name][1], plan[name][0],
                                 closer == "server", code, reason)

    server = await websockets.serve(
        handler, host="127.0.0.1", port=args.port, create_protocol=ws_python.LoggingServerProtocol,
        extra_headers=response_headers, ping_interval=None)

    order = []
    for name, url, compression in paths(args.port):
        ws = await websockets.connect(url, create_protocol=ws_python.LoggingClientProtocol,
                                      compression=compression, ping_interval=None,
                                      extra_headers=REQUEST_HEADERS[name])
        want_cookie = SET_COOKIE if name == "chat" else None
        if ws.response_headers.get("Set-Cookie") != want_cookie:
            problems.append("client: Set-Cookie %r" % ws.response_headers.get("Set-Cookie"))
        local, remote = ws.transport.get_extra_info("sockname"), ws.transport.get_extra_info("peername")
        order.append((ws.log_key, local, remote))
        closer, code, reason = CLOSES[name]
        await ws_python.endpoint(ws, "client", plan[name][0], plan[name][1],
                                 closer == "client", code, reason)
        exts = [type(e).__name__ for e in ws.extensions]
        print("conn %d (%s): negotiated extensions %s" % (len(order), name, exts), file=sys.stderr)
        if bool(exts) != (compression == "deflate"):
            problems.append("conn %d: extensions %s" % (len(order), exts))

    server.close()
    await server.wait_closed()
    await asyncio.sleep(0.2)  # let the server side's connection_lost run
    return order, problems


def direction(side, role):
    if role == "sent":
        return "c2s" if side == "client" else "s2c"
    return "s2c" if side == "client" else "c2s"


def write_log(path, order, streams):
    """The log, in the format of ws_python.py (samples/README.md)."""
    errors = []
    if streams:
        os.makedirs(streams, exist_ok=True)
    with open(path, "w") as f:
        def w(obj):
            f.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
        for k, (key, local, remote) in enumerate(order, 1):
            w({"kind": "conn", "conn": k, "client": {"ip": local[0], "port": local[1]},
               "server": {"ip": remote[0], "port": remote[1]}})
        for k, (key, _l, _r) in enumerate(order, 1):
            for side in ("client", "server"):
                for role in ("sent", "received"):
                    b = bytes(REC.raw[(key, side, role)])
                    w({"kind": "tcp", "conn": k, "side": side, "role": role,
                       "dir": direction(side, role), "len": len(b),
                       "sha256": hashlib.sha256(b).hexdigest()})
            for d, snd, rcv in (("c2s", "client", "server"), ("s2c", "server", "client")):
                a, b = REC.raw[(key, snd, "sent")], REC.raw[(key, rcv, "received")]
                print("conn %d %s: %d bytes sent, %d received: %s" % (
                    k, d, len(a), len(b), "ok" if a == b else "DIFFERS"), file=sys.stderr)
                if a != b:
                    errors.append("conn %d %s raw bytes differ" % (k, d))
                if streams:
                    with open(os.path.join(streams, "%d.%s" % (k, d)), "wb") as sf:
                        sf.write(a)
            for key2, o in REC.events:
                if key2 == key:
                    w(dict({"kind": "msg", "conn": k}, **o))
    return errors


def check(order):
    """The self-checks of ws_python.py, plus: every secret went over the wire."""
    errors = []
    payloads = collections.defaultdict(bytes)   # conn -> all decompressed payloads
    for k, (key, _l, _r) in enumerate(order, 1):
        ev = collections.defaultdict(list)
        for key2, o in REC.events:
            if key2 == key:
                ev[(o["side"], o["role"])].append(o)
                payloads[k] += base64.b64decode(o["b64"]) + b"\n"
        for snd, rcv in (("client", "server"), ("server", "client")):
            a = [(o["opcode"], o["b64"]) for o in ev[(snd, "sent")]]
            b = [(o["opcode"], o["b64"]) for o in ev[(rcv, "received")]]
            if a != b:
                errors.append("conn %d: %s sent msgs != %s received msgs" % (k, snd, rcv))
        for side in ("client", "server"):
            for role in ("sent", "received"):
                frame_level = [(o["opcode"], base64.b64decode(o["b64"]))
                               for o in ev[(side, role)] if o["opcode"] in ("text", "binary")]
                if frame_level != REC.app[(key, side, role)]:
                    errors.append("conn %d %s %s: app-level != frame-level" % (k, side, role))
        print("conn %d: %s" % (k, dict(collections.Counter(
            (o["side"][0] + ":" + o["role"] + ":" + o["opcode"]) for o in
            sum(ev.values(), [])))), file=sys.stderr)
    # Every secret must be on the wire as it is (conn 1: the handshakes and
    # the server's unmasked frames; conn 2: its handshake), except conn 2's
    # compressed message secrets, which must be in its message payloads.
    clear = {k: bytes(REC.raw[(key, "client", "sent")]) + b"\n" + bytes(REC.raw[(key, "server", "sent")])
             for k, (key, _l, _r) in enumerate(order, 1)}
    for label, s in secret_list(labels=True):
        b = s.encode()
        if label in CONN2_MSG_SECRETS:
            ok = b in payloads[2] and b not in clear[2]
        else:
            ok = b in clear[1] or b in clear[2]
        if not ok:
            errors.append("secret %s %r is not where it should be" % (label, s))
        if len(s) < 12:
            errors.append("secret %r is too short" % s)
    return errors


def secret_list(labels=False):
    """Every secret, as its bytes appear on the wire."""
    out = [(label, wire(v)) for label, v in S.items()] + [("NUMBER", str(NUMBER_SECRET))]
    assert len(set(v for _l, v in out)) == len(out)
    return out if labels else [v for _l, v in out]


DESCRIPTION = (
    "Every secret value in ws-secrets.pcap, exactly as its bytes appear on the wire "
    "(a JSON string's escapes included; the number secret as its digits). Conn 1 "
    "(uncompressed, /chat): query parameters token and access_token, the request headers "
    "Authorization (Bearer), Cookie (session=) and Proxy-Authorization (Basic), the 101's "
    "Set-Cookie (sid=), and JSON text messages with the keys password, token, access_token, "
    "secret and authorization (string, number 7391824650321, object, array and escaped-quote "
    "values, nested and in arrays); each of these is found as-is in the pcap (the client's "
    "frames are masked, but the server also sends byte-for-byte copies of the client's "
    "secret-carrying JSON texts, unmasked). Conn 2 "
    "(permessage-deflate, /feed): the query parameter sig (in the pcap as-is) and JSON "
    "messages with password, token, access_token, secret and authorization; these travel "
    "compressed, so they are in the decompressed payloads (the endpoint log's b64), not "
    "as-is in the pcap. Generated by samples/scripts/ws_secrets.py.")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=9611)
    ap.add_argument("--log", required=True)
    ap.add_argument("--streams", help="directory for raw per-direction stream bytes")
    ap.add_argument("--secrets", help="write the list of secrets here (JSON)")
    args = ap.parse_args()
    order, errors = asyncio.run(amain(args))
    errors += write_log(args.log, order, args.streams)
    errors += check(order)
    if args.secrets:
        with open(args.secrets, "w") as f:
            f.write(json.dumps({"secrets": secret_list(), "description": DESCRIPTION},
                               ensure_ascii=False, indent=1) + "\n")
    for e in errors:
        print("ERROR:", e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
