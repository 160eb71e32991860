#!/bin/bash -eu
# OSS-Fuzz build script (the project's build.sh runs it: $SRC/wscope/tests/ossfuzz.sh).
#
# Uses what OSS-Fuzz defines: $CC and $CFLAGS (the sanitizer and coverage
# flags), $LIB_FUZZING_ENGINE (the engine to link), $SRC (where the sources
# are: the tree is the one this script is in, $SRC/wscope there) and $OUT
# (where the targets go); the build goes to $WORK/build-ossfuzz when $WORK
# is set, else to build-ossfuzz in the tree.
# Builds every tests/fuzz/fuzz_*.c target with --enable-fuzztargets (which
# links $LIB_FUZZING_ENGINE and adds no sanitizer flags of its own), and
# puts in $OUT for each target:
#   fuzz_<t>                  the target
#   fuzz_<t>_seed_corpus.zip  seeds made from samples/ by tests/fuzz/mkseeds.py
#   fuzz_<t>.dict             its libFuzzer dictionary, if it has one
#   fuzz_<t>.options          its -max_len (as tests/fuzz/run.sh gives it)
# The image needs autoconf, automake, pkg-config, libpcap, zlib, OpenSSL,
# ncursesw and python3 (tools/deps.sh lists the Debian packages); zipping
# uses python3's zipfile, so no zip program is needed.
#
# To try it locally, in a copy of the tree (it configures a build dir):
#   CC=clang CFLAGS="-fsanitize=address,undefined -fsanitize=fuzzer-no-link" \
#   LIB_FUZZING_ENGINE=-fsanitize=fuzzer SRC=/tmp OUT=/tmp/out bash tests/ossfuzz.sh
# (JOBS=N sets make -j, default nproc).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
: "${OUT:?set OUT to the output directory}"
: "${LIB_FUZZING_ENGINE:?set LIB_FUZZING_ENGINE (e.g. -fsanitize=fuzzer)}"
export CC CFLAGS LIB_FUZZING_ENGINE
build=${WORK:-$top}/build-ossfuzz
mkdir -p "$OUT" "$build"

cd "$top"
autoreconf -fi
cd "$build"
"$top/configure" --enable-fuzztargets
if ! grep -q '^FUZZ_ENGINE = ..*' Makefile; then
	echo "ossfuzz.sh: $CC does not link fuzz targets with $LIB_FUZZING_ENGINE (see $build/config.log)" >&2
	exit 1
fi

targets=""
for f in "$top"/tests/fuzz/fuzz_*.c; do
	t=$(basename "$f" .c)
	targets="$targets ${t#fuzz_}"
done
progs=""
for t in $targets; do
	progs="$progs tests/fuzz/fuzz_$t"
done
# shellcheck disable=SC2086
make -j"${JOBS:-$(nproc)}" $progs

seeds=$build/seeds
rm -rf "$seeds"
python3 "$top/tests/fuzz/mkseeds.py" --samples "$top/samples" --max-len 65536 "$seeds"

# Keep in step with max_len and dict_of in tests/fuzz/run.sh.
max_len() {
	case $1 in
	http) echo 72000 ;;
	keylog) echo 16384 ;;
	reasm) echo 4096 ;;
	*) echo 65536 ;;
	esac
}
dict_of() {
	case $1 in
	pcap|http|tui) echo "$top/tests/fuzz/http.dict" ;;
	*) if [ -f "$top/tests/fuzz/$1.dict" ]; then echo "$top/tests/fuzz/$1.dict"; fi ;;
	esac
}

for t in $targets; do
	cp "tests/fuzz/fuzz_$t" "$OUT/"
	# seeds and the target's regression inputs, flat, in name order
	python3 - "$OUT/fuzz_${t}_seed_corpus.zip" "$seeds/$t" "$top/tests/fuzz/regress/$t" <<'EOF'
import os
import sys
import zipfile

with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for d in sys.argv[2:]:
        if not os.path.isdir(d):
            continue
        for n in sorted(os.listdir(d)):
            p = os.path.join(d, n)
            if os.path.isfile(p) and not n.startswith("."):
                z.write(p, n)
EOF
	dict=$(dict_of "$t")
	if [ -n "$dict" ]; then
		cp "$dict" "$OUT/fuzz_$t.dict"
	fi
	printf '[libfuzzer]\nmax_len = %s\n' "$(max_len "$t")" > "$OUT/fuzz_$t.options"
done
echo "ossfuzz.sh: built$targets into $OUT"
