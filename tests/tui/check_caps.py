#!/usr/bin/python3
"""check_caps.py - compares wscope's NDJSON with the sidecars of mkcaps.py.

Usage:
  check_caps.py OUTDIR WSCOPE [--only NAME[,NAME...]] [--strict]

For each capture (default: controls, korean, lossy, deflate-big-small) it
runs `WSCOPE -r OUTDIR/NAME.pcap --json` and checks, against OUTDIR/NAME.json
written by mkcaps.py:

* every sidecar connection is reported once (matched by its endpoints), with
  the same host, path, accept_ok, deflate and upgrade packet;
* per direction, wscope's messages are the sidecar's messages that are in the
  file, in order, each with the same opcode, length, compression (and wire
  length), frame count, packet(s), timestamp and payload bytes (text, data,
  or close code and reason), and none truncated or marked gap;
* the end record's reason is the sidecar's end.

One allowance, documented wscope behaviour (README, `ws_lost_sync`): when a
whole segment is missing at frame boundaries, wscope stops dissecting that
direction. So in a capture whose sidecar has a "lost" segment, the messages
of that direction after it may be missing, only if wscope warned
ws_lost_sync on that connection; the end reason is then not checked (the
peer's close frame was after the gap). --strict makes that a failure too.

Prints one line per capture and a closing "N passed, N failed" line; exits
non-zero on any mismatch.
"""
import argparse
import base64
import decimal
import hashlib
import json
import os
import subprocess
import sys

DEFAULT = ("controls", "korean", "lossy", "deflate-big-small")


def ts_us(v):
    return int(decimal.Decimal(v) * 1000000)


def actual_payload(m):
    """The payload bytes a wscope message record stands for."""
    if m["opcode"] == "close":
        if "close_code" not in m:
            return b""
        code = m["close_code"].to_bytes(2, "big")
        if "close_reason_data" in m:
            return code + base64.b64decode(m["close_reason_data"])
        return code + m.get("close_reason", "").encode("utf-8")
    if "text" in m:
        return m["text"].encode("utf-8")
    if "data" in m:
        return base64.b64decode(m["data"])
    return None


def compare_msg(exp, got, where):
    errs = []
    for k in ("dir", "opcode", "length", "compressed", "frames", "packet"):
        if got.get(k) != exp[k]:
            errs.append("%s: %s is %r, expected %r" % (where, k, got.get(k), exp[k]))
    if exp["compressed"] and got.get("wire_length") != exp["wire_length"]:
        errs.append("%s: wire_length is %r, expected %r" % (where, got.get("wire_length"),
                                                           exp["wire_length"]))
    gf, ef = got.get("first_packet", got.get("packet")), exp.get("first_packet", exp["packet"])
    if gf != ef:
        errs.append("%s: first packet is %r, expected %r" % (where, gf, ef))
    if ts_us(got["ts"]) != exp["ts_us"]:
        errs.append("%s: ts is %s, expected %d us" % (where, got["ts"], exp["ts_us"]))
    for flag in ("truncated", "gap", "inflate_failed", "decompression_bomb"):
        if got.get(flag):
            errs.append("%s: marked %s" % (where, flag))
    if exp["opcode"] == "text":
        want_field = "text" if exp["utf8_valid"] else "data"
        if want_field not in got:
            errs.append("%s: text message reported without %r" % (where, want_field))
    pay = actual_payload(got)
    if pay is None:
        errs.append("%s: no payload" % where)
    elif "b64" in exp:
        want = base64.b64decode(exp["b64"])
        if pay != want:
            i = next((i for i in range(min(len(pay), len(want))) if pay[i] != want[i]),
                     min(len(pay), len(want)))
            errs.append("%s: payload differs at byte %d: got %r, expected %r" % (
                where, i, pay[max(0, i - 8):i + 16], want[max(0, i - 8):i + 16]))
    elif hashlib.sha256(pay).hexdigest() != exp["sha256"]:
        errs.append("%s: payload sha256 %s, expected %s (length %d)" % (
            where, hashlib.sha256(pay).hexdigest(), exp["sha256"], len(pay)))
    if exp["opcode"] == "close" and "close_code" in exp and got.get("close_code") != exp["close_code"]:
        errs.append("%s: close_code %r, expected %r" % (where, got.get("close_code"), exp["close_code"]))
    return errs


def check(outdir, wscope, name, strict):
    """Returns (errors, notes, messages compared)."""
    side = json.load(open(os.path.join(outdir, name + ".json")))
    pcap = os.path.join(outdir, name + ".pcap")
    p = subprocess.run([wscope, "-r", pcap, "--json"], capture_output=True)
    if p.returncode != 0:
        return ["wscope exited %d: %s" % (p.returncode, p.stderr.decode(errors="replace")[-500:])], [], 0
    recs = []
    # split on "\n" only: str.splitlines() would also split at U+0085,
    # U+2028 and others, which JSON may carry unescaped
    for ln, line in enumerate(p.stdout.split(b"\n"), 1):
        if not line:
            continue
        try:
            recs.append(json.loads(line.decode("utf-8"), parse_float=decimal.Decimal))
        except ValueError as e:
            return ["NDJSON line %d does not parse: %s" % (ln, e)], [], 0
    errs, notes = [], []
    conns = {}
    for r in recs:
        if r["type"] == "connection":
            k = (r["client"]["ip"], r["client"]["port"], r["server"]["ip"], r["server"]["port"])
            if k in conns:
                errs.append("connection %r reported twice" % (k,))
            conns[k] = r
    if len(conns) != side["ws_connections"]:
        errs.append("%d connections reported, %d in the capture" % (len(conns), side["ws_connections"]))
    lost = side.get("lost")
    compared = 0
    for sc in side["connections"]:
        k = (sc["client"]["ip"], sc["client"]["port"], sc["server"]["ip"], sc["server"]["port"])
        c = conns.get(k)
        if c is None:
            errs.append("%s: connection not reported" % sc["name"])
            continue
        cid = c["id"]
        for f in ("host", "path", "accept_ok"):
            if c.get(f) != sc[f]:
                errs.append("%s: %s is %r, expected %r" % (sc["name"], f, c.get(f), sc[f]))
        if ("deflate" in c) != sc["deflate"]:
            errs.append("%s: deflate %s, expected %s" % (sc["name"], "deflate" in c, sc["deflate"]))
        if c.get("packet") != sc["upgrade_packet"]:
            errs.append("%s: upgrade packet %r, expected %r" % (sc["name"], c.get("packet"),
                                                               sc["upgrade_packet"]))
        lost_sync = any(r["type"] == "warning" and r.get("conn") == cid and r["code"] == "ws_lost_sync"
                        for r in recs)
        got_all = [r for r in recs if r["type"] == "message" and r["conn"] == cid]
        skipped_any = False
        for d in ("c2s", "s2c"):
            exp = [m for m in sc["messages"] if m["dir"] == d and not m.get("lost")]
            got = [m for m in got_all if m["dir"] == d]
            lost_idx = None
            if lost and lost["dir"] == d:
                lost_idx = lost["message_index"]
            for i, e in enumerate(exp):
                where = "%s %s #%d (%s)" % (sc["name"], d, e["index"], e.get("label", e["opcode"]))
                if i >= len(got):
                    after_gap = lost_idx is not None and e["index"] > lost_idx
                    if after_gap and lost_sync and not strict:
                        notes.append("%s: not decoded after the gap (ws_lost_sync)" % where)
                        skipped_any = True
                    else:
                        errs.append("%s: not reported" % where)
                    continue
                errs.extend(compare_msg(e, got[i], where))
                compared += 1
            for g in got[len(exp):]:
                errs.append("%s %s: extra message reported: %s" % (sc["name"], d,
                                                                  json.dumps(g, default=str)[:200]))
        if lost and not lost_sync and not strict:
            notes.append("%s: no ws_lost_sync warning (all messages after the gap checked)" % sc["name"])
        ends = [r for r in recs if r["type"] == "end" and r["conn"] == cid]
        if len(ends) != 1:
            errs.append("%s: %d end records" % (sc["name"], len(ends)))
        elif skipped_any:
            notes.append("%s: end reason %s not checked (the close frame after the gap was not "
                         "decoded)" % (sc["name"], ends[0]["reason"]))
        elif ends[0]["reason"] != sc["end"]:
            errs.append("%s: end reason %r, expected %r" % (sc["name"], ends[0]["reason"], sc["end"]))
    return errs, notes, compared


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("wscope")
    ap.add_argument("--only", help="comma-separated capture names (default: %s)" % ",".join(DEFAULT))
    ap.add_argument("--strict", action="store_true",
                    help="messages not decoded after a gap are failures too")
    a = ap.parse_args()
    names = a.only.split(",") if a.only else list(DEFAULT)
    passed = failed = 0
    for name in names:
        if not os.path.exists(os.path.join(a.outdir, name + ".json")):
            print("FAIL %s: no %s.json in %s (run mkcaps.py first)" % (name, name, a.outdir))
            failed += 1
            continue
        errs, notes, n = check(a.outdir, a.wscope, name, a.strict)
        for x in notes:
            print("  note %s" % x)
        if errs:
            failed += 1
            print("FAIL %s: %d mismatch(es)" % (name, len(errs)))
            for x in errs[:40]:
                print("  " + x)
            if len(errs) > 40:
                print("  ... %d more" % (len(errs) - 40))
        else:
            passed += 1
            print("ok   %s: %d messages equal to the sidecar" % (name, n))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
