#!/bin/bash
# Regenerate samples/graphql-ws.pcap and samples/jsonrpc.pcap (and their
# NAME.endpoints.jsonl.gz logs) from scratch.  Run as root (packet capture).
#
#   bash samples/scripts/gqlrpc/make.sh            # both
#   bash samples/scripts/gqlrpc/make.sh graphql-ws # or only one of them
#   bash samples/scripts/gqlrpc/make.sh jsonrpc
#
# Needs tcpdump, tshark/capinfos (wireshark-common), Node.js 20 with npm.  The
# npm packages are installed from package-lock.json with `npm ci` into
# node_modules/ here (git-ignored) if they are missing.  Nothing else is
# started: both scenarios are single Node processes (servers and clients).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
samples=$(cd "$here/../.." && pwd)
PY=/usr/bin/python3

for tool in tcpdump tshark capinfos node npm gzip "$PY"; do
    command -v "$tool" >/dev/null || { echo "make.sh: missing $tool" >&2; exit 1; }
done
if [ "$(id -u)" != 0 ]; then echo "make.sh: must run as root (packet capture)" >&2; exit 1; fi

if [ ! -f "$here/node_modules/.package-lock.json" ] || [ ! -d "$here/node_modules/graphql-ws" ]; then
    (cd "$here" && npm ci --no-audit --no-fund)
fi

what=${1:-all}
case "$what" in all|graphql-ws|jsonrpc) ;; *) echo "usage: $0 [all|graphql-ws|jsonrpc]" >&2; exit 2 ;; esac

cd "$samples"
fail=0
one() {   # NAME FILTER SCRIPT
    local name=$1 filter=$2 script=$3
    rm -rf "$name.pcap" "$name.endpoints.jsonl" "$name.endpoints.jsonl.gz" "$name.streams"
    CAPTURE_FILTER=$filter "$samples/scripts/capture.sh" "$name" lo \
        node "$here/$script" --log "$name.endpoints.jsonl" --streams "$name.streams" || fail=1
    "$PY" "$samples/scripts/verify_capture.py" "$name.pcap" "$name.endpoints.jsonl" "$name.streams" || fail=1
    capinfos "$name.pcap" | grep -E '^(File name|Number of packets|File size)' | sed 's/^/  /'
    # the raw stream copies only served the check above
    rm -rf "$name.streams"
    gzip -9nf "$name.endpoints.jsonl"
}

if [ "$what" = all ] || [ "$what" = graphql-ws ]; then
    one graphql-ws 'tcp port 9991 or tcp port 9992' graphql_ws.js
fi
if [ "$what" = all ] || [ "$what" = jsonrpc ]; then
    one jsonrpc 'tcp port 9995 or tcp port 9996' jsonrpc.js
fi
exit $fail
