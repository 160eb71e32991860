#!/bin/bash
# Capture one scenario on loopback.
#
#   CAPTURE_FILTER='tcp port 9501' capture.sh NAME MODE COMMAND [ARGS...]
#
# NAME    output base name; the capture is written to samples/NAME.pcap
#         (samples/NAME.pcapng for MODE dumpcap-lo)
# MODE    lo         tcpdump -i lo  (Ethernet linktype, microsecond pcap)
#         any-nano   tcpdump -i any --time-stamp-precision=nano
#                    (Linux cooked linktype, nanosecond pcap)
#         dumpcap-lo dumpcap -i lo  (native pcapng)
# COMMAND the scenario to run while capturing (it writes its own log).
#
# CAPTURE_FILTER (required) is the BPF filter selecting the scenario's ports.
#
# The script starts the capture, waits until the capturer reports it is
# listening, runs the scenario, waits 1 s, stops the capturer with SIGINT,
# waits for it, and checks that nothing was dropped and the file is
# non-empty.  Exit status is non-zero on any failure.
set -u

if [ $# -lt 3 ]; then
    echo "usage: CAPTURE_FILTER=FILTER $0 NAME lo|any-nano|dumpcap-lo COMMAND..." >&2
    exit 2
fi
: "${CAPTURE_FILTER:?set CAPTURE_FILTER to a BPF filter, e.g. 'tcp port 9501'}"

name=$1; mode=$2; shift 2
here=$(cd "$(dirname "$0")" && pwd)
outdir=$(cd "$here/.." && pwd)
snaplen=262144
errf=$(mktemp /tmp/wscope-capture.XXXXXX)

case "$mode" in
    lo)
        out="$outdir/$name.pcap"
        ready='listening on'
        cmd=(tcpdump -i lo -U -n -s "$snaplen" -Z root -w "$out" "$CAPTURE_FILTER") ;;
    any-nano)
        out="$outdir/$name.pcap"
        ready='listening on'
        cmd=(tcpdump -i any --time-stamp-precision=nano -U -n -s "$snaplen" -Z root -w "$out" "$CAPTURE_FILTER") ;;
    dumpcap-lo)
        out="$outdir/$name.pcapng"
        ready='Capturing on'
        cmd=(dumpcap -i lo -n -s "$snaplen" -f "$CAPTURE_FILTER" -w "$out") ;;
    *)
        echo "unknown MODE $mode" >&2; exit 2 ;;
esac

rm -f "$out"
"${cmd[@]}" 2>"$errf" &
cap_pid=$!

# Wait until the capturer says it is listening (filter installed).
started=0
for _ in $(seq 1 200); do
    if grep -q "$ready" "$errf"; then started=1; break; fi
    if ! kill -0 "$cap_pid" 2>/dev/null; then break; fi
    sleep 0.05
done
if [ "$started" != 1 ]; then
    echo "capture.sh: capturer did not start:" >&2
    cat "$errf" >&2
    kill -INT "$cap_pid" 2>/dev/null; wait "$cap_pid" 2>/dev/null
    rm -f "$errf"
    exit 1
fi
sleep 0.5   # belt and braces: let the ring buffer settle

"$@"
scen_rc=$?

sleep 1     # let the last FIN/ACK/RST packets land
kill -INT "$cap_pid"
wait "$cap_pid"
cap_rc=$?

echo "--- $mode capture stats for $name:" >&2
grep -v '^Running as user' "$errf" >&2
rc=0
if [ "$scen_rc" != 0 ]; then echo "capture.sh: scenario failed (rc=$scen_rc)" >&2; rc=1; fi
if [ "$cap_rc" != 0 ]; then echo "capture.sh: capturer exit status $cap_rc" >&2; rc=1; fi
case "$mode" in
    lo|any-nano)
        if ! grep -q '^0 packets dropped by kernel' "$errf"; then
            echo "capture.sh: tcpdump reports kernel drops" >&2; rc=1
        fi ;;
    dumpcap-lo)
        if ! grep -Eq "received/dropped on interface .*: [0-9]+/0 " "$errf"; then
            echo "capture.sh: dumpcap reports drops" >&2; rc=1
        fi ;;
esac
rm -f "$errf"

if [ ! -s "$out" ]; then
    echo "capture.sh: $out missing or empty" >&2; exit 1
fi
npk=$(capinfos -M -c -T "$out" 2>/dev/null | awk -F'\t' 'NR==2 {print $2}')
if [ -z "$npk" ] || [ "$npk" -le 0 ]; then
    echo "capture.sh: $out has no packets" >&2; exit 1
fi
echo "capture.sh: $out: $npk packets, $(stat -c %s "$out") bytes" >&2
exit $rc
