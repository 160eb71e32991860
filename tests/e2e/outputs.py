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

    # --dump-streams into a directory with a symlink planted at a stream's
    # name: the link is replaced, its target never written
    sd = os.path.join(d, "streams")
    os.makedirs(sd)
    target = os.path.join(d, "target.txt")
    with open(target, "w") as f:
        f.write("secret\n")
    os.chmod(target, 0o600)
    os.symlink(target, os.path.join(sd, "1-127.0.0.1.56404-127.0.0.1.9701"))
    os.symlink(target, os.path.join(sd, "index.tsv"))
    p = subprocess.run([e2e.WSCOPE, "-r", src, "--dump-streams", sd, "-q"], capture_output=True, text=True,
                       timeout=60)
    with open(target) as f:
        intact = f.read() == "secret\n"
    name = os.path.join(sd, "1-127.0.0.1.56404-127.0.0.1.9701")
    e2e.case("--dump-streams with symlinks planted at a stream's name and at index.tsv: not followed (the "
             "target is intact), the files are written in their place",
             p.returncode == 0 and intact and not os.path.islink(name) and os.path.getsize(name) > 0
             and not os.path.islink(os.path.join(sd, "index.tsv")), p.stderr[-300:])

    if os.geteuid() != 0:
        e2e.case("-Z with -r needs root to test", False, "not root")
        return
    # -Z nobody with a --dump-streams directory wscope creates: handed over
    # before the drop, so the streams are still written
    sd2 = os.path.join(d, "streams-nobody")
    os.chmod(d, 0o755)
    p = subprocess.run([e2e.WSCOPE, "-r", src, "-Z", "nobody", "--dump-streams", sd2, "-q"], capture_output=True,
                       text=True, timeout=60)
    n = len(os.listdir(sd2)) if os.path.isdir(sd2) else 0
    e2e.case("-r -Z nobody --dump-streams NEWDIR: the directory is given to nobody before the drop and every "
             "stream is written (%d files)" % n, p.returncode == 0 and n == 7, p.stderr[-300:])
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
