#!/bin/bash
# Regenerate samples/mqtt-mosquitto.pcap and samples/mqtt-mosquitto.endpoints.jsonl.gz
# from scratch.  Run as root.  Needs Debian 12's mosquitto (2.0.11), tcpdump,
# tshark/capinfos, Node.js 20 with npm.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
samples=$(cd "$here/../.." && pwd)
name=mqtt-mosquitto
port=9981
run=/tmp/wscope-mqtt          # broker's ACL copy and log (mosquitto.conf refers to it)

if [ "$(id -u)" != 0 ]; then echo "make.sh: must run as root (packet capture)" >&2; exit 1; fi
if ! command -v mosquitto >/dev/null; then
    apt-get install -y mosquitto >/dev/null || { apt-get update && apt-get install -y mosquitto; }
fi
for tool in mosquitto tcpdump capinfos tshark node npm; do
    command -v "$tool" >/dev/null || { echo "make.sh: missing $tool" >&2; exit 1; }
done
if [ ! -d "$here/node_modules/mqtt" ]; then
    (cd "$here" && npm ci --no-audit --no-fund)
fi

# A broker of our own: own config, own port, own directory; the packaged
# service is not used.
rm -rf "$run"; mkdir -p "$run"
cp "$here/dynamic-security.json" "$run/dynamic-security.json"
chown -R mosquitto "$run" 2>/dev/null || chmod 777 "$run"
mosquitto -c "$here/mosquitto.conf" &
broker=$!
stop_broker() { kill "$broker" 2>/dev/null && wait "$broker" 2>/dev/null || true; }
trap stop_broker EXIT
for _ in $(seq 1 100); do
    grep -q 'mosquitto version .* running' "$run/mosquitto.log" 2>/dev/null && break
    kill -0 "$broker" 2>/dev/null || { cat "$run/mosquitto.log" >&2 || true; echo "make.sh: mosquitto died" >&2; exit 1; }
    sleep 0.05
done
grep -q 'running' "$run/mosquitto.log" || { echo "make.sh: mosquitto did not start" >&2; exit 1; }

cd "$samples"
rm -rf "$name.pcap" "$name.endpoints.jsonl" "$name.endpoints.jsonl.gz" "$name.streams"
CAPTURE_FILTER="tcp port $port" "$samples/scripts/capture.sh" "$name" lo \
    node "$here/mqtt_mosquitto.js" --port "$port" --log "$name.endpoints.jsonl" \
    --broker-log "$run/mosquitto.log" --streams "$name.streams"
stop_broker
trap - EXIT

# tshark cross-check of the raw streams and the WebSocket frames (client-side log)
/usr/bin/python3 "$here/verify_mqtt.py" "$name.pcap" "$name.endpoints.jsonl" "$name.streams"
rm -rf "$name.streams"
gzip -9nf "$name.endpoints.jsonl"
echo "make.sh: wrote $samples/$name.pcap and $samples/$name.endpoints.jsonl.gz (broker log: $run/mosquitto.log)" >&2
