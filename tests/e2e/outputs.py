"""Outputs that must not hurt: -w or --json naming the capture being read
(by any name) is refused before anything is truncated; NDJSON that holds
decrypted data is created (or made) 0600; -Z applies to -r too, once the
file and the outputs are open (checked in /proc while it reads)."""
import hashlib
import os
import shutil
import stat
import subprocess
import time


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def run(e2e):
    d = os.path.join(e2e.TMP, "outputs")
    os.makedirs(d, exist_ok=True)
    src = os.path.join(e2e.TOP, "samples", "ws-node.pcap")
    inp = os.path.join(d, "in.pcap")
    shutil.copyfile(src, inp)
    before = sha(inp)
    os.symlink(inp, os.path.join(d, "sym.pcap"))
    os.link(inp, os.path.join(d, "hard.pcap"))
    for args, what in ((["-w", inp], "-w the input"), (["--json=" + inp], "--json= the input"),
                       (["-w", os.path.join(d, "sym.pcap")], "-w a symlink to it"),
                       (["--json=" + os.path.join(d, "hard.pcap")], "--json= a hard link to it"),
                       (["--json=" + os.path.join(d, ".", "in.pcap")], "--json= ./in.pcap")):
        p = subprocess.run([e2e.WSCOPE, "-r", inp] + args, capture_output=True, text=True, timeout=60)
        e2e.case("%s: refused (status 2, says why), the capture untouched" % what,
                 p.returncode == 2 and "capture being read" in p.stderr and sha(inp) == before,
                 "status %d: %s" % (p.returncode, p.stderr[-300:]))

    keys = os.path.join(e2e.TOP, "samples", "wss-tls13.keys")
    cap = os.path.join(e2e.TOP, "samples", "wss-tls13.pcap")
    out = os.path.join(d, "dec.ndjson")
    p = subprocess.run([e2e.WSCOPE, "-r", cap, "--keylog", keys, "--json=" + out, "-q"], capture_output=True,
                       timeout=60)
    mode = stat.S_IMODE(os.stat(out).st_mode)
    e2e.case("--json=FILE with a key log (decrypted data): created 0600 (is %o)" % mode,
             p.returncode == 0 and mode == 0o600, "")
    old = os.path.join(d, "old.ndjson")
    with open(old, "w") as f:
        f.write("x\n")
    os.chmod(old, 0o644)
    p = subprocess.run([e2e.WSCOPE, "-r", cap, "--json=" + old, "-q"], capture_output=True, timeout=60,
                       env=dict(os.environ, SSLKEYLOGFILE=keys))
    mode = stat.S_IMODE(os.stat(old).st_mode)
    e2e.case("--json=FILE over an existing 0644 file with SSLKEYLOGFILE: made 0600 before writing (is %o)" % mode,
             p.returncode == 0 and mode == 0o600, "")

    if os.geteuid() != 0:
        e2e.case("-Z with -r needs root to test", False, "not root")
        return
    fifo = os.path.join(d, "slow.pcap")
    os.mkfifo(fifo)
    w = subprocess.Popen([e2e.WSCOPE, "-r", fifo, "-Z", "nobody", "--json=" + os.path.join(d, "z.ndjson")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with open(src, "rb") as f:
        data = f.read()
    uid = None
    with open(fifo, "wb") as f:
        f.write(data[:len(data) // 2])  # more than the 64 KiB wscope peeks at before it starts
        f.flush()
        for _ in range(30):
            time.sleep(0.1)
            try:
                with open("/proc/%d/status" % w.pid) as s:
                    for line in s:
                        if line.startswith("Uid:"):
                            uid = line.split()[1:]
            except OSError:
                pass
            if uid and uid[0] != "0":
                break
        f.write(data[len(data) // 2:])
    w.wait(timeout=30)
    se = w.stderr.read().decode("utf-8", "replace")
    e2e.case("-r FILE -Z nobody: reads the file as nobody once it is open (uid in /proc: %s)" % uid,
             w.returncode == 0 and uid is not None and all(u == "65534" for u in uid), se[-300:])
