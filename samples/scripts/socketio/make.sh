#!/bin/bash
# Regenerate a Socket.IO sample from scratch: its capture and its endpoint
# log.
#
#   bash samples/scripts/socketio/make.sh [v4]   samples/sio.pcap, sio.endpoints.jsonl.gz
#                                                (socketio/sio.js, Socket.IO 4, port 9961)
#   bash samples/scripts/socketio/make.sh v2     samples/sio-v2.pcap, sio-v2.endpoints.jsonl.gz
#                                                (socketio2/sio2.js, Socket.IO 2 / Engine.IO
#                                                protocol v3, port 9962; what
#                                                socketio2/make.sh runs)
#
# As root (packet capture).  Needs tcpdump, tshark, capinfos
# (wireshark-common), python3, Node.js + npm.  Each variant's npm packages
# (socket.io and socket.io-client, exact versions of everything in its
# directory's package-lock.json) are installed with `npm ci` if its
# node_modules is missing.  The variant's loopback port must be free.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
scripts=$(cd "$here/.." && pwd)
samples=$(cd "$scripts/.." && pwd)

case "${1:-v4}" in
    v4) dir=$scripts/socketio;  script=sio.js;  name=sio;    PORT=9961 ;;
    v2) dir=$scripts/socketio2; script=sio2.js; name=sio-v2; PORT=9962 ;;
    *) echo "usage: $0 [v4|v2]" >&2; exit 2 ;;
esac

if [ "$(id -u)" != 0 ]; then echo "make.sh: must run as root (packet capture)" >&2; exit 1; fi
for tool in tcpdump tshark capinfos node npm /usr/bin/python3; do
    command -v "$tool" >/dev/null || { echo "make.sh: missing $tool" >&2; exit 1; }
done
if [ ! -d "$dir/node_modules/socket.io" ] || [ ! -d "$dir/node_modules/socket.io-client" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund)
fi

cd "$samples"
rm -rf "$name.pcap" "$name.endpoints.jsonl" "$name.endpoints.jsonl.gz" "$name.streams"
CAPTURE_FILTER="tcp port $PORT" "$scripts/capture.sh" "$name" lo \
    node "$dir/$script" --port "$PORT" --log "$name.endpoints.jsonl" --streams "$name.streams"
# tshark cross-check of the raw streams and WebSocket frame counts
/usr/bin/python3 "$scripts/verify_capture.py" "$name.pcap" "$name.endpoints.jsonl" "$name.streams"
rm -rf "$name.streams"
gzip -9n -f "$name.endpoints.jsonl"
echo "make.sh: wrote $samples/$name.pcap and $samples/$name.endpoints.jsonl.gz" >&2
