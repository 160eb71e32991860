#!/bin/bash
# Regenerate every wscope sample capture and its endpoint log from scratch.
#
#   bash samples/scripts/make_all.sh
#
# Needs root (packet capture) and, on Debian 12:
#   apt-get install tcpdump tshark wireshark-common python3 python3-websockets chromium
# (dumpcap/capinfos/editcap are in wireshark-common; chromium is only used
# headless, as the browser client of ws-chromium.pcap), plus Node.js with npm
# (generated with Node 20; Debian's `nodejs npm` packages also work).  The
# Node package `ws` is installed from package-lock.json with `npm ci`.
#
# Payloads and message scripts are deterministic (fixed seeds); the captures
# themselves differ between runs (timestamps, ephemeral ports, ISNs, WebSocket
# masks, segmentation), and the logs are regenerated together with them.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
samples=$(cd "$here/.." && pwd)
PY=/usr/bin/python3   # Debian's python3 with python3-websockets 10.4

CHROMIUM=/usr/bin/chromium   # Debian's chromium package

for tool in tcpdump dumpcap tshark capinfos node npm "$PY" "$CHROMIUM"; do
    command -v "$tool" >/dev/null || { echo "make_all.sh: missing $tool" >&2; exit 1; }
done
"$PY" -c 'import websockets, sys; assert websockets.__version__.startswith("10."), websockets.__version__' \
    || { echo "make_all.sh: need python3-websockets 10.x for $PY" >&2; exit 1; }
if [ "$(id -u)" != 0 ]; then echo "make_all.sh: must run as root (packet capture)" >&2; exit 1; fi

if [ ! -d "$here/node_modules/ws" ]; then
    (cd "$here" && npm ci --no-audit --no-fund)
fi

cd "$samples"
rm -rf ./*.pcap ./*.pcapng ./*.endpoints.jsonl ./*.endpoints.jsonl.gz ./*.streams

cap() { "$here/capture.sh" "$@"; }

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
fail=0
"$PY" "$here/verify_capture.py" tcp-transfer.pcap tcp-transfer.endpoints.jsonl || fail=1
"$PY" "$here/verify_capture.py" tcp-transfer.pcapng tcp-transfer.endpoints.jsonl || fail=1
"$PY" "$here/verify_capture.py" tcp-transfer-any-nano.pcap tcp-transfer-any-nano.endpoints.jsonl || fail=1
"$PY" "$here/verify_capture.py" ws-python.pcap ws-python.endpoints.jsonl ws-python.streams || fail=1
"$PY" "$here/verify_capture.py" ws-node.pcap ws-node.endpoints.jsonl ws-node.streams || fail=1
"$PY" "$here/verify_capture.py" ws-chromium.pcap ws-chromium.endpoints.jsonl || fail=1
"$PY" "$here/verify_capture.py" ws-misc.pcap ws-misc.endpoints.jsonl || fail=1

for f in ./*.pcap ./*.pcapng; do
    capinfos "$f" | grep -E '^(File name|File type|File encapsulation|File timestamp precision|Number of packets|File size)' | sed 's/^/  /'
done
# The raw stream copies only served the check above (the logs keep each
# stream's length and SHA-256); the logs are stored compressed.
rm -rf ./*.streams
gzip -9nf ./*.endpoints.jsonl
du -ch ./*.pcap ./*.pcapng ./*.jsonl.gz | tail -1
exit $fail
