#!/bin/bash
# The screenshots of the HTML report that README.md shows, made from the
# ws-python sample in headless Chromium (tests/e2e/cdp.py).
#
#   bash samples/scripts/report_screenshot.sh [WSCOPE]
#
# Needs Debian's chromium and, for the Korean and emoji in the sample,
# fonts-noto-cjk and fonts-noto-color-emoji.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
wscope=${1:-$top/build/wscope}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out="$top/samples/screenshots"
mkdir -p "$out"
(cd "$top/samples" && "$wscope" -q -r ws-python.pcap --html="$tmp/report.html")
echo '["true"]' > "$tmp/top.json"
/usr/bin/python3 "$top/tests/e2e/cdp.py" --page "$tmp/report.html" --steps "$tmp/top.json" \
	--screenshot "$out/report-summary.png" --width 1280 --height 820 > /dev/null
cat > "$tmp/seq.json" <<'STEPS'
["document.querySelector('#conntable tr[data-conn=\"2\"]').click(); document.getElementById('seq').scrollIntoView(); true",
 "Array.from(document.querySelectorAll('#seq .msg.c2s'))[0].click(); true"]
STEPS
/usr/bin/python3 "$top/tests/e2e/cdp.py" --page "$tmp/report.html" --steps "$tmp/seq.json" \
	--screenshot "$out/report-sequence.png" --width 1280 --height 820 > /dev/null
ls -l "$out"
