#!/usr/bin/python3
"""Plain-TCP transfer scenario for wscope sample captures (stdlib only).

One process runs a server (listening on 127.0.0.1:PORT and [::1]:PORT) and
a fixed plan of client connections.  On every connection both endpoints send
deterministic pseudo-random bytes (seeded per connection and direction) in
random write sizes (1 B .. 64 KiB, log-uniform) with TCP_NODELAY and random
tiny sleeps, concurrently in both directions.  Normal connections end with
shutdown(SHUT_WR) on both sides, reading to EOF, then close().  One
connection ends abortively: the server sends its data and half-closes, the
client sends its data, reads to EOF, waits until the kernel reports its send
queue empty (SIOCOUTQ == 0, i.e. everything it sent has been ACKed), then
closes with SO_LINGER {1,0}, which sends a RST instead of a FIN.

Every endpoint logs what it actually handed to / got back from the socket
(length + SHA-256, see samples/README.md for the JSON-lines format).  The
log is ground truth from the endpoints, not from a packet analyzer.

Usage: /usr/bin/python3 tcp_transfer.py --seed N --port 9501 --log FILE.jsonl
"""

import argparse
import fcntl
import hashlib
import json
import math
import random
import socket
import struct
import sys
import termios
import threading
import time

SIOCOUTQ = termios.TIOCOUTQ  # same ioctl number on Linux
MAX_WRITE = 65536
TIMEOUT = 60.0


class StreamLog:
    """Length + SHA-256 of everything one side sent or received."""

    def __init__(self):
        self.h = hashlib.sha256()
        self.n = 0

    def add(self, data):
        self.h.update(data)
        self.n += len(data)


def make_plan(seed):
    """Deterministic connection plan for a seed.

    Returns a list of dicts: family, c2s, s2c (byte counts), rst (bool).
    """
    r = random.Random("plan-%d" % seed)
    plan = [
        dict(family="v4", c2s=0, s2c=0),                          # empty both ways
        dict(family="v6", c2s=1, s2c=0),                          # single byte
        dict(family="v4", c2s=0, s2c=r.randint(2, 200)),          # tiny, one way
        dict(family="v4", c2s=r.randint(250000, 300000), s2c=r.randint(0, 5000)),
        dict(family="v6", c2s=r.randint(20000, 50000), s2c=r.randint(60000, 100000)),
        dict(family="v4", c2s=r.randint(20000, 50000), s2c=r.randint(10000, 30000), rst=True),
        dict(family="v6", c2s=r.randint(1000, 20000), s2c=r.randint(1000, 20000)),
        dict(family="v4", c2s=65536, s2c=r.randint(100, 30000)),
    ]
    for p in plan:
        p.setdefault("rst", False)
    return plan


def payload(seed, k, direction, n):
    return random.Random("data-%d-%d-%s" % (seed, k, direction)).randbytes(n)


def sender(sock, data, rng, log):
    """Write data in random sizes with random tiny sleeps."""
    off = 0
    while off < len(data):
        size = min(MAX_WRITE, max(1, int(2 ** rng.uniform(0, 16))))
        chunk = data[off:off + size]
        sock.sendall(chunk)
        log.add(chunk)
        off += len(chunk)
        if rng.random() < 0.3:
            time.sleep(rng.uniform(0, 0.003))


def receiver(sock, log, result):
    try:
        while True:
            b = sock.recv(MAX_WRITE)
            if not b:
                result["end"] = "eof"
                return
            log.add(b)
    except ConnectionResetError:
        result["end"] = "reset"


def run_side(sock, side, k, spec, seed, logs, errors):
    """Run one endpoint of connection k ('client' or 'server')."""
    try:
        sock.settimeout(TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        out_dir = "c2s" if side == "client" else "s2c"
        in_dir = "s2c" if side == "client" else "c2s"
        data = payload(seed, k, out_dir, spec[out_dir])
        rng = random.Random("writes-%d-%d-%s" % (seed, k, side))
        sent, received = StreamLog(), StreamLog()
        logs[(k, side, "sent")] = sent
        logs[(k, side, "received")] = received
        rres = {}
        rt = threading.Thread(target=receiver, args=(sock, received, rres))
        rt.start()
        try:
            sender(sock, data, rng, sent)
            if not (spec["rst"] and side == "client"):
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError) as e:
            errors.append("conn %d %s send: %r" % (k, side, e))
        rt.join(TIMEOUT)
        if rt.is_alive():
            raise RuntimeError("conn %d %s: receiver did not finish" % (k, side))
        if spec["rst"] and side == "client":
            # Make sure everything we sent is on the wire and ACKed, so the
            # log's "sent" is exactly what the capture shows; then abort.
            deadline = time.time() + TIMEOUT
            while True:
                outq = struct.unpack("i", fcntl.ioctl(sock.fileno(), SIOCOUTQ, b"\0" * 4))[0]
                if outq == 0:
                    break
                if time.time() > deadline:
                    raise RuntimeError("conn %d: send queue never drained" % k)
                time.sleep(0.001)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        logs[(k, side, "end")] = rres.get("end")
        sock.close()
    except Exception as e:  # noqa: BLE001 - report everything
        errors.append("conn %d %s: %r" % (k, side, e))
        try:
            sock.close()
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--port", type=int, default=9501)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()

    plan = make_plan(args.seed)
    logs, errors = {}, []
    conn_info = {}
    peer_to_k = {}
    cond = threading.Condition()
    threads = []

    listeners = []
    for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        ls = socket.socket(fam, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((host, args.port))
        ls.listen(64)
        listeners.append(ls)

    def server_conn(sock):
        peer = sock.getpeername()[:2]
        with cond:
            ok = cond.wait_for(lambda: peer in peer_to_k, TIMEOUT)
        if not ok:
            errors.append("server: unknown peer %r" % (peer,))
            sock.close()
            return
        k = peer_to_k[peer]
        run_side(sock, "server", k, plan[k - 1], args.seed, logs, errors)

    def acceptor(ls, count):
        ls.settimeout(TIMEOUT)
        for _ in range(count):
            s, _addr = ls.accept()
            t = threading.Thread(target=server_conn, args=(s,))
            t.start()
            threads.append(t)

    n4 = sum(1 for p in plan if p["family"] == "v4")
    n6 = len(plan) - n4
    acc = [threading.Thread(target=acceptor, args=(listeners[0], n4)),
           threading.Thread(target=acceptor, args=(listeners[1], n6))]
    for t in acc:
        t.start()

    stagger = random.Random("stagger-%d" % args.seed)
    for k, spec in enumerate(plan, 1):
        if spec["family"] == "v4":
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.connect(("127.0.0.1", args.port))
        else:
            c = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            c.connect(("::1", args.port))
        local, remote = c.getsockname()[:2], c.getpeername()[:2]
        conn_info[k] = (local, remote)
        with cond:
            peer_to_k[local] = k
            cond.notify_all()
        t = threading.Thread(target=run_side, args=(c, "client", k, spec, args.seed, logs, errors))
        t.start()
        threads.append(t)
        time.sleep(stagger.uniform(0, 0.03))

    for t in acc:
        t.join(TIMEOUT)
    # threads list is complete once the acceptors are done
    for t in list(threads):
        t.join(TIMEOUT * 2)
        if t.is_alive():
            errors.append("a connection thread did not finish")
    for ls in listeners:
        ls.close()

    with open(args.log, "w") as f:
        def w(obj):
            f.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
        for k in sorted(conn_info):
            local, remote = conn_info[k]
            w({"kind": "conn", "conn": k,
               "client": {"ip": local[0], "port": local[1]},
               "server": {"ip": remote[0], "port": remote[1]}})
        for k in sorted(conn_info):
            for side in ("client", "server"):
                for role in ("sent", "received"):
                    lg = logs.get((k, side, role))
                    if lg is None:
                        errors.append("missing log for conn %d %s %s" % (k, side, role))
                        continue
                    d = ("c2s" if side == "client" else "s2c") if role == "sent" else \
                        ("s2c" if side == "client" else "c2s")
                    w({"kind": "tcp", "conn": k, "side": side, "role": role, "dir": d,
                       "len": lg.n, "sha256": lg.h.hexdigest()})

    # Self-check: what one side sent should be what the other received.
    for k, spec in enumerate(plan, 1):
        for d, snd, rcv in (("c2s", "client", "server"), ("s2c", "server", "client")):
            a, b = logs.get((k, snd, "sent")), logs.get((k, rcv, "received"))
            if a is None or b is None:
                continue
            same = a.n == b.n and a.h.digest() == b.h.digest()
            tag = "ok" if same else ("DIFFERS (rst conn)" if spec["rst"] else "DIFFERS")
            print("conn %d %s %s %d bytes sent, %d received: %s" %
                  (k, spec["family"], d, a.n, b.n, tag), file=sys.stderr)
            if not same and not spec["rst"]:
                errors.append("conn %d %s mismatch" % (k, d))
        print("conn %d ends: client=%s server=%s" % (
            k, logs.get((k, "client", "end")), logs.get((k, "server", "end"))), file=sys.stderr)
    for e in errors:
        print("ERROR:", e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
