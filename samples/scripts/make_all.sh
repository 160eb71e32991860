#!/bin/bash
# Regenerate every wscope sample capture and its endpoint log from scratch.
#
#   bash samples/scripts/make_all.sh          # everything
#   bash samples/scripts/make_all.sh wss      # only the wss-* (TLS) samples
#   bash samples/scripts/make_all.sh app      # only the subprotocol samples
#                                             # (gqlrpc/ mqtt/ socketio/ socketio2/ stomp/)
#
# Needs root (packet capture) and, on Debian 12:
#   apt-get install tcpdump tshark wireshark-common python3 python3-websockets chromium
# (dumpcap/capinfos/editcap are in wireshark-common; chromium is only used
# headless, as the browser client of ws-chromium.pcap), plus Node.js with npm
# (generated with Node 20; Debian's `nodejs npm` packages also work).  The
# Node package `ws` is installed from package-lock.json with `npm ci`.
#
# The wss-* samples (WebSocket over TLS) also need the openssl CLI (Debian
# package openssl 3.0: certificates are generated at run time, and
# wss-keyupdate uses `openssl s_client`); each has a key log NAME.keys, kept
# uncompressed.
#
# Payloads and message scripts are deterministic (fixed seeds); the captures
# themselves differ between runs (timestamps, ephemeral ports, ISNs, WebSocket
# masks, segmentation), and the logs are regenerated together with them.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
samples=$(cd "$here/.." && pwd)
PY=/usr/bin/python3   # Debian's python3 with python3-websockets 10.4

CHROMIUM=/usr/bin/chromium   # Debian's chromium package

what=${1:-all}
case "$what" in all|wss|app) ;; *) echo "usage: $0 [all|wss|app]" >&2; exit 2 ;; esac
if [ "$what" = app ]; then
    # Each subprotocol sample has its own directory, packages and broker.
    fail=0
    for d in gqlrpc mqtt socketio socketio2 stomp; do bash "$here/$d/make.sh" || fail=1; done
    exit $fail
fi

for tool in tcpdump dumpcap tshark capinfos node npm openssl "$PY" "$CHROMIUM"; do
    command -v "$tool" >/dev/null || { echo "make_all.sh: missing $tool" >&2; exit 1; }
done
"$PY" -c 'import websockets, sys; assert websockets.__version__.startswith("10."), websockets.__version__' \
    || { echo "make_all.sh: need python3-websockets 10.x for $PY" >&2; exit 1; }
if [ "$(id -u)" != 0 ]; then echo "make_all.sh: must run as root (packet capture)" >&2; exit 1; fi

if [ ! -d "$here/node_modules/ws" ]; then
    (cd "$here" && npm ci --no-audit --no-fund)
fi

cd "$samples"
if [ "$what" = all ]; then
    rm -rf ./*.pcap ./*.pcapng ./*.endpoints.jsonl ./*.endpoints.jsonl.gz ./*.streams ./*.keys
else
    rm -rf ./wss-*.pcap ./wss-*.endpoints.jsonl ./wss-*.endpoints.jsonl.gz ./wss-*.streams ./wss-*.keys
fi

cap() { "$here/capture.sh" "$@"; }
fail=0

# 1-6: the plain-TCP and ws:// samples (skipped with "wss")
if [ "$what" = all ]; then

# 1. Plain TCP.  tcp-transfer.pcap (tcpdump -i lo) and tcp-transfer.pcapng
#    (dumpcap -i lo) record the SAME run, so they share one log.
CAPTURE_FILTER='tcp port 9501' cap tcp-transfer lo,dumpcap-lo \
    "$PY" "$here/tcp_transfer.py" --seed 1 --port 9501 --log tcp-transfer.endpoints.jsonl

# 2. Plain TCP again (different seed), tcpdump -i any, nanosecond timestamps.
CAPTURE_FILTER='tcp port 9502' cap tcp-transfer-any-nano any-nano \
    "$PY" "$here/tcp_transfer.py" --seed 2 --port 9502 --log tcp-transfer-any-nano.endpoints.jsonl

# 3. WebSocket, Python websockets 10.4.
CAPTURE_FILTER='tcp port 9601' cap ws-python lo \
    "$PY" "$here/ws_python.py" --port 9601 --log ws-python.endpoints.jsonl --streams ws-python.streams

# 3b. WebSocket with (fake) secrets in the query, headers and JSON payloads,
#     Python websockets 10.4; also writes the list of secrets (ws-secrets.secrets.json).
CAPTURE_FILTER='tcp port 9611' cap ws-secrets lo \
    "$PY" "$here/ws_secrets.py" --port 9611 --log ws-secrets.endpoints.jsonl --streams ws-secrets.streams \
    --secrets ws-secrets.secrets.json

# 4. WebSocket, Node ws.
CAPTURE_FILTER='tcp port 9701' cap ws-node lo \
    node "$here/ws_node.js" --port 9701 --log ws-node.endpoints.jsonl --streams ws-node.streams

# 5. WebSocket, headless Chromium client -> Node ws server (permessage-deflate).
#    Only the WebSocket port 9711 is captured; the test page and the page's
#    log upload use port 9712 and stay out of the capture.
CAPTURE_FILTER='tcp port 9711' cap ws-chromium lo \
    node "$here/ws_chromium.js" --port 9711 --page-port 9712 --log ws-chromium.endpoints.jsonl \
    --chromium "$CHROMIUM"

# 6. Miscellaneous: IPv6, 20 concurrent connections, 403 rejected upgrade,
#    keep-alive HTTP requests before an upgrade, many fragments, 200 KB binary.
CAPTURE_FILTER='tcp port 9801' cap ws-misc lo \
    "$PY" "$here/ws_misc.py" --port 9801 --log ws-misc.endpoints.jsonl

# Independent second opinion: tshark reassembly vs the endpoint logs.
"$PY" "$here/verify_capture.py" tcp-transfer.pcap tcp-transfer.endpoints.jsonl || fail=1
"$PY" "$here/verify_capture.py" tcp-transfer.pcapng tcp-transfer.endpoints.jsonl || fail=1
"$PY" "$here/verify_capture.py" tcp-transfer-any-nano.pcap tcp-transfer-any-nano.endpoints.jsonl || fail=1
"$PY" "$here/verify_capture.py" ws-python.pcap ws-python.endpoints.jsonl ws-python.streams || fail=1
"$PY" "$here/verify_capture.py" ws-secrets.pcap ws-secrets.endpoints.jsonl ws-secrets.streams || fail=1
"$PY" "$here/verify_capture.py" ws-node.pcap ws-node.endpoints.jsonl ws-node.streams || fail=1
"$PY" "$here/verify_capture.py" ws-chromium.pcap ws-chromium.endpoints.jsonl || fail=1
"$PY" "$here/verify_capture.py" ws-misc.pcap ws-misc.endpoints.jsonl || fail=1
fi

# 7. WebSocket over TLS (wss://).  Every endpoint also logs its TLS view and
#    the decrypted bytes; NAME.keys is the NSS key log (see README.md).
#    Node ws <-> Node ws (Node's OpenSSL 3.0): TLS 1.2 per cipher suite
#    (incl. CBC with and without encrypt_then_mac), TLS 1.2 resumption
#    (session ticket on 9911, session ID on 9912), TLS 1.3 per suite + PSK
#    resumption, and ALPN h2 (no WebSocket).
CAPTURE_FILTER='tcp port 9901' cap wss-tls12 lo \
    node "$here/wss_node.js" --scenario tls12 --port 9901 --log wss-tls12.endpoints.jsonl \
    --keys wss-tls12.keys --streams wss-tls12.streams
CAPTURE_FILTER='tcp port 9911 or tcp port 9912' cap wss-tls12-resume lo \
    node "$here/wss_node.js" --scenario tls12-resume --port 9911 --log wss-tls12-resume.endpoints.jsonl \
    --keys wss-tls12-resume.keys --streams wss-tls12-resume.streams
CAPTURE_FILTER='tcp port 9921' cap wss-tls13 lo \
    node "$here/wss_node.js" --scenario tls13 --port 9921 --log wss-tls13.endpoints.jsonl \
    --keys wss-tls13.keys --streams wss-tls13.streams
# The same TLS 1.3 scenario captured by dumpcap on two interfaces at once
# (lo: Ethernet; any: Linux cooked, snaplen 65535): one pcapng with two
# link types, which libpcap refuses to read; every packet is in it twice.
CAPTURE_FILTER='tcp port 9922' cap wss-2if dumpcap-2if \
    node "$here/wss_node.js" --scenario tls13 --port 9922 --log wss-2if.endpoints.jsonl \
    --keys wss-2if.keys --streams wss-2if.streams
#    openssl s_client (KeyUpdates) -> Node ws over TLS 1.3.
CAPTURE_FILTER='tcp port 9931' cap wss-keyupdate lo \
    node "$here/wss_keyupdate.js" --port 9931 --log wss-keyupdate.endpoints.jsonl \
    --keys wss-keyupdate.keys --streams wss-keyupdate.streams
#    headless Chromium (SSLKEYLOGFILE) -> Node ws over TLS; the page is
#    served from 9942, not captured.
CAPTURE_FILTER='tcp port 9941' cap wss-chromium lo \
    node "$here/wss_chromium.js" --port 9941 --page-port 9942 --log wss-chromium.endpoints.jsonl \
    --keys wss-chromium.keys --streams wss-chromium.streams --chromium "$CHROMIUM"
CAPTURE_FILTER='tcp port 9951' cap wss-alpn-h2 lo \
    node "$here/wss_node.js" --scenario alpn-h2 --port 9951 --log wss-alpn-h2.endpoints.jsonl \
    --keys wss-alpn-h2.keys --streams wss-alpn-h2.streams

for n in wss-tls12 wss-tls12-resume wss-tls13 wss-keyupdate wss-chromium wss-alpn-h2; do
    "$PY" "$here/verify_tls.py" "$n.pcap" "$n.endpoints.jsonl" "$n.keys" "$n.streams" || fail=1
done
"$PY" "$here/verify_tls.py" --copies 2 wss-2if.pcapng wss-2if.endpoints.jsonl wss-2if.keys wss-2if.streams || fail=1

if [ "$what" = all ]; then
    # the subprotocol samples (each directory's make.sh: its packages, its broker)
    for d in gqlrpc mqtt socketio socketio2 stomp; do bash "$here/$d/make.sh" || fail=1; done
fi
if [ "$what" = all ]; then set -- ./*.pcap ./*.pcapng; else set -- ./wss-*.pcap ./wss-*.pcapng; fi
for f in "$@"; do
    capinfos "$f" | grep -E '^(File name|File type|File encapsulation|File timestamp precision|Number of packets|File size)' | sed 's/^/  /'
done
# The raw stream copies only served the check above (the logs keep each
# stream's length and SHA-256); the logs are stored compressed.
rm -rf ./*.streams
gzip -9nf ./*.endpoints.jsonl
du -ch ./*.pcap ./*.pcapng ./*.jsonl.gz ./*.keys | tail -1
exit $fail
