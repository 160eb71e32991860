#!/usr/bin/python3
"""Miscellaneous WebSocket cases with Python `websockets` 10.4 (legacy API)
plus raw sockets.  Run with Debian's /usr/bin/python3.

One process runs one websockets server on 127.0.0.1:PORT and [::1]:PORT
(default permessage-deflate support, ping_interval=None) and these client
connections, numbered in the order the clients connect:

  conn 1      ws://[::1]:PORT/v6           IPv6, no compression, a few
              messages and a ping; client closes 1000.
  conn 2..21  ws://127.0.0.1:PORT/multi/N  20 connections open at once.  The
              TCP connects are made one after the other (so conn K is also the
              K-th SYN), then all 20 opening handshakes and message exchanges
              run concurrently, both ends sending with random 0-4 ms gaps.
              Odd N: compression=None, even N: permessage-deflate.  Every
              third connection has pings.  Closer alternates (client 1000 /
              server 1001).
  conn 22     GET /forbidden with Upgrade: websocket, from a raw socket.  The
              server's process_request hook answers 403 Forbidden with a
              small text body and closes.  The client reads to EOF and closes.
  conn 23     one raw TCP connection: GET /hello (answered with
              Content-Length), GET /chunked (answered with a chunked body,
              written in several pieces), both keep-alive, each response read
              completely; then the same socket is upgraded to WebSocket with
              websockets.connect(uri, sock=sock) (permessage-deflate).  The
              server serves plain HTTP and WebSocket on one port: its protocol
              class overrides read_http_request() to answer non-upgrade
              requests itself and keep reading.  Server closes 4002.
  conn 24     ws://127.0.0.1:PORT/fragments, no compression: the client sends
              a text message in 11 frames (1 + 10 continuation) with 3 pings
              written between fragments, a binary message in 10 frames (one
              of them empty) with a ping between fragments, and a 204800-byte
              binary message; the server sends a binary message in 11 frames
              with 2 pings between fragments.  Client closes 1000.

Ground truth, logged from inside the endpoints (samples/README.md): the
websockets protocol classes and frame hooks of ws_python.py (imported from
it), plus the raw-socket clients, which log every byte they send and
receive.  Conn 23's client log is the raw-socket bytes followed by the
websockets protocol's bytes.  Raw-socket clients also log one "http" line
per non-101 HTTP response they read.

Usage: /usr/bin/python3 ws_misc.py --port 9801 --log F.jsonl
"""

import argparse
import asyncio
import base64
import collections
import email.utils
import hashlib
import http
import json
import os
import random
import socket
import sys

sys.dont_write_bytecode = True   # no __pycache__ next to the scripts
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import websockets  # noqa: E402
from websockets.legacy.server import WebSocketServerProtocol  # noqa: E402,F401

import ws_python  # noqa: E402  (frame-layer logging hooks and payload helpers)
from ws_python import REC, text_bytes, text_compressible, bin_compressible  # noqa: E402

HTTP_LINES = []          # (key, dict) for kind "http"
SERVER_LOST = set()      # keys whose server-side connection_lost ran

MULTI = 20
FORBIDDEN_BODY = "403 Forbidden: /forbidden does not accept WebSocket upgrades 🚫\n".encode()
HELLO_BODY = "hello, plain HTTP/1.1 before the upgrade 안녕 👋\n".encode()
CHUNKS = [b"first chunk\n", "두 번째 chunk 🎉\n".encode(),
          text_compressible(3000).encode(), b"last chunk\n"]


# ------------------------------------------------------------ protocols

class MiscServerProtocol(ws_python.LoggingServerProtocol):
    """Logging server protocol that also answers plain (non-upgrade) HTTP/1.1
    GET requests on the same connection, keep-alive, before an upgrade."""

    async def read_http_request(self):
        while True:
            path, headers = await super().read_http_request()
            if "websocket" in headers.get("Upgrade", "").lower():
                return path, headers
            await self.serve_plain(path)

    async def serve_plain(self, path):
        date = "Date: %s\r\n" % email.utils.formatdate(usegmt=True)
        if path == "/hello":
            self.transport.write(
                ("HTTP/1.1 200 OK\r\n" + date + "Server: wscope-samples\r\n"
                 "Content-Type: text/plain; charset=utf-8\r\n"
                 "Content-Length: %d\r\n\r\n" % len(HELLO_BODY)).encode() + HELLO_BODY)
        elif path == "/chunked":
            self.transport.write(
                ("HTTP/1.1 200 OK\r\n" + date + "Server: wscope-samples\r\n"
                 "Content-Type: text/plain; charset=utf-8\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n").encode())
            for c in CHUNKS:
                await asyncio.sleep(0.003)   # separate writes, separate segments
                self.transport.write(b"%x\r\n" % len(c) + c + b"\r\n")
            await asyncio.sleep(0.003)
            self.transport.write(b"0\r\n\r\n")
        else:
            body = b"not found\n"
            self.transport.write(
                ("HTTP/1.1 404 Not Found\r\n" + date +
                 "Content-Length: %d\r\n\r\n" % len(body)).encode() + body)

    def connection_lost(self, exc):
        SERVER_LOST.add(self.log_key)
        super().connection_lost(exc)


class MiscClientProtocol(ws_python.LoggingClientProtocol):
    """Logging client protocol that keeps bytes a raw-socket client already
    logged on the same socket (conn 23) in front of the protocol's bytes."""

    def connection_made(self, transport):
        addr = transport.get_extra_info("sockname")
        key = (addr[0], addr[1])
        pre = {role: bytes(REC.raw.get((key, "client", role), b""))
               for role in ("sent", "received")}
        super().connection_made(transport)
        for role in ("sent", "received"):
            REC.raw[(key, "client", role)][0:0] = pre[role]


def process_request(path, headers):
    if path == "/forbidden":
        return (http.HTTPStatus.FORBIDDEN,
                [("Content-Type", "text/plain; charset=utf-8"), ("Connection", "close")],
                FORBIDDEN_BODY)
    return None


# ------------------------------------------------------------- raw client

class RawClient:
    """Non-blocking raw TCP client on the event loop that logs every byte."""

    def __init__(self, sock):
        self.sock = sock
        self.loop = asyncio.get_running_loop()
        addr = sock.getsockname()
        self.key = (addr[0], addr[1])
        self.sent = REC.raw[(self.key, "client", "sent")] = bytearray()
        self.received = REC.raw[(self.key, "client", "received")] = bytearray()
        self.buf = bytearray()
        self.eof = False
        self.nhttp = 0

    async def send(self, data):
        self.sent.extend(data)
        await self.loop.sock_sendall(self.sock, data)

    async def fill(self):
        data = await self.loop.sock_recv(self.sock, 65536)
        if not data:
            self.eof = True
            return False
        self.received.extend(data)
        self.buf.extend(data)
        return True

    async def read_until(self, sep):
        while sep not in self.buf:
            if not await self.fill():
                raise EOFError("EOF before %r" % sep)
        i = self.buf.index(sep) + len(sep)
        out = bytes(self.buf[:i])
        del self.buf[:i]
        return out

    async def read_exact(self, n):
        while len(self.buf) < n:
            if not await self.fill():
                raise EOFError("EOF before %d bytes" % n)
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    async def request(self, method, path, extra=""):
        req = ("%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: wscope-samples raw client\r\n"
               "Accept: */*\r\n%s\r\n" % (method, path, self.sock.getpeername()[1], extra))
        await self.send(req.encode())
        head = (await self.read_until(b"\r\n\r\n")).decode("latin-1")
        lines = head.split("\r\n")
        status = int(lines[0].split(" ")[1])
        hdrs = {}
        for ln in lines[1:]:
            if ln:
                k, v = ln.split(":", 1)
                hdrs[k.strip().lower()] = v.strip()
        if hdrs.get("transfer-encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                size = int((await self.read_until(b"\r\n"))[:-2].split(b";")[0], 16)
                if size == 0:
                    await self.read_until(b"\r\n")   # no trailers
                    break
                body += await self.read_exact(size)
                if await self.read_exact(2) != b"\r\n":
                    raise ValueError("bad chunk")
            body = bytes(body)
        elif "content-length" in hdrs:
            body = await self.read_exact(int(hdrs["content-length"]))
        else:
            while await self.fill():
                pass
            body = bytes(self.buf)
            self.buf.clear()
        self.nhttp += 1
        HTTP_LINES.append((self.key, {"kind": "http", "side": "client", "seq": self.nhttp,
                                      "method": method, "path": path, "status": status,
                                      "body_len": len(body)}))
        return status, hdrs, body


# ---------------------------------------------------------------- scripts

def plans():
    """(client actions, server actions, closer, code, reason) per path."""
    p = {}
    r = random.Random("ws-misc-v6")
    p["/v6"] = (
        [("send", "hello over IPv6 🌐 ::1"), ("send", r.randbytes(300)),
         ("ping", b"v6 ping"), ("send", text_bytes(1000, r)), ("send", "client done ✅")],
        [("send", "서버: IPv6 안녕"), ("send", r.randbytes(126)), ("ping", "server v6 ping".encode()),
         ("send", "server done ✅")],
        "client", 1000, "IPv6 bye 👋")
    for n in range(1, MULTI + 1):
        r = random.Random("ws-misc-multi-%d" % n)

        def side(tag, r=r, n=n):
            acts = []
            for i in range(r.randint(5, 9)):
                acts.append(("sleep", r.random() * 0.004))
                if r.random() < 0.5:
                    acts.append(("send", "%s #%d msg %d: %s" % (tag, n, i, text_bytes(r.randint(0, 300), r))))
                else:
                    acts.append(("send", r.randbytes(r.choice([0, 1, 125, 126, 500, 1500]))))
                if n % 3 == 0 and i == 2:
                    acts.append(("ping", ("%s ping #%d" % (tag, n)).encode()))
            acts.append(("send", "%s #%d done ✅" % (tag, n)))
            return acts

        cl, sv = side("client"), side("server")
        if n % 2:
            p["/multi/%d" % n] = (cl, sv, "server", 1001, "server going away 🌙 #%d" % n)
        else:
            p["/multi/%d" % n] = (cl, sv, "client", 1000, "client bye #%d" % n)
    r = random.Random("ws-misc-after-http")
    p["/after-http"] = (
        [("send", "upgraded after two plain HTTP requests ✅"), ("send", text_compressible(4000)),
         ("send", r.randbytes(200)), ("ping", b"after-http ping"), ("send", "client done ✅")],
        [("send", "서버: 같은 연결에서 업그레이드 🎉"), ("send", bin_compressible(3000)),
         ("send", "server done ✅")],
        "server", 4002, "after-http 서버 종료 ✨")
    r = random.Random("ws-misc-fragments")
    text_parts = ["조각 %d 🧩 %s " % (i, text_bytes(r.randint(0, 60), r)) for i in range(11)]
    bin_parts = [r.randbytes(r.randint(1, 400)) for _ in range(10)]
    bin_parts[5] = b""
    srv_parts = [r.randbytes(r.randint(1, 300)) for _ in range(11)]
    p["/fragments"] = (
        [("frag", text_parts, {0: b"ping after fragment 1", 3: "핑 after fragment 4".encode(),
                               7: b"ping after fragment 8"}),
         ("frag", bin_parts, {4: b"ping between binary fragments 5 and 6"}),
         ("send", r.randbytes(204800)),
         ("send", "client done ✅")],
        [("send", "server hello 🧩"),
         ("frag", srv_parts, {1: b"server ping after fragment 2", 6: b"server ping after fragment 7"}),
         ("send", "server done ✅")],
        "client", 1000, "fragments done 🧩")
    return p


PLANS = plans()


async def run_script(ws, side, script):
    key = ws.log_key
    for act in script:
        if act[0] == "sleep":
            await asyncio.sleep(act[1])
        elif act[0] == "send":
            await ws.send(act[1])
            data = act[1].encode() if isinstance(act[1], str) else act[1]
            REC.app[(key, side, "sent")].append(
                ("text" if isinstance(act[1], str) else "binary", data))
        elif act[0] == "ping":
            waiter = await ws.ping(act[1])
            await asyncio.wait_for(waiter, 10)
        elif act[0] == "frag":
            parts, pings = act[1], act[2]
            waiters = []

            async def gen():
                for i, p in enumerate(parts):
                    yield p
                    if i in pings:   # written between fragment i+1 and i+2
                        waiters.append(await ws.ping(pings[i]))

            await ws.send(gen())
            for w in waiters:
                await asyncio.wait_for(w, 10)
            joined = "".join(parts).encode() if isinstance(parts[0], str) else b"".join(parts)
            REC.app[(key, side, "sent")].append(
                ("text" if isinstance(parts[0], str) else "binary", joined))


async def endpoint(ws, side, path):
    cl, sv, closer, code, reason = PLANS[path]
    mine, theirs = (cl, sv) if side == "client" else (sv, cl)
    got_all = asyncio.Event()
    rtask = asyncio.create_task(
        ws_python.receive_all(ws, side, ws_python.n_data(theirs), got_all))
    await run_script(ws, side, mine)
    if closer == side:
        await asyncio.wait_for(got_all.wait(), 30)
        await ws.close(code, reason)
    n = await asyncio.wait_for(rtask, 30)
    await ws.wait_closed()
    if n != ws_python.n_data(theirs):
        raise RuntimeError("%s %s received %d messages, expected %d" % (
            side, path, n, ws_python.n_data(theirs)))


# ------------------------------------------------------------------ main

async def amain(args):
    port = args.port

    async def handler(ws):
        await endpoint(ws, "server", ws.path)

    server = await websockets.serve(
        handler, host=["127.0.0.1", "::1"], port=port, create_protocol=MiscServerProtocol,
        process_request=process_request, ping_interval=None, max_size=2 ** 21)
    order = []   # (key, local, remote) in client connect order
    loop = asyncio.get_running_loop()

    def connect_kwargs(compression):
        return dict(create_protocol=MiscClientProtocol, compression=compression,
                    ping_interval=None, max_size=2 ** 21)

    async def ws_client(uri, path, compression, sock=None):
        kw = connect_kwargs(compression)
        if sock is not None:
            kw["sock"] = sock
        ws = await websockets.connect(uri, **kw)
        if sock is None:
            order.append((ws.log_key, ws.transport.get_extra_info("sockname"),
                          ws.transport.get_extra_info("peername")))
        await endpoint(ws, "client", path)
        return [type(e).__name__ for e in ws.extensions]

    # a. IPv6
    ext = await ws_client("ws://[::1]:%d/v6" % port, "/v6", None)
    print("conn 1 /v6: extensions %s" % ext, file=sys.stderr)

    # b. 20 concurrent connections: connect one after the other, then run
    #    all handshakes and exchanges at once.
    socks = []
    for n in range(1, MULTI + 1):
        s = socket.create_connection(("127.0.0.1", port))
        s.setblocking(False)
        a = s.getsockname()
        order.append(((a[0], a[1]), a, s.getpeername()))
        socks.append(s)
    exts = await asyncio.gather(*(
        ws_client("ws://127.0.0.1:%d/multi/%d" % (port, n), "/multi/%d" % n,
                  None if n % 2 else "deflate", sock=socks[n - 1])
        for n in range(1, MULTI + 1)))
    print("conns 2..%d /multi: extensions %s" % (MULTI + 1, exts), file=sys.stderr)

    # c. rejected upgrade (403), raw socket
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    await loop.sock_connect(s, ("127.0.0.1", port))
    rc = RawClient(s)
    order.append((rc.key, s.getsockname(), s.getpeername()))
    key_b64 = base64.b64encode(random.Random("ws-misc-403").randbytes(16)).decode()
    status, hdrs, body = await rc.request(
        "GET", "/forbidden",
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
        "Sec-WebSocket-Version: 13\r\n" % key_b64)
    while await rc.fill():    # server closes after the response
        pass
    if rc.buf:
        raise RuntimeError("unexpected bytes after the 403 response")
    s.close()
    print("conn %d /forbidden: HTTP %d, %d body bytes %r" % (len(order), status, len(body), body),
          file=sys.stderr)
    if status != 403 or body != FORBIDDEN_BODY:
        raise RuntimeError("expected 403 with the forbidden body")

    # d. keep-alive plain HTTP requests, then upgrade on the same socket
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    await loop.sock_connect(s, ("127.0.0.1", port))
    rc = RawClient(s)
    order.append((rc.key, s.getsockname(), s.getpeername()))
    st1, h1, b1 = await rc.request("GET", "/hello")
    st2, h2, b2 = await rc.request("GET", "/chunked")
    if (st1, b1) != (200, HELLO_BODY) or (st2, b2) != (200, b"".join(CHUNKS)) or rc.buf:
        raise RuntimeError("plain HTTP before upgrade failed")
    print("conn %d: GET /hello %d (%s), GET /chunked %d (%s)" % (
        len(order), st1, "Content-Length", st2, h2.get("transfer-encoding")), file=sys.stderr)
    ext = await ws_client("ws://127.0.0.1:%d/after-http" % port, "/after-http", "deflate", sock=s)
    print("conn %d /after-http: extensions %s" % (len(order), ext), file=sys.stderr)

    # e. many fragments with pings in between, 200 KB binary
    ext = await ws_client("ws://127.0.0.1:%d/fragments" % port, "/fragments", None)
    print("conn %d /fragments: extensions %s" % (len(order), ext), file=sys.stderr)

    server.close()
    await server.wait_closed()
    for _ in range(100):
        if all(key in SERVER_LOST for key, _l, _r in order):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)
    missing = [key for key, _l, _r in order if key not in SERVER_LOST]
    if missing:
        raise RuntimeError("server side never saw the end of %r" % missing)
    return order


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=9801)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    order = asyncio.run(amain(args))

    errors = []
    with open(args.log, "w") as f:
        def w(obj):
            f.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
        for k, (key, local, remote) in enumerate(order, 1):
            w({"kind": "conn", "conn": k, "client": {"ip": local[0], "port": local[1]},
               "server": {"ip": remote[0], "port": remote[1]}})
        for k, (key, _l, _r) in enumerate(order, 1):
            for side in ("client", "server"):
                for role in ("sent", "received"):
                    b = bytes(REC.raw[(key, side, role)])
                    d = ("c2s" if side == "client" else "s2c") if role == "sent" else \
                        ("s2c" if side == "client" else "c2s")
                    w({"kind": "tcp", "conn": k, "side": side, "role": role, "dir": d,
                       "len": len(b), "sha256": hashlib.sha256(b).hexdigest()})
            for d, snd, rcv in (("c2s", "client", "server"), ("s2c", "server", "client")):
                a, b = REC.raw[(key, snd, "sent")], REC.raw[(key, rcv, "received")]
                if a != b:
                    errors.append("conn %d %s raw bytes differ (%d sent, %d received)" % (
                        k, d, len(a), len(b)))
            for key2, o in HTTP_LINES:
                if key2 == key:
                    w(dict({"kind": "http", "conn": k}, **{x: y for x, y in o.items() if x != "kind"}))
            for key2, o in REC.events:
                if key2 == key:
                    w(dict({"kind": "msg", "conn": k}, **o))

    # Consistency checks (as in ws_python.py).
    total = collections.Counter()
    for k, (key, _l, _r) in enumerate(order, 1):
        ev = collections.defaultdict(list)
        for key2, o in REC.events:
            if key2 == key:
                ev[(o["side"], o["role"])].append(o)
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
        c = collections.Counter((o["side"][0] + ":" + o["role"] + ":" + o["opcode"])
                                for o in sum(ev.values(), []))
        total += c
        if k in (1, 2, 22, 23, 24):
            print("conn %d: raw c2s %d s2c %d; %s" % (
                k, len(REC.raw[(key, "client", "sent")]), len(REC.raw[(key, "server", "sent")]),
                dict(c)), file=sys.stderr)
    print("all conns: %s" % dict(total), file=sys.stderr)
    for e in errors:
        print("ERROR:", e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
