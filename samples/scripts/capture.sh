#!/bin/bash
# Capture one scenario on loopback.
#
#   CAPTURE_FILTER='tcp port 9501' capture.sh NAME MODE COMMAND [ARGS...]
#
# NAME    output base name; the capture is written to samples/NAME.pcap
#         (samples/NAME.pcapng for MODE dumpcap-lo)
# MODE    one mode, or several separated by commas (e.g. lo,dumpcap-lo) to
#         record the same run with several capturers at once:
#         lo         tcpdump -i lo  (Ethernet linktype, microsecond pcap)
#         any-nano   tcpdump -i any --time-stamp-precision=nano
#                    (Linux cooked linktype, nanosecond pcap)
#         dumpcap-lo dumpcap -i lo  (native pcapng)
#         dumpcap-2if dumpcap -i lo -i any (one pcapng, two interfaces of
#                    different link types, Ethernet and Linux cooked: every
#                    packet is in it twice, once per interface)
# COMMAND the scenario to run while capturing (it writes its own log).
#
# CAPTURE_FILTER (required) is the BPF filter selecting the scenario's ports.
#
# The script starts the capture(s), waits until each capturer reports it is
# listening, runs the scenario, waits 1 s, stops the capturer with SIGINT,
# waits for it, and checks that nothing was dropped and the file is
# non-empty.  Exit status is non-zero on any failure.
set -u

if [ $# -lt 3 ]; then
    echo "usage: CAPTURE_FILTER=FILTER $0 NAME MODE[,MODE] COMMAND...  (MODE: lo|any-nano|dumpcap-lo)" >&2
    exit 2
fi
: "${CAPTURE_FILTER:?set CAPTURE_FILTER to a BPF filter, e.g. 'tcp port 9501'}"

name=$1; modes=$2; shift 2
here=$(cd "$(dirname "$0")" && pwd)
outdir=$(cd "$here/.." && pwd)
snaplen=262144

# start one capturer per mode
pids=(); errfs=(); outs=(); kinds=()
cleanup() {
    for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    rm -f "${errfs[@]}"
}
IFS=, read -r -a mode_list <<< "$modes"
for mode in "${mode_list[@]}"; do
    case "$mode" in
        lo)
            out="$outdir/$name.pcap"; ready='listening on'
            cmd=(tcpdump -i lo -U -n -s "$snaplen" -Z root -w "$out" "$CAPTURE_FILTER") ;;
        any-nano)
            out="$outdir/$name.pcap"; ready='listening on'
            cmd=(tcpdump -i any --time-stamp-precision=nano -U -n -s "$snaplen" -Z root -w "$out" "$CAPTURE_FILTER") ;;
        dumpcap-lo)
            out="$outdir/$name.pcapng"; ready='Capturing on'
            cmd=(dumpcap -i lo -n -s "$snaplen" -f "$CAPTURE_FILTER" -w "$out") ;;
        dumpcap-2if)
            out="$outdir/$name.pcapng"; ready='Capturing on'
            cmd=(dumpcap -n -i lo -s "$snaplen" -f "$CAPTURE_FILTER" -i any -s 65535 -f "$CAPTURE_FILTER" -w "$out") ;;
        *)
            echo "unknown MODE $mode" >&2; cleanup; exit 2 ;;
    esac
    errf=$(mktemp /tmp/wscope-capture.XXXXXX)
    rm -f "$out"
    "${cmd[@]}" 2>"$errf" &
    pids+=($!); errfs+=("$errf"); outs+=("$out"); kinds+=("$mode")

    # Wait until the capturer says it is listening (filter installed).
    started=0
    for _ in $(seq 1 200); do
        if grep -q "$ready" "$errf"; then started=1; break; fi
        if ! kill -0 "${pids[-1]}" 2>/dev/null; then break; fi
        sleep 0.05
    done
    if [ "$started" != 1 ]; then
        echo "capture.sh: $mode capturer did not start:" >&2
        cat "$errf" >&2
        cleanup
        exit 1
    fi
done
sleep 0.5   # belt and braces: let the ring buffers settle

"$@"
scen_rc=$?

sleep 1     # let the last FIN/ACK/RST packets land
rc=0
if [ "$scen_rc" != 0 ]; then echo "capture.sh: scenario failed (rc=$scen_rc)" >&2; rc=1; fi
for i in "${!pids[@]}"; do
    kill -INT "${pids[$i]}"
    wait "${pids[$i]}"
    cap_rc=$?
    mode=${kinds[$i]}; errf=${errfs[$i]}; out=${outs[$i]}
    echo "--- $mode capture stats for $(basename "$out"):" >&2
    grep -v '^Running as user' "$errf" >&2
    if [ "$cap_rc" != 0 ]; then echo "capture.sh: $mode capturer exit status $cap_rc" >&2; rc=1; fi
    case "$mode" in
        lo|any-nano)
            if ! grep -q '^0 packets dropped by kernel' "$errf"; then
                echo "capture.sh: tcpdump reports kernel drops" >&2; rc=1
            fi ;;
        dumpcap-lo|dumpcap-2if)
            if grep -Eq "received/dropped on interface .*: [0-9]+/[1-9]" "$errf"; then
                echo "capture.sh: dumpcap reports drops" >&2; rc=1
            fi ;;
    esac
    rm -f "$errf"
    if [ ! -s "$out" ]; then
        echo "capture.sh: $out missing or empty" >&2; rc=1; continue
    fi
    npk=$(capinfos -M -c -T "$out" 2>/dev/null | awk -F'\t' 'NR==2 {print $2}')
    if [ -z "$npk" ] || [ "$npk" -le 0 ]; then
        echo "capture.sh: $out has no packets" >&2; rc=1; continue
    fi
    chmod 644 "$out"   # dumpcap creates its files 0600
    echo "capture.sh: $out: $npk packets, $(stat -c %s "$out") bytes" >&2
done
exit $rc
