"""Outputs that must not hurt: -w or --json naming the capture being read
(by any name) is refused before anything is truncated; NDJSON that holds
decrypted data is created (or made) 0600; -Z applies to -r too, once the
file and the outputs are open (checked in /proc while it reads); a full
disk (a tiny tmpfs, out of blocks or out of inodes) under --dump-streams,
-w and --json=FILE is an error naming the file, status 1, and index.tsv
never claims bytes for a stream file that was not written whole."""
import contextlib
import hashlib
import os
import signal
import re
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

    # the input given as standard input
    with open(inp, "rb") as f:
        p = subprocess.run([e2e.WSCOPE, "-r", "-", "-w", os.path.join(d, "hard.pcap")], stdin=f,
                           capture_output=True, text=True, timeout=60)
    e2e.case("-r - < FILE -w FILE (by a hard link): refused, the capture untouched",
             p.returncode == 2 and "capture being read" in p.stderr and sha(inp) == before,
             "status %d: %s" % (p.returncode, p.stderr[-300:]))
    # two outputs into one file, one not there yet; both on standard output
    newf = os.path.join(d, "both.out")
    for args, what in ((["-w", newf, "--json=" + os.path.join(d, ".", "both.out")], "-w F --json=./F (new)"),
                       (["-w", "-", "--json"], "-w - --json")):
        p = subprocess.run([e2e.WSCOPE, "-r", inp] + args, capture_output=True, timeout=60)
        err = p.stderr.decode("utf-8", "replace")
        e2e.case("%s: refused before anything is written (status 2, says why)" % what,
                 p.returncode == 2 and not os.path.exists(newf) and p.stdout == b"" and
                 ("same file" in err or "standard output" in err), "status %d: %s" % (p.returncode, err[-300:]))
    p = subprocess.run([e2e.WSCOPE, "-r", inp, "-w", "-"], capture_output=True, timeout=60)
    e2e.case("-w - alone: the pcap on standard output, nothing else there (it reads back)",
             p.returncode == 0 and p.stdout[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1",
                                                 b"\xa1\xb2\x3c\x4d") and
             subprocess.run([e2e.WSCOPE, "-r", "-", "-q", "--json"], input=p.stdout, capture_output=True).returncode == 0,
             p.stderr.decode("utf-8", "replace")[-300:])
    p = subprocess.run([e2e.WSCOPE, "-r", inp, "--json=" + os.path.join(d, "nodir", "x.ndjson")],
                       capture_output=True, text=True, timeout=60)
    e2e.case("--json=PATH that cannot be created: status 1, the flag and the path named",
             p.returncode == 1 and "--json=" in p.stderr and "nodir" in p.stderr, p.stderr[-300:])

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

    full_disk(e2e, d, src)

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

    # live under sudo (SUDO_UID): runs as the invoking user, whose the files
    # it created are; -Z nobody keeps the stricter separation
    for env_extra, args, want_uid, owner in (({"SUDO_UID": "1"}, [], "1", 1),
                                             ({"SUDO_UID": "1"}, ["-Z", "nobody"], "65534", 0)):
        js = os.path.join(d, "sudo-%s.ndjson" % want_uid)
        wp = os.path.join(d, "sudo-%s.pcap" % want_uid)
        w = subprocess.Popen([e2e.WSCOPE, "-i", "lo", "--json=" + js, "-w", wp] + args + ["tcp port 9"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ, **env_extra))
        uid = None
        for _ in range(50):
            time.sleep(0.1)
            try:
                with open("/proc/%d/status" % w.pid) as st:
                    uid = [l.split()[1:] for l in st if l.startswith("Uid:")][0]
            except (OSError, IndexError):
                pass
            if uid and uid[0] != "0":
                break
        w.send_signal(signal.SIGINT)
        w.wait(timeout=10)
        se = w.stderr.read().decode("utf-8", "replace")
        owners = [os.stat(x).st_uid if os.path.exists(x) else None for x in (js, wp)]
        e2e.case("live, SUDO_UID=1%s: runs as uid %s after opening (uid in /proc: %s), and --json/-w files are "
                 "owned by uid %d" % (" -Z nobody" if args else "", want_uid, uid, owner),
                 w.returncode == 0 and uid is not None and all(u == want_uid for u in uid) and
                 owners == [owner, owner], "owners %s; %s" % (owners, se[-300:]))


# ------------------------------------------------------------- a full disk

@contextlib.contextmanager
def tmpfs(path, opts):
    """A tiny tmpfs mounted at path (made if needed), always unmounted."""
    os.makedirs(path, exist_ok=True)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", path], capture_output=True, text=True)
    if p.returncode != 0:
        raise OSError("mount -t tmpfs -o %s: %s" % (opts, p.stderr.strip()))
    try:
        yield path
    finally:
        if subprocess.run(["umount", path], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", path], capture_output=True)
        try:
            os.rmdir(path)
        except OSError:
            pass


def read_index(sdir):
    """index.tsv of a --dump-streams directory: (raw bytes, rows, comment
    lines); each row is the list of its tab-separated fields."""
    try:
        with open(os.path.join(sdir, "index.tsv"), "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return None, [], []
    rows, comments = [], []
    for line in raw.decode("utf-8", "replace").split("\n")[1:]:
        if line.startswith("#"):
            comments.append(line)
        elif line:
            rows.append(line.split("\t"))
    return raw, rows, comments


def index_lies(sdir, ref):
    """What index.tsv in sdir says that is not so: every row must be whole
    (the header first, ten fields, a newline at the end), and a row may
    only claim a file that holds exactly the bytes it claims, which are the
    whole stream (ref: file name -> the stream's bytes, from a dump the
    endpoint logs vouch for). A direction whose file is incomplete may only
    be mentioned in a comment line (#)."""
    raw, rows, _ = read_index(sdir)
    errs = []
    if not raw:
        return errs  # an empty or missing index claims nothing
    if not raw.endswith(b"\n"):
        errs.append("the last line is cut: %r" % raw.rsplit(b"\n", 1)[-1][:120])
    if not raw.startswith(b"flow\tdir\tsrc\tdst\tbytes\tgaps\tgap_bytes\tend\tsyn\tfile\n"):
        errs.append("no header line: %r" % raw[:80])
    for r in rows:
        if len(r) != 10:
            errs.append("row with %d fields: %r" % (len(r), "\t".join(r)[:160]))
            continue
        fname, claimed = r[9], r[4]
        path = os.path.join(sdir, fname)
        have = None
        if os.path.isfile(path) and not os.path.islink(path):
            with open(path, "rb") as f:
                have = f.read()
        want = ref.get(fname)
        if have is None:
            errs.append("%s: claims %s bytes, the file does not exist" % (fname, claimed))
        elif want is None:
            errs.append("%s: not a direction of the capture" % fname)
        elif not claimed.isdigit() or int(claimed) != len(want) or have != want:
            errs.append("%s: claims %s bytes, the file holds %d (the stream has %d%s)" % (
                fname, claimed, len(have), len(want), "" if have == want[:len(have)] else ", and differs"))
    return errs


def ref_streams(e2e, src):
    """The directions of src as --dump-streams writes them on a disk with
    room, checked against the endpoint logs first: file name -> bytes."""
    log = src[: -len(".pcap")] + ".endpoints.jsonl.gz"
    errors, se, _ = e2e.compare_with_log(src, log)
    if errors:
        return None, "the reference dump differs from the endpoint logs: %s" % "; ".join(errors[:3])
    sdir = os.path.join(e2e.TMP, "dump")  # where compare_with_log's dump() wrote
    _, rows, _ = read_index(sdir)
    ref = {}
    for r in rows:
        with open(os.path.join(sdir, r[9]), "rb") as f:
            ref[r[9]] = f.read()
    return ref, ""


def full_disk(e2e, d, src):
    if os.geteuid() != 0:
        e2e.case("a full disk (--dump-streams, -w, --json=FILE on a tiny tmpfs) needs root to test (mount)", False,
                 "not root: run the suite as root")
        return
    ref, why = ref_streams(e2e, src)
    misc = os.path.join(e2e.TOP, "samples", "ws-misc.pcap")
    ref_misc, why_misc = ref_streams(e2e, misc)
    if ref is None or ref_misc is None:
        e2e.case("--dump-streams on a full disk: the reference dumps", False, why or why_misc)
        return
    total = sum(len(v) for v in ref.values())
    page = os.sysconf("SC_PAGE_SIZE")
    # tmpfs gives whole pages: the stream files of ws-misc.pcap alone fill
    # this one, so any page index.tsv needs is one too many
    pages = sum((len(v) + page - 1) // page for v in ref_misc.values())
    for cap, sref, opts, what in (
            (src, ref, "size=64k", "a 64 KiB tmpfs (the %d stream bytes do not fit)" % total),
            (src, ref, "size=1m,nr_inodes=6", "a tmpfs out of inodes after 4 of the %d files" % len(ref)),
            (misc, ref_misc, "size=%dk" % (pages * page // 1024),
             "a tmpfs the size of ws-misc.pcap's %d stream files alone (%d KiB, nothing left for "
             "index.tsv)" % (len(ref_misc), pages * page // 1024))):
        try:
            with tmpfs(os.path.join(e2e.TMP, "wsfull"), opts) as mnt:
                sd = os.path.join(mnt, "streams")
                try:
                    p = subprocess.run([e2e.WSCOPE, "-r", cap, "--dump-streams", sd, "--no-flows"],
                                       capture_output=True, text=True, timeout=60)
                    rc, se = p.returncode, p.stderr
                except subprocess.TimeoutExpired:
                    rc, se = None, "hung: still running after 60 s"
                named = re.findall(r"^wscope: %s/([^/\n]+): No space left on device$" % re.escape(sd), se, re.M)
                e2e.case("--dump-streams DIR on %s: status 1, stderr names the file it could not write and "
                         "says 'No space left on device' (named: %s)" % (what, named),
                         rc == 1 and bool(named) and all(n in sref or n == "index.tsv" for n in named),
                         "status %s\n%s" % (rc, se[-400:]))
                lies = index_lies(sd, sref)
                raw, rows, comments = read_index(sd)
                e2e.case("--dump-streams DIR on %s: index.tsv claims no bytes for a file that was not written "
                         "whole (%d rows, %d comment lines)" % (what, len(rows), len(comments)),
                         rc is not None and not lies, "; ".join(lies[:6]) + "\nindex.tsv:\n" +
                         (raw or b"").decode("utf-8", "replace")[-1200:])
                bad = []
                for fname in sorted(os.listdir(sd)) if os.path.isdir(sd) else []:
                    if fname == "index.tsv":
                        continue
                    with open(os.path.join(sd, fname), "rb") as f:
                        have = f.read()
                    if fname not in sref or have != sref[fname][:len(have)]:
                        bad.append("%s (%d bytes)" % (fname, len(have)))
                e2e.case("--dump-streams DIR on %s: each stream file holds the first bytes of its stream, "
                         "nothing else" % what, rc is not None and not bad, "not a prefix: %s" % bad)
        except OSError as ex:
            e2e.case("--dump-streams on %s: tmpfs mounted" % what, False, str(ex))

    # -w and --json=FILE with -r on a full tmpfs: the path and why, status 1
    for args, name, what in ((["-w"], "out.pcap", "-w FILE"), ([], "out.ndjson", "--json=FILE")):
        try:
            with tmpfs(os.path.join(e2e.TMP, "wsfull"), "size=64k") as mnt:
                out = os.path.join(mnt, name)
                argv = [e2e.WSCOPE, "-r", src, "-q"] + (args + [out] if args else ["--json=" + out])
                try:
                    p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
                    rc, se = p.returncode, p.stderr
                except subprocess.TimeoutExpired:
                    rc, se = None, "hung: still running after 60 s"
                said = [l for l in se.splitlines() if out in l and "No space left on device" in l]
                e2e.case("-r %s with FILE on a 64 KiB tmpfs (the output does not fit), -q: status 1, one line "
                         "with the path and 'No space left on device'" % what,
                         rc == 1 and len(said) == 1, "status %s\n%s" % (rc, se[-400:]))
        except OSError as ex:
            e2e.case("-r %s on a full tmpfs: tmpfs mounted" % what, False, str(ex))
