#!/bin/bash
# Regenerate samples/sio-v2.pcap and samples/sio-v2.endpoints.jsonl.gz from
# scratch (Socket.IO v2 / Engine.IO protocol v3, socketio2/sio2.js, port
# 9962, the npm packages of this directory).
#
#   bash samples/scripts/socketio2/make.sh        (as root: packet capture)
#
# The steps are those of ../socketio/make.sh, which this runs with "v2"
# (requirements there).
set -euo pipefail
exec bash "$(cd "$(dirname "$0")" && pwd)/../socketio/make.sh" v2
