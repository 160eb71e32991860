#!/usr/bin/python3
"""WebSocket scenario with Python `websockets` 10.4 (legacy asyncio API).

Run with Debian's /usr/bin/python3 (package python3-websockets).

One process runs a websockets server on 127.0.0.1:PORT and [::1]:PORT and
two client connections, one after the other:

  conn 1  ws://127.0.0.1:PORT/plain    client compression=None (no extension)
          client closes: 1000 "정상 종료 👋 bye"
  conn 2  ws://[::1]:PORT/deflate      client default compression
          (permessage-deflate negotiated); server closes: 4001 "서버가 닫습니다 ✨"

Both ends send text (incl. Korean / emoji), binary, payload sizes 0, 1, 125,
126, 127, 65535, 65536, 200000, pings, an unsolicited pong, and fragmented
messages (with a ping written between two fragments).

Ground truth is logged from inside each endpoint (see samples/README.md):

* raw TCP bytes: the protocol class passed as create_protocol= overrides
  data_received() (bytes received) and wraps transport.write in
  connection_made() (bytes written; all websockets 10.4 writes go there);
* messages: the same class overrides write_frame_sync() (every frame the
  library writes, before permessage-deflate) and read_frame() (every frame
  the library read, after permessage-deflate), reassembles fragmented data
  messages and logs complete messages plus every control frame (ping, pong,
  close - including the automatic pong replies and close echo) in the order
  they are written to / read from the stream.  The application-level view
  (what was passed to send() / returned by recv()) is checked against that.

Usage: /usr/bin/python3 ws_python.py --port 9601 --log F.jsonl [--streams DIR]
"""

import argparse
import asyncio
import base64
import collections
import hashlib
import json
import os
import random
import struct
import sys

import websockets
from websockets.frames import OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT
from websockets.legacy.client import WebSocketClientProtocol
from websockets.legacy.server import WebSocketServerProtocol

OPNAME = {OP_TEXT: "text", OP_BINARY: "binary", OP_PING: "ping", OP_PONG: "pong",
          OP_CLOSE: "close"}


class Recorder:
    """Collects everything the endpoints observed, keyed by the client's
    (ip, port) so client and server sides of one connection can be joined."""

    def __init__(self):
        self.raw = {}                       # (key, side, role) -> bytearray
        self.events = []                    # (key, dict) in the order observed
        self.seq = collections.Counter()    # (key, side, role) -> last seq
        self.app = collections.defaultdict(list)  # (key, side, role) -> [(opcode, bytes)]

    def msg(self, key, side, role, opcode, payload):
        d = ("c2s" if side == "client" else "s2c") if role == "sent" else \
            ("s2c" if side == "client" else "c2s")
        self.seq[(key, side, role)] += 1
        o = {"kind": "msg", "side": side, "role": role, "dir": d,
             "seq": self.seq[(key, side, role)], "opcode": OPNAME[opcode],
             "len": len(payload), "b64": base64.b64encode(payload).decode("ascii")}
        if opcode == OP_CLOSE and len(payload) >= 2:
            o["close_code"] = struct.unpack("!H", payload[:2])[0]
            o["close_reason"] = payload[2:].decode("utf-8")
        self.events.append((key, o))


REC = Recorder()


class LoggingMixin:
    side = None  # "client" or "server"

    def connection_made(self, transport):
        if self.side == "client":
            addr = transport.get_extra_info("sockname")
        else:
            addr = transport.get_extra_info("peername")
        self.log_key = (addr[0], addr[1])
        sent = REC.raw[(self.log_key, self.side, "sent")] = bytearray()
        REC.raw[(self.log_key, self.side, "received")] = bytearray()
        self._out_msg = None
        self._in_msg = None
        orig_write = transport.write

        def logged_write(data):
            sent.extend(data)
            orig_write(data)

        transport.write = logged_write
        super().connection_made(transport)

    def data_received(self, data):
        REC.raw[(self.log_key, self.side, "received")].extend(data)
        super().data_received(data)

    def _frame(self, role, fin, opcode, data, attr):
        data = bytes(data)
        if opcode in (OP_TEXT, OP_BINARY):
            setattr(self, attr, [opcode, bytearray(data)])
        elif opcode == OP_CONT:
            getattr(self, attr)[1].extend(data)
        else:
            REC.msg(self.log_key, self.side, role, opcode, data)
            return
        if fin:
            op, buf = getattr(self, attr)
            setattr(self, attr, None)
            REC.msg(self.log_key, self.side, role, op, bytes(buf))

    def write_frame_sync(self, fin, opcode, data):
        self._frame("sent", fin, opcode, data, "_out_msg")
        super().write_frame_sync(fin, opcode, data)

    async def read_frame(self, max_size):
        frame = await super().read_frame(max_size)
        self._frame("received", frame.fin, frame.opcode, frame.data, "_in_msg")
        return frame


class LoggingServerProtocol(LoggingMixin, WebSocketServerProtocol):
    side = "server"


class LoggingClientProtocol(LoggingMixin, WebSocketClientProtocol):
    side = "client"


# ---------------------------------------------------------------- payloads

MIXED_CHARS = ["a", "Z", "7", " ", "é", "ß", "한", "국", "어", "안", "녕", "😀", "🎉", "🌍", "✅"]


def text_bytes(n, rng):
    """Random mixed ASCII / Korean / emoji text of exactly n UTF-8 bytes."""
    out, left = [], n
    while left > 0:
        c = rng.choice(MIXED_CHARS)
        b = len(c.encode())
        if b > left:
            c = "x"
            b = 1
        out.append(c)
        left -= b
    s = "".join(out)
    assert len(s.encode()) == n
    return s


def text_compressible(n):
    unit = "한국어 텍스트 🎉 compressible text, 반복됩니다. "
    s = ""
    while len(s.encode()) + len(unit.encode()) <= n:
        s += unit
    s += "x" * (n - len(s.encode()))
    assert len(s.encode()) == n
    return s


def bin_compressible(n):
    unit = bytes(range(256)) + b"\x00" * 64
    return (unit * (n // len(unit) + 1))[:n]


def scripts(rng):
    """Per-connection action lists; each ends with a data message."""
    def rb(n):
        return rng.randbytes(n)

    plain_client = (
        [("send", text_bytes(n, rng)) for n in (0, 1, 125, 126, 127, 2000)]
        + [("send", rb(n)) for n in (0, 1, 125, 126, 127, 65535, 65536, 200000)]
        + [("ping", "ping-1 핑 🏓".encode()),
           ("frag", [b"frag-A", rb(300), b"frag-C"], "ping-between-fragments".encode()),
           ("frag", ["안녕", "하세요 ", "🌍 world"], None),
           ("pong", b"unsolicited pong from client"),
           ("send", "client done ✅")])
    plain_server = (
        [("send", "서버 인사 😀 hello")]
        + [("send", text_bytes(n, rng)) for n in (0, 1, 125, 126, 127, 3000)]
        + [("send", rb(n)) for n in (1, 126, 65536)]
        + [("ping", "server-ping 서버".encode()),
           ("frag", [rb(10), rb(200)], "srv-ping-mid-frag".encode()),
           ("send", "server done ✅")])
    deflate_client = (
        [("send", text_compressible(n)) for n in (0, 1, 125, 126, 127, 65536)]
        + [("send", text_bytes(500, rng)),
           ("send", b""), ("send", rb(1)), ("send", bin_compressible(127)), ("send", rb(1000)),
           ("ping", b"deflate-ping"),
           ("frag", ["압축된 ", "조각 ", "메시지 🎉"], "ping-in-compressed-frag".encode()),
           ("send", "client done ✅")])
    deflate_server = (
        [("send", text_compressible(n)) for n in (1, 126, 20000)]
        + [("send", rb(127)), ("send", rb(5000)), ("send", bin_compressible(65535)),
           ("pong", "서버 unsolicited pong".encode()),
           ("frag", [bin_compressible(4000), rb(50)], None),
           ("send", "server done ✅")])
    return {"plain": (plain_client, plain_server), "deflate": (deflate_client, deflate_server)}


def n_data(script):
    return sum(1 for a in script if a[0] in ("send", "frag"))


async def run_script(ws, side, script):
    key = ws.log_key
    for act in script:
        if act[0] == "send":
            await ws.send(act[1])
            data = act[1].encode() if isinstance(act[1], str) else act[1]
            REC.app[(key, side, "sent")].append(
                ("text" if isinstance(act[1], str) else "binary", data))
        elif act[0] == "ping":
            waiter = await ws.ping(act[1])
            await asyncio.wait_for(waiter, 10)
        elif act[0] == "pong":
            await ws.pong(act[1])
        elif act[0] == "frag":
            parts, ping_payload = act[1], act[2]
            waiters = []

            async def gen():
                for i, p in enumerate(parts):
                    yield p
                    if i == 0 and ping_payload is not None:
                        # written between fragment 1 and fragment 2
                        waiters.append(await ws.ping(ping_payload))

            await ws.send(gen())
            for w in waiters:
                await asyncio.wait_for(w, 10)
            joined = "".join(parts).encode() if isinstance(parts[0], str) else b"".join(parts)
            REC.app[(key, side, "sent")].append(
                ("text" if isinstance(parts[0], str) else "binary", joined))


async def receive_all(ws, side, expected, got_all):
    n = 0
    try:
        async for m in ws:
            REC.app[(ws.log_key, side, "received")].append(
                ("text", m.encode()) if isinstance(m, str) else ("binary", m))
            n += 1
            if n == expected:
                got_all.set()
    except websockets.ConnectionClosed:
        pass
    return n


async def endpoint(ws, side, mine, theirs, closes, close_code, close_reason):
    got_all = asyncio.Event()
    rtask = asyncio.create_task(receive_all(ws, side, n_data(theirs), got_all))
    await run_script(ws, side, mine)
    if closes:
        await asyncio.wait_for(got_all.wait(), 30)
        await ws.close(close_code, close_reason)
    n = await asyncio.wait_for(rtask, 30)
    await ws.wait_closed()
    if n != n_data(theirs):
        raise RuntimeError("%s received %d messages, expected %d" % (side, n, n_data(theirs)))


CLOSES = {"plain": ("client", 1000, "정상 종료 👋 bye"),
          "deflate": ("server", 4001, "서버가 닫습니다 ✨")}


async def amain(args):
    plans = {}
    for name in ("plain", "deflate"):
        plans[name] = scripts(random.Random("ws-python-" + name))[name]

    async def handler(ws):
        name = ws.path.strip("/")
        closer, code, reason = CLOSES[name]
        await endpoint(ws, "server", plans[name][1], plans[name][0], closer == "server", code, reason)

    server = await websockets.serve(
        handler, host=["127.0.0.1", "::1"], port=args.port,
        create_protocol=LoggingServerProtocol, ping_interval=None, max_size=2 ** 21)

    order = []
    for name, url, compression in (
            ("plain", "ws://127.0.0.1:%d/plain" % args.port, None),
            ("deflate", "ws://[::1]:%d/deflate" % args.port, "deflate")):
        ws = await websockets.connect(url, create_protocol=LoggingClientProtocol,
                                      compression=compression, ping_interval=None,
                                      max_size=2 ** 21)
        local, remote = ws.transport.get_extra_info("sockname"), ws.transport.get_extra_info("peername")
        order.append((ws.log_key, local, remote))
        closer, code, reason = CLOSES[name]
        await endpoint(ws, "client", plans[name][0], plans[name][1], closer == "client", code, reason)
        print("conn %d (%s): negotiated extensions %s" % (
            len(order), name, [type(e).__name__ for e in ws.extensions]), file=sys.stderr)

    server.close()
    await server.wait_closed()
    await asyncio.sleep(0.2)  # let the server side's connection_lost run
    return order


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=9601)
    ap.add_argument("--log", required=True)
    ap.add_argument("--streams", help="directory for raw per-direction stream bytes")
    args = ap.parse_args()
    order = asyncio.run(amain(args))

    errors = []
    kmap = {key: k for k, (key, _l, _r) in enumerate(order, 1)}
    if args.streams:
        os.makedirs(args.streams, exist_ok=True)
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
                print("conn %d %s: %d bytes sent, %d received: %s" % (
                    k, d, len(a), len(b), "ok" if a == b else "DIFFERS"), file=sys.stderr)
                if a != b:
                    errors.append("conn %d %s raw bytes differ" % (k, d))
                if args.streams:
                    with open(os.path.join(args.streams, "%d.%s" % (k, d)), "wb") as sf:
                        sf.write(a)
            for key2, o in REC.events:
                if key2 == key:
                    w(dict({"kind": "msg", "conn": k}, **o))

    # Consistency checks: sender's and receiver's message logs agree, and the
    # frame-level logs agree with what the application sent / received.
    for key, k in kmap.items():
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
        print("conn %d: %s" % (k, dict(collections.Counter(
            (o["side"][0] + ":" + o["role"] + ":" + o["opcode"]) for o in
            sum(ev.values(), [])))), file=sys.stderr)
    for e in errors:
        print("ERROR:", e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
