#!/bin/bash
# Regenerate samples/sio-v2.pcap and samples/sio-v2.endpoints.jsonl.gz from
# scratch (Socket.IO v2 / Engine.IO protocol v3).
#
#   bash samples/scripts/socketio2/make.sh        (as root: packet capture)
#
# Needs tcpdump, tshark, capinfos (wireshark-common), python3, Node.js + npm.
# The npm packages (socket.io 2.5.0 and socket.io-client 2.5.0, exact
# versions of everything in package-lock.json) are installed with `npm ci`
# if node_modules is missing.  Loopback port 9962 must be free.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
scripts=$(cd "$here/.." && pwd)
samples=$(cd "$scripts/.." && pwd)
PORT=9962

if [ "$(id -u)" != 0 ]; then echo "make.sh: must run as root (packet capture)" >&2; exit 1; fi
for tool in tcpdump tshark capinfos node npm /usr/bin/python3; do
    command -v "$tool" >/dev/null || { echo "make.sh: missing $tool" >&2; exit 1; }
done
if [ ! -d "$here/node_modules/socket.io" ] || [ ! -d "$here/node_modules/socket.io-client" ]; then
    (cd "$here" && npm ci --no-audit --no-fund)
fi

cd "$samples"
rm -rf sio-v2.pcap sio-v2.endpoints.jsonl sio-v2.endpoints.jsonl.gz sio-v2.streams
CAPTURE_FILTER="tcp port $PORT" "$scripts/capture.sh" sio-v2 lo \
    node "$here/sio2.js" --port "$PORT" --log sio-v2.endpoints.jsonl --streams sio-v2.streams
# tshark cross-check of the raw streams and WebSocket frame counts
/usr/bin/python3 "$scripts/verify_capture.py" sio-v2.pcap sio-v2.endpoints.jsonl sio-v2.streams
rm -rf sio-v2.streams
gzip -9n -f sio-v2.endpoints.jsonl
echo "make.sh: wrote $samples/sio-v2.pcap and $samples/sio-v2.endpoints.jsonl.gz" >&2
