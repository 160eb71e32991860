#!/bin/bash
# Builds the libFuzzer targets (clang, AddressSanitizer + UBSan) in
# build-fuzz/, makes seed corpora from samples/ (mkseeds.py), and runs each
# target for FUZZ_SECONDS (default 30) seconds. Any crash, failed harness
# check, sanitizer report, leak, timeout (10 s) or out-of-memory (2 GB)
# fails: its input is copied into tests/fuzz/regress/<target>/ and the
# script exits non-zero naming the target and the input.
#
# Environment:
#   FUZZ_SECONDS   seconds per target (default 30)
#   FUZZ_TARGETS   which targets (default: pcap http ws tls keylog reasm json tui app)
#   FUZZ_SEED      libFuzzer's random seed (default 0: a new one each run);
#                  tools/test.sh fixes it so that CI explores the same way
#                  each time and a clean run here predicts a clean run there
#   FUZZ_BUILD     build directory (default: build-fuzz in the source tree)
#   CC             compiler with libFuzzer (default: clang)
#
# The working corpus is kept in $FUZZ_BUILD/fuzz/corpus/<target>/, so that
# a later run starts where this one stopped; seeds are made afresh each time
# in $FUZZ_BUILD/fuzz/seeds/. See tests/fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$(pwd)
seconds=${FUZZ_SECONDS:-30}
seed=${FUZZ_SEED:-0}
targets=${FUZZ_TARGETS:-"pcap http ws tls keylog reasm json tui app app_mqtt app_stomp app_socketio app_graphql app_graphql_legacy app_jsonrpc"}
build=${FUZZ_BUILD:-$top/build-fuzz}
export CC=${CC:-clang}

if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
	autoreconf -fi
fi
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ] || [ "$top/configure" -nt Makefile ]; then
	"$top/configure" --enable-fuzztargets --enable-sanitizers --enable-debug > configure.log
fi
if ! grep -q '^FUZZ_ENGINE = ..*' Makefile; then
	echo "run.sh: $CC cannot build libFuzzer targets (see $build/config.log); install clang" >&2
	exit 1
fi
# app_NAME: fuzz_app with the decoder NAME forced (WSCOPE_FUZZ_APP)
prog_of() {
	case $1 in
	app_*) echo app ;;
	*) echo "$1" ;;
	esac
}
progs=""
for t in $targets; do
	progs="$progs tests/fuzz/fuzz_$(prog_of "$t")"
done
# shellcheck disable=SC2086
make -j"$(nproc)" $progs > make.log 2>&1 || { tail -n 40 make.log; exit 1; }

work="$build/fuzz"
rm -rf "$work/seeds" "$work/artifacts"
python3 "$top/tests/fuzz/mkseeds.py" --samples "$top/samples" --max-len 65536 "$work/seeds"
export WSCOPE_FUZZ_KEYLOG="$work/seeds/all.keys"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

max_len() {
	case $1 in
	http) echo 72000 ;;     # past LIM_HTTP_HEAD (64 KiB)
	keylog) echo 16384 ;;
	reasm) echo 4096 ;;     # 6-byte records; the harness makes the payload
	tui) echo 65536 ;;      # a capture and a key script; the model's budget is 4 MiB
	*) echo 65536 ;;
	esac
}

# A dictionary where one helps (fuzz_reasm's records are plain numbers: none).
dict_of() {
	case $1 in
	pcap|http|tui) echo "$top/tests/fuzz/http.dict" ;;
	ws|tls|keylog|json) echo "$top/tests/fuzz/$1.dict" ;;
	esac
}

failed=()
summary=()
for t in $targets; do
	corpus="$work/corpus/$t"
	art="$work/artifacts/$t"
	log="$work/$t.log"
	mkdir -p "$corpus" "$art" "$top/tests/fuzz/regress/$t"
	echo "==== fuzz_$t: $seconds s"
	dict=$(dict_of "$t")
	set +e
	case $t in app_*) export WSCOPE_FUZZ_APP=${t#app_} ;; *) unset WSCOPE_FUZZ_APP ;; esac
	"$build/tests/fuzz/fuzz_$(prog_of "$t")" -max_total_time="$seconds" -max_len="$(max_len "$t")" \
		-seed="$seed" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 ${dict:+"-dict=$dict"} \
		-artifact_prefix="$art/" "$corpus" "$work/seeds/$t" "$top/tests/fuzz/regress/$t" \
		> "$log" 2>&1
	rc=$?
	set -e
	cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1 || true)
	execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	corp=$(find "$corpus" -type f | wc -l)
	line=$(printf '%-7s %8s exec/s %10s runs  %-22s corpus %s' "$t" "${execs:-?}" \
		"${runs:-?}" "${cov:-cov: ?}" "$corp")
	summary+=("$line")
	echo "$line"
	bad=$(find "$art" -type f ! -name 'slow-unit-*' | sort)
	if [ "$rc" -ne 0 ] || [ -n "$bad" ]; then
		echo "fuzz_$t failed (exit status $rc):"
		grep -E 'ERROR: |runtime error:|check failed|SUMMARY:' "$log" | head -n 10 || true
		tail -n 30 "$log"
		if [ -z "$bad" ]; then
			failed+=("$t (no input saved; see $log)")
		fi
		for f in $bad; do
			cp "$f" "$top/tests/fuzz/regress/$t/"
			failed+=("$t: tests/fuzz/regress/$t/$(basename "$f")")
		done
	fi
done

echo "==== fuzzing summary ($seconds s per target, seed $seed)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
	echo "FAILED:"
	printf '  %s\n' "${failed[@]}"
	echo "replay one with: $build/tests/fuzz/fuzz_TARGET INPUT (app_NAME: WSCOPE_FUZZ_APP=NAME .../fuzz_app INPUT; see tests/fuzz/README.md)"
	exit 1
fi
echo "all fuzz targets ran clean"
