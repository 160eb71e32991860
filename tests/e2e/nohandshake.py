"""WebSocket found without its handshake.

Real captures (ws-python.pcap, ws-node.pcap) with every packet of each
connection up to its 101 response removed (editcap; the frame numbers come
from tshark): without flags each connection is named once, with the
--decode-as command to rerun; with --decode-as auto every message after the
handshake is the one the endpoints logged. False positives: none on the
samples that are not WebSocket (plain TCP, TLS without its keys), nor on
200 flows of random bytes (both directions, masked or not by chance).
"""
import json
import os
import random
import struct
import subprocess


def cut_handshakes(src, out):
    """Drops each TCP stream's packets up to its HTTP 101 response."""
    t = subprocess.run(["tshark", "-r", src, "-Y", "http.response.code == 101", "-T", "fields",
                        "-e", "tcp.stream", "-e", "frame.number"], capture_output=True, text=True).stdout
    last = {}
    for line in t.splitlines():
        s, n = line.split("\t")
        last[int(s)] = int(n)
    t = subprocess.run(["tshark", "-r", src, "-T", "fields", "-e", "frame.number", "-e", "tcp.stream"],
                       capture_output=True, text=True).stdout
    drop = []
    for line in t.splitlines():
        n, s = line.split("\t")
        if s and int(s) in last and int(n) <= last[int(s)]:
            drop.append(n)
    subprocess.run(["editcap", src, out] + drop, capture_output=True, check=True)
    return len(last)


def tcp_packet(src, dst, sport, dport, seq, ack, flags, payload):
    tcp = struct.pack(">HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0, 64, 6, 0,
                     bytes(src), bytes(dst))
    eth = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00"
    return eth + ip + tcp + payload


def random_flows(path, n=200, seed=7):
    """n TCP connections (SYN, SYN-ACK, ACK), each side sending random
    bytes in random pieces; classic pcap, Ethernet."""
    rng = random.Random(seed)
    recs, t = [], 1700000000.0
    for i in range(n):
        a, b = [10, 0, i // 250, i % 250 + 1], [10, 1, 0, 1]
        sp, dp = 20000 + i, rng.choice([80, 443, 9000, 5222, 1883])
        sa, sb = rng.getrandbits(32), rng.getrandbits(32)
        pk = [(a, b, sp, dp, sa, 0, 0x02, b""), (b, a, dp, sp, sb, sa + 1, 0x12, b""),
              (a, b, sp, dp, sa + 1, sb + 1, 0x10, b"")]
        off = [1, 1]
        for _ in range(rng.randint(4, 30)):
            d = rng.randint(0, 1)
            data = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 1400)))
            if d == 0:
                pk.append((a, b, sp, dp, sa + off[0], sb + off[1], 0x18, data))
            else:
                pk.append((b, a, dp, sp, sb + off[1], sa + off[0], 0x18, data))
            off[d] += len(data)
        for p in pk:
            t += 0.001
            recs.append((t, tcp_packet(*p)))
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for ts, data in recs:
            f.write(struct.pack("<IIII", int(ts), int((ts % 1) * 1e6), len(data), len(data)) + data)


def run(e2e):
    d = os.path.join(e2e.TMP, "nohs")
    os.makedirs(d, exist_ok=True)
    S = os.path.join(e2e.TOP, "samples")
    for name, port in (("ws-python", 9601), ("ws-node", 9701)):
        out = os.path.join(d, name + "-nohs.pcap")
        nconn = cut_handshakes(os.path.join(S, name + ".pcap"), out)
        p = subprocess.run([e2e.WSCOPE, "-r", out, "--json"], capture_output=True, text=True, timeout=120)
        recs = [json.loads(line) for line in p.stdout.splitlines()]
        hints = [r for r in recs if r["type"] == "warning" and r["code"] == "ws_no_handshake"]
        msgs = [r for r in recs if r["type"] == "message"]
        want = "--decode-as %d" % port
        e2e.case("%s without its handshakes: each of the %d connections named once (ws_no_handshake) with "
                 "'%s', nothing decoded, the summary says --decode-as auto" % (name, nconn, want),
                 p.returncode == 0 and len(hints) == nconn and all(want in h["msg"] for h in hints) and
                 not msgs and "--decode-as auto" in p.stderr,
                 "%d hints %s, %d messages; %s" % (len(hints), [h["msg"][:80] for h in hints[:2]], len(msgs),
                                                    p.stderr[-300:]))
        res = e2e.compare_messages(out, os.path.join(S, name + ".endpoints.jsonl.gz"),
                                   extra=["--decode-as", "auto"],
                                   allow_warnings=("ws_no_handshake",))
        # no handshake: the connection record has no status or Accept
        # check to compare; every message is
        errs = [x for x in (res[0] if res else ["wscope failed"]) if "status 0 accept_ok None" not in x]
        e2e.case("%s without its handshakes, --decode-as auto: every message after the handshake as the "
                 "endpoints logged it (%d)" % (name, res[1] if res else 0), not errs, "; ".join(errs)[:600])
    # false positives
    rnd = os.path.join(d, "random.pcap")
    random_flows(rnd)
    files = [rnd] + [os.path.join(S, f) for f in sorted(os.listdir(S))
                     if f.startswith(("tcp-", "wss-")) and f.endswith((".pcap", ".pcapng"))]
    bad = []
    for f in files:
        p = subprocess.run([e2e.WSCOPE, "-r", f, "--json", "--decode-as", "auto"], capture_output=True, text=True,
                           timeout=120)
        n = sum(1 for line in p.stdout.splitlines() if '"ws_no_handshake"' in line)
        if n or p.returncode != 0:
            bad.append("%s: %d" % (os.path.basename(f), n))
    e2e.case("--decode-as auto finds nothing in 200 flows of random bytes nor in the %d plain TCP and TLS "
             "samples (no keys)" % (len(files) - 1), not bad, "; ".join(bad))
