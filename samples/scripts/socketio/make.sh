#!/bin/bash
# Regenerate samples/sio.pcap and samples/sio.endpoints.jsonl.gz from scratch.
#
#   bash samples/scripts/socketio/make.sh        (as root: packet capture)
#
# Needs tcpdump, tshark, capinfos (wireshark-common), python3, Node.js + npm.
# The npm packages (socket.io and socket.io-client, exact versions in
# package-lock.json) are installed with `npm ci` if node_modules is missing.
# Loopback port 9961 must be free.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
scripts=$(cd "$here/.." && pwd)
samples=$(cd "$scripts/.." && pwd)
PORT=9961

if [ "$(id -u)" != 0 ]; then echo "make.sh: must run as root (packet capture)" >&2; exit 1; fi
for tool in tcpdump tshark capinfos node npm /usr/bin/python3; do
    command -v "$tool" >/dev/null || { echo "make.sh: missing $tool" >&2; exit 1; }
done
if [ ! -d "$here/node_modules/socket.io" ] || [ ! -d "$here/node_modules/socket.io-client" ]; then
    (cd "$here" && npm ci --no-audit --no-fund)
fi

cd "$samples"
rm -rf sio.pcap sio.endpoints.jsonl sio.endpoints.jsonl.gz sio.streams
CAPTURE_FILTER="tcp port $PORT" "$scripts/capture.sh" sio lo \
    node "$here/sio.js" --port "$PORT" --log sio.endpoints.jsonl --streams sio.streams
# tshark cross-check of the raw streams and WebSocket frame counts
/usr/bin/python3 "$scripts/verify_capture.py" sio.pcap sio.endpoints.jsonl sio.streams
rm -rf sio.streams
gzip -9n -f sio.endpoints.jsonl
echo "make.sh: wrote $samples/sio.pcap and $samples/sio.endpoints.jsonl.gz" >&2
