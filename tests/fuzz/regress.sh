#!/bin/sh
# Replays every input in tests/fuzz/regress/<target>/ through its harness,
# built with onefile.c as tests/fuzz/replay_<target> (run by `make check`).
# Fails on a crash, a failed harness check or any sanitizer report.
# The samples' key logs are given to the TLS and pcap harnesses as during
# fuzzing (WSCOPE_FUZZ_KEYLOG), so TLS inputs replay the same way.
top=${top_srcdir:-$(dirname "$0")/../..}
build=${top_builddir:-.}
: "${ASAN_OPTIONS:=detect_leaks=1:abort_on_error=1}"
: "${UBSAN_OPTIONS:=print_stacktrace=1:halt_on_error=1}"
export ASAN_OPTIONS UBSAN_OPTIONS
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
cat "$top"/samples/*.keys > "$tmp/all.keys" 2>/dev/null
WSCOPE_FUZZ_KEYLOG="$tmp/all.keys"
export WSCOPE_FUZZ_KEYLOG

fail=0
for t in pcap http ws tls keylog reasm json tui app app_mqtt app_stomp app_socketio app_graphql \
	 app_graphql_legacy app_jsonrpc; do
	# app_NAME: the app harness with the decoder NAME forced
	case $t in
	app_*) bin="$build/tests/fuzz/replay_app"; WSCOPE_FUZZ_APP=${t#app_} ;;
	*) bin="$build/tests/fuzz/replay_$t"; WSCOPE_FUZZ_APP= ;;
	esac
	export WSCOPE_FUZZ_APP
	dir="$top/tests/fuzz/regress/$t"
	if [ ! -x "$bin" ]; then
		echo "FAIL: $bin is not built"
		fail=1
		continue
	fi
	n=0
	for f in "$dir"/*; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		# one process per input, so that a failure names its input
		"$bin" "$f" > "$tmp/out" 2>&1
		rc=$?
		if [ $rc -ne 0 ] || grep -qE 'ERROR: [A-Za-z]+Sanitizer|runtime error:|check failed' "$tmp/out"; then
			echo "FAIL: $t: $f (exit status $rc)"
			tail -n 40 "$tmp/out"
			fail=1
		fi
	done
	if [ $n -eq 0 ]; then
		echo "FAIL: $dir holds no input"
		fail=1
	fi
	echo "$t: $n inputs replayed"
done
exit $fail
