#!/bin/bash
# Runs the whole test suite: installs what is missing, builds with
# AddressSanitizer + UndefinedBehaviorSanitizer and -Werror in build-check/,
# then runs the unit tests, the end-to-end tests and the style checks, the
# memory accounting check on a build without sanitizers (build-plain/), and
# finally each fuzz target for FUZZ_SECONDS (tests/fuzz/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/deps.sh
wscope_install_deps
top=$(pwd)
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
	autoreconf -fi
fi
if [ -f config.status ]; then
	echo "the source tree is configured in place; run 'make distclean' in it first" >&2
	exit 1
fi
mkdir -p build-check
cd build-check
if [ ! -f Makefile ] || [ "$top/configure" -nt Makefile ]; then
	"$top/configure" --enable-sanitizers --enable-werror --enable-debug
fi
make -j"$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
if ! make -j"$(nproc)" check; then
	for f in tests/unit/*.log tests/e2e/*.log tests/style/*.log; do
		[ -f "$f" ] && { echo "==== $f"; tail -n 60 "$f"; }
	done
	exit 1
fi
cat tests/unit/check_main.log 2>/dev/null | grep -E '^[0-9]+%: Checks' || true
grep -hE '^[0-9]+ passed, [0-9]+ failed' tests/e2e/*.log 2>/dev/null || true
# The summary's memory figures against what the kernel measured: needs a
# build without sanitizers (build-plain/), whose memory is wscope's own.
cd "$top"
mkdir -p build-plain
cd build-plain
if [ ! -f Makefile ] || [ "$top/configure" -nt Makefile ]; then
	"$top/configure" --enable-werror
fi
make -j"$(nproc)" wscope
WSCOPE="$top/build-plain/wscope" top_srcdir="$top" python3 "$top/tests/limits/memacct.py"
# Fuzzing for a bounded time (clang + libFuzzer in build-fuzz/; FUZZ_SECONDS
# per target, default 30) from a fixed seed (FUZZ_SEED, default 1), so that
# CI repeats the exploration that was run before a change landed; longer
# runs with fresh seeds look for new bugs (tests/fuzz/README.md). A crash
# fails the run and lands in tests/fuzz/regress/.
cd "$top"
FUZZ_SECONDS=${FUZZ_SECONDS:-30} FUZZ_SEED=${FUZZ_SEED:-1} bash tests/fuzz/run.sh
