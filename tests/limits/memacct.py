#!/usr/bin/env python3
"""Memory accounting: the end-of-run summary's memory figures against what
the kernel says the process used.

For every capture of the hostile suite (adversarial.py --small), at the
default limits and with --memcap 4M, wscope runs with NDJSON export and a
preloaded probe (peakmem.c) that records, at exit, the peak resident size
and the file-backed part of it. The peak of anonymous memory (VmHWM minus
the file-backed and shared pages: the binary and its libraries) minus the
same peak on an empty capture is what the run made wscope hold. The
summary's "N in all with working buffers", minus the same figure on the
empty capture, must be within 10 % of it, or within 512 KiB for the runs
that hold little: what no count of wscope's own structures can see (the
state libcrypto and zlib set up on first use, the pages of their data
written, the allocator's own slack) measures 0.05 to 0.35 MiB on the
ordinary samples. With --memcap 4M the process must also stay within the
cap plus its working buffers.

Needs a wscope built without sanitizers (their shadow memory and
quarantine are not wscope's): tools/test.sh builds one in build-plain/.
Environment: WSCOPE (the binary), top_srcdir, CC (default cc).
Prints one line per case, a table, and 'N passed, M failed'; exits non-zero
on any failure.
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.environ.get("top_srcdir") or os.path.join(HERE, "..", ".."))
WSCOPE = os.environ.get("WSCOPE") or os.path.join(TOP, "build-plain", "wscope")
TMP = tempfile.mkdtemp(prefix="wscope-memacct-")
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import adversarial  # noqa: E402

MB = 1 << 20
SLACK = 512 * 1024          # what the accounting cannot see (see above)
SUMMARY = re.compile(r"peak memory held (\d+) bytes \(memcap (\d+)\), (\d+) in all with working buffers")

results = []


def case(name, ok, detail=""):
    results.append((name, bool(ok)))
    print(("ok     " if ok else "FAIL   ") + name + ("" if ok else "\n         " + str(detail)[:1500]),
          flush=True)


def build_probe():
    so = os.path.join(TMP, "peakmem.so")
    cc = os.environ.get("CC") or "cc"
    subprocess.run([cc, "-O2", "-shared", "-fPIC", "-o", so, os.path.join(HERE, "peakmem.c")], check=True)
    return so


def sanitized(binary):
    out = subprocess.run(["ldd", binary], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
    return any(x in out for x in ("libasan", "libubsan", "libtsan", "libmsan"))


def run(probe, pcap, extra):
    status = os.path.join(TMP, "status")
    if os.path.exists(status):
        os.unlink(status)
    env = dict(os.environ, LD_PRELOAD=probe, WSCOPE_PEAKMEM_OUT=status)
    r = subprocess.run([WSCOPE, "-r", pcap, "--json=" + os.path.join(TMP, "out.ndjson")] + extra,
                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=300)
    with open(status) as f:
        s = f.read()

    def kb(k):
        return int(re.search(k + r":\s+(\d+) kB", s).group(1)) * 1024
    m = SUMMARY.search(r.stderr)
    if r.returncode != 0 or m is None:
        raise RuntimeError("%s %s: exit %d, no memory summary: %s" % (pcap, extra, r.returncode, r.stderr[-600:]))
    return {"anon": kb("VmHWM") - kb("RssFile") - kb("RssShmem"), "held": int(m.group(1)),
            "memcap": int(m.group(2)), "all": int(m.group(3))}


def main():
    if not os.access(WSCOPE, os.X_OK):
        case("memacct: wscope binary %s" % WSCOPE, False, "not found; tools/test.sh builds build-plain/")
        return 1
    if sanitized(WSCOPE):
        case("memacct: %s is built without sanitizers" % WSCOPE, False,
             "a sanitizer's shadow memory and quarantine would be measured, not wscope's; "
             "use a plain build (tools/test.sh builds build-plain/)")
        return 1
    probe = build_probe()
    adversarial.generate(TMP, small=True)
    empty = os.path.join(TMP, "empty.pcap")
    with open(empty, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
    caps = sorted(n for n in os.listdir(TMP) if n.endswith(".pcap") and n != "empty.pcap")
    rows = []
    for label, extra in (("default limits", []), ("--memcap 4M", ["--memcap", "4M"])):
        base = run(probe, empty, extra)
        for n in caps:
            r = run(probe, os.path.join(TMP, n), extra)
            got = r["all"] - base["all"]
            want = r["anon"] - base["anon"]
            bound = max(want // 10, SLACK)
            rows.append((n, label, want, got, r["held"], r["all"] - r["held"]))
            case("%s, %s: summary's memory in all %.2f MiB above an empty capture's, the process's peak "
                 "anonymous memory %.2f MiB above its: within %.2f MiB (10%% or 512 KiB)" % (
                     n, label, got / MB, want / MB, bound / MB),
                 abs(got - want) <= bound, (r, base))
            if extra:
                room = r["memcap"] + (r["all"] - r["held"]) + SLACK
                case("%s, %s: the process held at most the cap plus its working buffers "
                     "(%.2f MiB <= %.2f MiB)" % (n, label, want / MB, room / MB), want <= room, (r, base))
    print("\n%-18s %-15s %12s %12s %8s %12s %12s" % ("capture", "limits", "process MiB", "summary MiB",
                                                    "diff", "flows MiB", "buffers MiB"))
    for n, label, want, got, held, work in rows:
        print("%-18s %-15s %12.2f %12.2f %+7.1f%% %12.2f %12.2f" % (
            n, label, want / MB, got / MB, 100.0 * (got - want) / want if want else 0.0, held / MB, work / MB))
    bad = sum(1 for _, ok in results if not ok)
    print("%d passed, %d failed" % (len(results) - bad, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    try:
        rc = main()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(rc)
