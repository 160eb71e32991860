#!/bin/bash
# Installs what is missing, builds wscope in build/, and runs it on a
# bundled sample capture.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/deps.sh
wscope_install_deps
top=$(pwd)
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
	autoreconf -fi
fi
mkdir -p build
cd build
if [ ! -f Makefile ] || [ "$top/configure" -nt Makefile ]; then
	"$top/configure"
fi
make -j"$(nproc)"
cd "$top"
echo
echo "== build/wscope -r samples/ws-node.pcap --json --max-payload 48"
build/wscope -r samples/ws-node.pcap --json --max-payload 48
