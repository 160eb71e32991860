#!/usr/bin/env python3
"""bench.py - time wscope against a bare libpcap read and tshark.

On one synthetic capture (bench/gen, regenerated only when missing or when
its parameters or the generator changed) this runs, each as its own child
process with standard output to /dev/null:

  floor            bench/floor FILE: pcap_next_ex doing nothing (the floor)
  wscope           wscope -r FILE --json
  tshark fields    tshark -r FILE -Y websocket -T fields -e ... (5 fields)
  tshark json      tshark -r FILE -Y websocket -T json

It measures wall time and peak RSS (ru_maxrss from wait4) of each run,
through bench/measure (see run_measured for why not straight from Python), and prints seconds (best and
median), MB/s, messages/s, peak RSS and the ratios against the targets.
Separate counting runs check that wscope and tshark found every message the
generator wrote (FILE.truth.json): a benchmark of a tool that decodes
nothing would mean nothing.

Python 3 standard library only; it builds nothing: `make bench` builds
wscope, bench/gen, bench/floor and bench/measure and passes their paths. See
bench/README.md.
"""

import argparse
import collections
import datetime
import hashlib
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
BUILD = os.path.join(TOP, "build-bench")

# Targets (README.md, Performance).
TARGET_FLOOR_RATIO = 4.0      # wscope within 4x of the bare libpcap read
TARGET_FIELDS_RATIO = 30.0    # wscope >= 30x faster than tshark -T fields
TARGET_JSON_RATIO = 100.0     # wscope >= 100x faster than tshark -T json
TARGET_RSS_MIB = 64.0         # wscope's peak RSS
SCALE_SIZES = (100, 1000)     # MB, for --scale
# Peak RSS on the large capture may exceed the small one's by this much and
# still count as "independent of the capture's length" (allocator noise).
SCALE_TOLERANCE_MIB = 1.0

TSHARK_FIELDS = ["frame.number", "websocket.opcode", "websocket.fin",
                 "websocket.mask", "websocket.pmc"]
OPCODES = {0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping",
           10: "pong"}
MSG_OPCODES = ["text", "binary", "close", "ping", "pong"]

SUMMARY_RE = re.compile(
    r"(\d+) packets, .* (\d+) WebSocket connections .* (\d+) messages, (\d+) warnings")


def die(msg):
    print("bench: " + msg, file=sys.stderr)
    sys.exit(1)


# ---- running and measuring ----

class Run:
    """One measured child process."""

    def __init__(self, seconds, cpu, rss_kib, status, stderr):
        self.seconds = seconds
        self.cpu = cpu
        self.rss_kib = rss_kib
        self.status = status
        self.stderr = stderr

    @property
    def rss_mib(self):
        return self.rss_kib / 1024.0


MEASURE = None  # path of bench/measure, set by main()


def run_measured(argv, stdout_path=os.devnull):
    """Runs argv with stdout to stdout_path and stderr kept in a temporary
    file; returns a Run with its wall time and its own peak RSS.

    The child is started through bench/measure (a fork of a small C
    program), whose report gives the numbers: ru_maxrss of a child that
    Python starts itself would include the interpreter's own peak RSS
    (Linux charges it at execve; see measure.c). os.wait4 on measure gives
    its exit status and serves as a check."""
    with open(stdout_path, "wb") as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(mode="r", prefix="bench-measure-") as rep:
        t0 = time.perf_counter()
        p = subprocess.Popen([MEASURE, rep.name] + argv, stdin=subprocess.DEVNULL,
                             stdout=out, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        t1 = time.perf_counter()
        p.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
        fields = rep.read().split()
    kv = dict(zip(fields[0::2], fields[1::2]))
    if "status" not in kv:
        # measure itself failed: fall back to what wait4 saw (RSS too high)
        return Run(t1 - t0, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, p.returncode or 127, text)
    return Run(int(kv["wall_ns"]) / 1e9,
               (int(kv["utime_us"]) + int(kv["stime_us"])) / 1e6,
               int(kv["maxrss_kib"]), int(kv["status"]), text)


def measure(name, argv, runs, quiet=False):
    """Runs argv `runs` times; returns the list of Runs (fails loudly on a
    non-zero exit, since a crashed tool is not a fast tool)."""
    result = []
    for i in range(runs):
        r = run_measured(argv)
        if r.status != 0:
            die("%s exited with status %d:\n%s" % (name, r.status, r.stderr[-2000:]))
        if not quiet:
            print("  %-16s run %d/%d: %8.3f s  %7.1f MiB" % (name, i + 1, runs, r.seconds, r.rss_mib),
                  flush=True)
        result.append(r)
    return result


def tool_version(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    lines = (out.stdout or out.stderr).strip().splitlines()
    return lines[0] if lines else "?"


# ---- the capture ----

def capture_path(out_dir, size, conns, seed, deflate):
    return os.path.join(out_dir, "ws-%dM-c%d-s%d%s.pcap" % (
        size, conns, seed, "" if deflate == 50 else "-d%d" % deflate))


def source_stamp():
    """SHA-256 of bench/gen.c: a capture made by another version of the
    generator's source is made again (a rebuilt but unchanged generator
    gives the same bytes, so its mere rebuild does not count)."""
    try:
        with open(os.path.join(HERE, "gen.c"), "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return "?"


def read_stamp(path):
    try:
        with open(path + ".stamp") as f:
            return f.read().strip()
    except OSError:
        return None


def ensure_capture(gen, out_dir, size, conns, seed, deflate):
    """Generates the capture unless a matching one is there: same
    parameters and generator version in its truth file, made from
    the generator's source (bench/gen.c, by hash). Returns (path, truth)."""
    path = capture_path(out_dir, size, conns, seed, deflate)
    truth_path = path + ".truth.json"
    want = {"seed": seed, "size_mb": size, "conns": conns, "deflate_pct": deflate}
    gen_version = tool_version([gen, "--version"])
    reason = None
    if not os.path.exists(path) or not os.path.exists(truth_path):
        reason = "missing"
    else:
        try:
            with open(truth_path) as f:
                truth = json.load(f)
        except (OSError, ValueError):
            truth = None
        if truth is None:
            reason = "unreadable truth file"
        elif {k: truth["params"].get(k) for k in want} != want:
            reason = "parameters changed"
        elif "gen %d" % truth.get("version", -1) != gen_version:
            reason = "generator version changed"
        elif read_stamp(path) != source_stamp():
            reason = "bench/gen.c changed"
        elif os.path.getsize(path) != truth.get("file_bytes"):
            reason = "size differs from the truth file"
    if reason is not None:
        print("generating %s (%s) ..." % (os.path.relpath(path), reason), flush=True)
        os.makedirs(out_dir, exist_ok=True)
        t0 = time.perf_counter()
        r = subprocess.run([gen, "--size", str(size), "--conns", str(conns),
                            "--seed", str(seed), "--deflate", str(deflate), path])
        if r.returncode != 0:
            die("the generator failed")
        print("  took %.1f s" % (time.perf_counter() - t0))
        with open(path + ".stamp", "w") as f:
            f.write(source_stamp() + "\n")
    with open(truth_path) as f:
        truth = json.load(f)
    return path, truth


def warm_cache(path):
    """Reads the file once so every tool starts with it in the page cache."""
    with open(path, "rb") as f:
        while f.read(1 << 22):
            pass


def truth_messages(truth):
    return truth["messages"]


# ---- counting runs ----

def count_wscope(wscope, path):
    """Runs wscope -r FILE --json once and counts its records."""
    c = {"connections": 0, "messages": 0, "warnings": 0, "compressed": 0,
         "by_dir": {d: collections.Counter() for d in ("c2s", "s2c")},
         "bytes": collections.Counter(), "fragmented": collections.Counter(),
         "warning_codes": collections.Counter(), "summary": None}
    with tempfile.TemporaryFile() as err:
        p = subprocess.Popen([wscope, "-r", path, "--json"], stdout=subprocess.PIPE,
                             stderr=err, stdin=subprocess.DEVNULL)
        first_warnings = []
        for line in p.stdout:
            if line.startswith(b'{"type":"message"'):
                r = json.loads(line)
                d = r["dir"]
                c["messages"] += 1
                c["by_dir"][d][r["opcode"]] += 1
                c["bytes"][d] += r["length"]
                if r.get("compressed"):
                    c["compressed"] += 1
                if r.get("frames", 1) > 1 and r["opcode"] in ("text", "binary"):
                    c["fragmented"][d] += 1
            elif line.startswith(b'{"type":"connection"'):
                c["connections"] += 1
            elif line.startswith(b'{"type":"warning"'):
                r = json.loads(line)
                c["warnings"] += 1
                c["warning_codes"][r["code"]] += 1
                if len(first_warnings) < 5:
                    first_warnings.append(line.decode("utf-8", "replace").strip())
        p.wait()
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    c["status"] = p.returncode
    c["first_warnings"] = first_warnings
    m = SUMMARY_RE.search(stderr)
    c["summary"] = stderr.strip().splitlines()[-1] if stderr.strip() else None
    c["summary_messages"] = int(m.group(3)) if m else None
    return c


def tshark_fields_argv(tshark, path):
    argv = [tshark, "-r", path, "-Y", "websocket", "-T", "fields"]
    for f in TSHARK_FIELDS:
        argv += ["-e", f]
    return argv


def count_tshark(tshark, path):
    """Runs the tshark -T fields command once and counts WebSocket frames
    (a packet lists every frame it completes, comma-separated)."""
    c = {"frames": collections.Counter(), "fin": 0, "masked": 0, "pmc": 0}
    with tempfile.TemporaryFile() as err:
        p = subprocess.Popen(tshark_fields_argv(tshark, path), stdout=subprocess.PIPE,
                             stderr=err, stdin=subprocess.DEVNULL, text=True)
        for line in p.stdout:
            f = line.rstrip("\n").split("\t")
            if len(f) < 5:
                continue
            for op in f[1].split(","):
                if op:
                    c["frames"][OPCODES.get(int(op), op)] += 1
            c["fin"] += f[2].split(",").count("1")
            c["masked"] += f[3].split(",").count("1")
            c["pmc"] += f[4].split(",").count("1")
        p.wait()
    c["status"] = p.returncode
    return c


def check_counts(truth, ws, ts):
    """Prints truth vs wscope vs tshark; returns (wscope_ok, tshark_ok)."""
    rows = []

    def row(what, t, w=None, s=None):
        rows.append((what, t, w, s))

    row("connections", truth["connections"], ws["connections"] if ws else None)
    row("messages", truth["messages"], ws["messages"] if ws else None,
        ts["fin"] if ts else None)
    for d in ("c2s", "s2c"):
        for op in MSG_OPCODES:
            row("  %s %s" % (d, op), truth[d]["messages"][op],
                ws["by_dir"][d][op] if ws else None)
    for d in ("c2s", "s2c"):
        row("  %s payload bytes" % d, truth[d]["payload_bytes"],
            ws["bytes"][d] if ws else None)
    for d in ("c2s", "s2c"):
        row("  %s fragmented" % d, truth[d]["fragmented_messages"],
            ws["fragmented"][d] if ws else None)
    row("compressed messages",
        truth["c2s"]["compressed_messages"] + truth["s2c"]["compressed_messages"],
        ws["compressed"] if ws else None, ts["pmc"] if ts else None)
    row("frames", truth["frames"], None, sum(ts["frames"].values()) if ts else None)
    for op in ["continuation"] + MSG_OPCODES:
        row("  %s frames" % op, truth["c2s"]["frames"][op] + truth["s2c"]["frames"][op],
            None, ts["frames"][op] if ts else None)
    row("masked frames", sum(truth["c2s"]["frames"].values()), None,
        ts["masked"] if ts else None)
    row("warnings", 0, ws["warnings"] if ws else None)

    def cell(t, v):
        if v is None:
            return "%12s" % "-"
        return "%12d%s" % (v, " " if v == t else "!")

    print("%-26s %12s  %13s %13s" % ("what the generator sent", "truth", "wscope", "tshark"))
    ws_ok = ts_ok = True
    for what, t, w, s in rows:
        print("%-26s %12d  %s %s" % (what, t, cell(t, w), cell(t, s)))
        if w is not None and w != t:
            ws_ok = False
        if s is not None and s != t:
            ts_ok = False
    print("(! marks a count that differs from the truth)")
    if ws:
        if ws["summary"]:
            print("wscope: " + ws["summary"].split(": ", 1)[-1])
        if ws["warnings"]:
            print("wscope warnings by code: %s" % dict(ws["warning_codes"]))
            for w in ws["first_warnings"]:
                print("  " + w[:300])
        if ws["status"] != 0:
            print("wscope exited with status %d" % ws["status"])
            ws_ok = False
    if ts and ts["status"] != 0:
        print("tshark exited with status %d" % ts["status"])
        ts_ok = False
    return ws_ok, ts_ok


# ---- report ----

def machine_info():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = "%.1f GiB" % (int(line.split()[1]) / 1024.0 / 1024.0)
                    break
    except OSError:
        pass
    return cpu, os.cpu_count(), mem


def summarize(runs):
    secs = [r.seconds for r in runs]
    return {"runs": len(runs), "best": min(secs), "median": statistics.median(secs),
            "cpu": min(r.cpu for r in runs), "rss_mib": max(r.rss_mib for r in runs),
            "all": secs}


def verdict(ok):
    return "MET" if ok else "MISSED"


def print_table(results, file_bytes, messages):
    print("%-16s %4s %9s %9s %9s %12s %9s %9s" % (
        "tool", "runs", "best s", "median s", "MB/s", "messages/s", "cpu s", "RSS MiB"))
    for name, s in results.items():
        print("%-16s %4d %9.3f %9.3f %9.1f %12.0f %9.3f %9.1f" % (
            name, s["runs"], s["best"], s["median"], file_bytes / 1e6 / s["best"],
            messages / s["best"], s["cpu"], s["rss_mib"]))
    print("(MB = 10^6 bytes of capture file; messages = the generator's; "
          "cpu = user+sys of the best run; RSS = peak over the runs)")


# ---- key log loading ----

KEYLOG_LABELS = ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                 "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET")
KEYLOG_SAMPLE = "wss-tls13"   # its own secrets go last: decryption is checked too


def ensure_keylog(out_dir, lines):
    """A key log of `lines` lines (TLS 1.3 connections of five secrets each,
    with random client randoms) followed by the sample's real secrets."""
    path = os.path.join(out_dir, "keylog-%d.keys" % lines)
    real = open(os.path.join(TOP, "samples", KEYLOG_SAMPLE + ".keys"), "rb").read()
    if os.path.exists(path) and os.path.getsize(path) > lines * 100:
        return path
    os.makedirs(out_dir, exist_ok=True)
    rnd = random.Random(lines)
    with open(path + ".tmp", "w") as f:
        for _ in range(lines // len(KEYLOG_LABELS)):
            cr = "%064x" % rnd.getrandbits(256)
            for lab in KEYLOG_LABELS:
                f.write("%s %s %064x\n" % (lab, cr, rnd.getrandbits(256)))
    with open(path + ".tmp", "ab") as f:
        f.write(real)
    os.replace(path + ".tmp", path)
    return path


def keylog_bench(a, out_dir, sizes, runs, tshark):
    """wscope -r on a small wss capture with key logs of growing length: the
    time the key log takes (minus the run with only the sample's own
    secrets), its memory, and the ratio between sizes (linear: the ratio of
    the lines). tshark with the same key logs, for comparison."""
    pcap = os.path.join(TOP, "samples", KEYLOG_SAMPLE + ".pcap")
    own = os.path.join(TOP, "samples", KEYLOG_SAMPLE + ".keys")
    base = summarize(measure("wscope, own keys", [a.wscope, "-r", pcap, "--keylog", own, "--json"], runs,
                             quiet=True))
    m = SUMMARY_RE.search(run_measured([a.wscope, "-r", pcap, "--keylog", own, "--json"]).stderr)
    want = int(m.group(3)) if m else None
    rows = []
    for n in sizes:
        kl = ensure_keylog(out_dir, n)
        warm_cache(kl)
        rs = measure("wscope %dk lines" % (n // 1000), [a.wscope, "-r", pcap, "--keylog", kl, "--json"],
                     runs, quiet=True)
        m = SUMMARY_RE.search(rs[-1].stderr)
        got = int(m.group(3)) if m else None
        row = {"lines": n, "bytes": os.path.getsize(kl), "wscope": summarize(rs), "messages": got}
        if tshark:
            t = summarize(measure("tshark %dk" % (n // 1000),
                                  [tshark, "-r", pcap, "-o", "tls.keylog_file:" + kl, "-Y", "websocket",
                                   "-T", "fields", "-e", "frame.number"], 1, quiet=True))
            row["tshark"] = t
        rows.append(row)
    print("%-10s %9s %12s %12s %12s %14s %10s %12s" % (
        "lines", "MB", "wscope s", "load s", "lines/s", "peak RSS MiB", "messages", "tshark s"))
    print("%-10s %9s %12.3f %12s %12s %14.1f %10s %12s" % (
        "(own)", "-", base["best"], "-", "-", base["rss_mib"], want, "-"))
    for r in rows:
        load = max(r["wscope"]["best"] - base["best"], 1e-6)
        print("%-10d %9.1f %12.3f %12.3f %12.0f %14.1f %10s %12s" % (
            r["lines"], r["bytes"] / 1e6, r["wscope"]["best"], load, r["lines"] / load,
            r["wscope"]["rss_mib"], r["messages"],
            "%.3f" % r["tshark"]["best"] if "tshark" in r else "-"))
        r["load_s"] = load
    ok = all(r["messages"] == want for r in rows)
    ratio = rows[-1]["load_s"] / rows[0]["load_s"] if len(rows) > 1 else None
    return {"rows": rows, "base": base, "messages": want, "ratio": ratio, "ok": ok}


def main():
    ap = argparse.ArgumentParser(
        description="Benchmark wscope against a bare libpcap read and tshark.")
    ap.add_argument("--wscope", default=os.environ.get("WSCOPE", os.path.join(BUILD, "wscope")))
    ap.add_argument("--floor", default=os.environ.get("BENCH_FLOOR",
                                                      os.path.join(BUILD, "bench", "floor")))
    ap.add_argument("--gen", default=os.environ.get("BENCH_GEN", os.path.join(BUILD, "bench", "gen")))
    ap.add_argument("--measure", default=os.environ.get("BENCH_MEASURE",
                                                        os.path.join(BUILD, "bench", "measure")))
    ap.add_argument("--tshark", default=os.environ.get("TSHARK", "tshark"))
    ap.add_argument("--out", default=os.path.join(HERE, "out"),
                    help="where captures go (default bench/out)")
    ap.add_argument("--size", type=int, default=None, help="capture size in MB (default 200)")
    ap.add_argument("--conns", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--deflate", type=int, default=50,
                    help="%% of connections with permessage-deflate (default 50)")
    ap.add_argument("--runs-floor", type=int, default=None)
    ap.add_argument("--runs-wscope", type=int, default=None)
    ap.add_argument("--runs-tshark-fields", type=int, default=None)
    ap.add_argument("--runs-tshark-json", type=int, default=None)
    ap.add_argument("--quick", action="store_true",
                    help="20 MB capture, one run each, no tshark -T json")
    ap.add_argument("--no-tshark", action="store_true", help="skip tshark entirely")
    ap.add_argument("--no-count", action="store_true", help="skip the counting runs")
    ap.add_argument("--scale", action="store_true",
                    help="also wscope's peak RSS on %d MB and %d MB captures" % SCALE_SIZES)
    ap.add_argument("--adversarial", metavar="DIR",
                    help="also wscope's time and peak RSS on every capture in DIR")
    ap.add_argument("--keylog-lines", type=int, nargs="*", default=None, metavar="N",
                    help="key log sizes (lines) to load (default 1000000 2000000; none: skip)")
    ap.add_argument("--json-out", metavar="PATH",
                    help="where the results go as JSON (default: next to the capture, "
                         "CAPTURE.results.json)")
    a = ap.parse_args()

    runs = {"floor": 5, "wscope": 3, "fields": 1, "json": 1}
    if a.quick:
        runs = {"floor": 2, "wscope": 1, "fields": 1, "json": 0}
    for k, v in (("floor", a.runs_floor), ("wscope", a.runs_wscope),
                 ("fields", a.runs_tshark_fields), ("json", a.runs_tshark_json)):
        if v is not None:
            runs[k] = v
    size = a.size if a.size is not None else (20 if a.quick else 200)

    global MEASURE
    MEASURE = a.measure
    for name, path in (("wscope", a.wscope), ("floor", a.floor), ("gen", a.gen),
                       ("measure", a.measure)):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            die("%s not found at %s (build it: make bench, or pass --%s)" % (name, path, name))
    tshark = None if a.no_tshark else shutil.which(a.tshark)
    if not a.no_tshark and tshark is None:
        print("bench: tshark not found: the tshark rows are skipped", file=sys.stderr)

    cpu, ncpu, mem = machine_info()
    print("== wscope benchmark")
    print("date:     %s" % datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    print("machine:  %s, %d CPUs, %s RAM, %s %s" % (cpu, ncpu, mem, platform.system(),
                                                   platform.release()))
    print("wscope:   %s (%s)" % (tool_version([a.wscope, "--version"]), os.path.abspath(a.wscope)))
    print("libpcap:  %s" % tool_version([a.floor, "--version"]))
    if tshark:
        print("tshark:   %s" % tool_version([tshark, "--version"]))
    print("gen:      %s" % tool_version([a.gen, "--version"]))
    print()

    path, truth = ensure_capture(a.gen, a.out, size, a.conns, a.seed, a.deflate)
    fbytes = os.path.getsize(path)
    msgs = truth_messages(truth)
    print("capture:  %s: %.1f MB, %d packets, %d connections (%d with permessage-deflate, "
          "%d open at once), %d messages, %d frames" % (
              os.path.relpath(path), fbytes / 1e6, truth["packets"], truth["connections"],
              truth["deflate_connections"], truth["max_open"], msgs, truth["frames"]))
    warm_cache(path)
    print("(the file is read once before timing: all times are with a warm page cache)")
    print()

    cmds = collections.OrderedDict()
    cmds["floor"] = ([a.floor, path], runs["floor"])
    cmds["wscope"] = ([a.wscope, "-r", path, "--json"], runs["wscope"])
    if tshark:
        cmds["tshark fields"] = (tshark_fields_argv(tshark, path), runs["fields"])
        cmds["tshark json"] = ([tshark, "-r", path, "-Y", "websocket", "-T", "json"], runs["json"])
    print("commands (standard output to /dev/null):")
    for name, (argv, n) in cmds.items():
        print("  %-14s x%d  %s" % (name, n, " ".join(argv)))
    print(flush=True)

    results = collections.OrderedDict()
    for name, (argv, n) in cmds.items():
        if n > 0:
            results[name] = summarize(measure(name, argv, n))
    print()

    ws_ok = ts_ok = None
    if not a.no_count:
        print("== counting runs (wscope -r FILE --json, and the tshark -T fields command, "
              "read back)", flush=True)
        ws = count_wscope(a.wscope, path)
        ts = count_tshark(tshark, path) if tshark else None
        ws_ok, ts_ok = check_counts(truth, ws, ts)
        if ts is None:
            ts_ok = None
        print()

    print("== results: %s, %.1f MB, %d packets, %d messages" % (
        os.path.basename(path), fbytes / 1e6, truth["packets"], msgs))
    print_table(results, fbytes, msgs)
    print()

    targets = []
    w = results["wscope"]
    if "floor" in results:
        r = w["best"] / results["floor"]["best"]
        targets.append(("wscope / floor", "%.2fx" % r, "<= %gx" % TARGET_FLOOR_RATIO,
                        r <= TARGET_FLOOR_RATIO))
    if "tshark fields" in results:
        r = results["tshark fields"]["best"] / w["best"]
        targets.append(("tshark fields / wscope", "%.1fx" % r, ">= %gx" % TARGET_FIELDS_RATIO,
                        r >= TARGET_FIELDS_RATIO))
    if "tshark json" in results:
        r = results["tshark json"]["best"] / w["best"]
        targets.append(("tshark json / wscope", "%.1fx" % r, ">= %gx" % TARGET_JSON_RATIO,
                        r >= TARGET_JSON_RATIO))
    targets.append(("wscope peak RSS", "%.1f MiB" % w["rss_mib"], "< %g MiB" % TARGET_RSS_MIB,
                    w["rss_mib"] < TARGET_RSS_MIB))
    if ws_ok is not None:
        targets.append(("wscope messages = truth", "yes" if ws_ok else "NO", "every message",
                        ws_ok))
    if ts_ok is not None:
        targets.append(("tshark messages = truth", "yes" if ts_ok else "NO", "every message",
                        ts_ok))

    scale = None
    if a.scale:
        print("== --scale: wscope's peak RSS against the capture's length (%d connections)"
              % a.conns, flush=True)
        scale = []
        for sz in SCALE_SIZES:
            p, t = ensure_capture(a.gen, a.out, sz, a.conns, a.seed, a.deflate)
            warm_cache(p)
            rs = measure("wscope %dM" % sz, [a.wscope, "-r", p, "--json"], max(1, runs["wscope"]))
            m = SUMMARY_RE.search(rs[-1].stderr)
            found = int(m.group(3)) if m else None
            s = summarize(rs)
            scale.append((sz, p, t, s, found))
        print("%-22s %9s %10s %10s %9s %12s" % ("capture", "MB", "packets", "messages", "best s",
                                                "peak RSS MiB"))
        for sz, p, t, s, found in scale:
            print("%-22s %9.1f %10d %10d %9.3f %12.1f%s" % (
                os.path.basename(p), t["file_bytes"] / 1e6, t["packets"], t["messages"],
                s["best"], s["rss_mib"],
                "" if found == t["messages"] else "  (wscope found %s messages!)" % found))
        small, large = scale[0][3]["rss_mib"], scale[-1][3]["rss_mib"]
        targets.append(("RSS %dM vs %dM" % (SCALE_SIZES[1], SCALE_SIZES[0]),
                        "%.1f vs %.1f MiB" % (large, small),
                        "no more (+%g MiB)" % SCALE_TOLERANCE_MIB,
                        large <= small + SCALE_TOLERANCE_MIB))
        print()

    adversarial = None
    if a.adversarial:
        print("== --adversarial %s: wscope -r F --json >/dev/null" % a.adversarial, flush=True)
        files = sorted(f for f in os.listdir(a.adversarial)
                       if f.endswith((".pcap", ".pcapng")))
        if not files:
            print("  no .pcap or .pcapng files there")
        adversarial = []
        print("%-36s %9s %9s %12s %6s %9s %9s" % ("capture", "MB", "seconds", "peak RSS MiB",
                                                  "exit", "messages", "warnings"))
        for f in files:
            p = os.path.join(a.adversarial, f)
            r = run_measured([a.wscope, "-r", p, "--json"])
            m = SUMMARY_RE.search(r.stderr)
            adversarial.append({"file": f, "bytes": os.path.getsize(p), "seconds": r.seconds,
                                "rss_mib": r.rss_mib, "status": r.status,
                                "messages": int(m.group(3)) if m else None,
                                "warnings": int(m.group(4)) if m else None})
            print("%-36s %9.1f %9.3f %12.1f %6d %9s %9s%s" % (
                f[:36], os.path.getsize(p) / 1e6, r.seconds, r.rss_mib, r.status,
                m.group(3) if m else "-", m.group(4) if m else "-",
                "  RSS over %g MiB" % TARGET_RSS_MIB if r.rss_mib >= TARGET_RSS_MIB else ""),
                flush=True)
        if adversarial:
            worst = max(x["rss_mib"] for x in adversarial)
            targets.append(("adversarial peak RSS", "%.1f MiB (worst)" % worst,
                            "< %g MiB" % TARGET_RSS_MIB, worst < TARGET_RSS_MIB))
        print()

    keylog = None
    kl_sizes = a.keylog_lines if a.keylog_lines is not None else [1000000, 2000000]
    if kl_sizes:
        print("== key log loading: wscope -r samples/%s.pcap --keylog FILE --json, FILE a key log of "
              "N lines with the sample's own secrets last" % KEYLOG_SAMPLE, flush=True)
        keylog = keylog_bench(a, a.out, sorted(kl_sizes), max(1, runs["wscope"]), tshark)
        biggest = keylog["rows"][-1]
        targets.append(("key log %dM lines" % (biggest["lines"] // 1000000) if biggest["lines"] >= 1000000
                        else "key log %d lines" % biggest["lines"],
                        "%.2f s, %.0f MiB" % (biggest["load_s"], biggest["wscope"]["rss_mib"]),
                        "decrypts", keylog["ok"]))
        if keylog["ratio"] is not None:
            lines_ratio = keylog["rows"][-1]["lines"] / keylog["rows"][0]["lines"]
            targets.append(("key log time ratio", "%.2fx for %.0fx lines" % (keylog["ratio"], lines_ratio),
                            "<= %.1fx (linear)" % (lines_ratio * 1.5),
                            keylog["ratio"] <= lines_ratio * 1.5))
        print()

    print("== targets")
    for what, got, want, ok in targets:
        print("%-26s %-22s %-18s %s" % (what, got, want, verdict(ok)))
    if not a.scale:
        print("%-26s %-22s %-18s %s" % ("RSS independent of length", "-", "(run with --scale)",
                                        "not measured"))

    out = a.json_out or path[:-len(".pcap")] + ".results.json"
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"capture": path, "file_bytes": fbytes, "truth": truth, "keylog": keylog,
                   "cpu": cpu, "ncpu": ncpu,
                   "results": results,
                   "targets": [{"what": t[0], "got": t[1], "want": t[2], "met": t[3]}
                               for t in targets],
                   "scale": [{"size_mb": s[0], "best": s[3]["best"], "rss_mib": s[3]["rss_mib"],
                              "messages_found": s[4]} for s in scale] if scale else None,
                   "adversarial": adversarial}, f, indent=1)
    print("\n(results also in %s)" % os.path.relpath(out))


if __name__ == "__main__":
    main()
