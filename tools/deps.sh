#!/bin/bash
# Installs the Debian packages wscope needs to build and test, only those
# that are missing. Sourced by setup.sh and test.sh; run as root.
set -euo pipefail

WSCOPE_PKGS=(
	build-essential autoconf automake libtool pkg-config
	libpcap-dev libncurses-dev libssl-dev zlib1g-dev
	check python3 python3-websockets tshark tmux
	nodejs node-ws node-har-validator chromium
	clang libclang-rt-14-dev
)

wscope_install_deps() {
	local missing=() p
	for p in "${WSCOPE_PKGS[@]}"; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
			missing+=("$p")
		fi
	done
	if [ ${#missing[@]} -eq 0 ]; then
		return 0
	fi
	echo "installing: ${missing[*]}"
	local sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		sudo="sudo"
	fi
	# tshark asks whether non-root users may capture; answer for it.
	echo "wireshark-common wireshark-common/install-setuid boolean false" | $sudo debconf-set-selections
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}
