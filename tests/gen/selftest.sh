#!/bin/bash
# selftest.sh - checks tests/gen/pcaptool.py against tshark on synthetic flows.
#
# mkflows.py writes a capture and the exact byte stream of every connection
# direction (the ground truth).  Every pcaptool operation is applied to it and
# the output is checked with tshark by check.py: for the stream-preserving
# operations, tshark must find every stream byte-for-byte equal to the ground
# truth (segment placement and 'follow tcp'); the lossy ones must change
# exactly what they report.  Exits 0 if everything passes, 1 otherwise
# (77 = skipped: tshark missing).  KEEP=1 keeps the work directory.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
for tool in tshark capinfos; do
	command -v "$tool" >/dev/null || { echo "selftest: $tool not installed, skipping"; exit 77; }
done
[ -x "$PY" ] || { echo "selftest: $PY missing"; exit 77; }

W=$(mktemp -d "${TMPDIR:-/tmp}/pcaptool-selftest.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then echo "work directory: $W"; else trap 'rm -rf "$W"' EXIT; fi
cd "$W" || exit 1

pass=0
fail=0
failed=()
# step NAME CMD... : runs CMD, counts and shows the result
step() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
		printf 'PASS %-28s %s\n' "$name" "$(printf '%s' "$out" | grep '^ok:' | tail -1 | cut -c5-170)"
	else
		fail=$((fail + 1))
		failed+=("$name")
		printf 'FAIL %-28s\n%s\n' "$name" "$(printf '%s' "$out" | tail -5 | sed 's/^/     /')"
	fi
}
# xfail NAME CMD... : CMD must fail (a check that has to notice a change)
xfail() {
	local name=$1
	shift
	if "$@" >/dev/null 2>&1; then
		fail=$((fail + 1))
		failed+=("$name")
		echo "FAIL $name (check passed but must not)"
	else
		pass=$((pass + 1))
		printf 'PASS %-28s (mismatch detected as expected)\n' "$name"
	fi
}
tool() { "$PY" "$HERE/pcaptool.py" -q "$@"; }
mk() { "$PY" "$HERE/mkflows.py" "$@"; }
chk() { "$PY" "$HERE/check.py" "$@"; }
# same NAME OUT [check.py same options] : OUT carries exactly the truth streams
same() { local name=$1 out=$2; shift 2; step "$name" chk same truth.json "$out" "$@"; }

echo "== inputs and ground truth"
mk -o flows.pcap --streams-json truth.json || exit 1
mk -o syn.pcap --syn-data --streams-json syntruth.json || exit 1
step truth-vs-tshark chk same truth.json flows.pcap
step truth-checksums chk checksums flows.pcap
step syndata-truth chk same syntruth.json syn.pcap
mk -o ng.pcapng --format pcapng --streams-json t2.json
mk -o ngbe.pcapng --format pcapng --big-endian --nano --streams-json t3.json
mk -o multi.pcapng --format pcapng --multi-if --streams-json t4.json
mk -o multibe.pcapng --format pcapng --multi-if --big-endian --nano --streams-json t5.json
mk -o benano.pcap --big-endian --nano --streams-json t6.json
mk -o raw.pcap --link raw --streams-json t7.json
for t in t2 t3 t4 t5 t6 t7; do step "truth-identical-$t" chk truth-equal truth.json $t.json; done

echo "== reading every input format"
tool flows.pcap base.pcap
step base chk same truth.json base.pcap
step base-count chk count base.pcap eq 116
step base-checksums chk checksums base.pcap
for f in ng.pcapng ngbe.pcapng multi.pcapng multibe.pcapng benano.pcap raw.pcap; do
	tool --nano "$f" "in-$f.pcap"
	same "read-$f" "in-$f.pcap"
	step "times-$f" chk times "$f" "in-$f.pcap"
done
step multi-to-ether chk linkinfo in-multi.pcapng.pcap 1 nano

echo "== relink"
for t in ether vlan qinq sll sll2 null loop raw; do
	tool flows.pcap "rl-$t.pcap" relink --to $t
	same "relink-$t" "rl-$t.pcap"
	tool "rl-$t.pcap" "back-$t.pcap" relink --to ether
	same "reread-$t" "back-$t.pcap"
done
step relink-ether-proto chk protocols rl-ether.pcap eth:ethertype:ip: eth:ethertype:ipv6:
step relink-vlan-proto chk protocols rl-vlan.pcap eth:ethertype:vlan:ethertype:ip
step relink-qinq-proto chk protocols rl-qinq.pcap eth:ethertype:ieee8021ad:ethertype:vlan:ethertype:ip
step relink-sll-type chk linkinfo rl-sll.pcap 113
step relink-sll2-type chk linkinfo rl-sll2.pcap 276
step relink-null-type chk linkinfo rl-null.pcap 0
step relink-loop-type chk linkinfo rl-loop.pcap 108
step relink-raw-type chk linkinfo rl-raw.pcap 101
step relink-sll-proto chk protocols rl-sll.pcap sll:ethertype:ip
step relink-null-proto chk protocols rl-null.pcap null:ip:tcp null:ip:udp null:ipv6:tcp
step relink-loop-proto chk protocols rl-loop.pcap null:ip:tcp null:ip:udp null:ipv6:tcp
step relink-raw-proto chk protocols rl-raw.pcap raw:ip
tool flows.pcap rl-ipv4.pcap relink --to ipv4
tool flows.pcap rl-ipv6.pcap relink --to ipv6
same relink-ipv4 rl-ipv4.pcap --family 4
same relink-ipv6 rl-ipv6.pcap --family 6
step relink-ipv4-type chk linkinfo rl-ipv4.pcap 228
step relink-ipv6-type chk linkinfo rl-ipv6.pcap 229
tool rl-ipv4.pcap back-ipv4.pcap relink --to sll2
same reread-ipv4 back-ipv4.pcap --family 4
tool rl-ipv6.pcap back-ipv6.pcap relink --to vlan
same reread-ipv6 back-ipv6.pcap --family 6
for af in 24 28 30; do
	tool flows.pcap "null$af.pcap" relink --to null --af6 $af
	same "null-af6-$af" "null$af.pcap"
done
# tshark's NULL dissector knows only BSD AF_INET6 values: check 10 by re-reading
tool flows.pcap null10.pcap relink --to loop --af6 10
tool null10.pcap null10-back.pcap relink --to raw
same reread-loop-af6-10 null10-back.pcap
# NULL written by a big-endian host, and the raw link types 12 and 14
"$PY" - <<'EOF'
import struct
b = bytearray(open("rl-null.pcap", "rb").read())
off = 24
while off < len(b):
    cl = struct.unpack("<I", b[off + 8:off + 12])[0]
    af = struct.unpack("<I", b[off + 16:off + 20])[0]
    b[off + 16:off + 20] = struct.pack(">I", af)
    off += 16 + cl
open("null-be.pcap", "wb").write(b)
for lt in (12, 14):
    r = bytearray(open("rl-raw.pcap", "rb").read())
    r[20:24] = struct.pack("<I", lt)
    open("raw%d.pcap" % lt, "wb").write(r)
EOF
for f in null-be raw12 raw14; do
	tool $f.pcap "$f-back.pcap" relink --to ether
	same "reread-$f" "$f-back.pcap"
done
step keep-vlan-tags bash -c "'$PY' '$HERE/pcaptool.py' -q rl-qinq.pcap keep.pcap && cmp rl-qinq.pcap keep.pcap"

echo "== fragment / defrag / ipopts"
tool flows.pcap frag.pcap fragment --mtu 300
same fragment frag.pcap
step fragment-sizes chk fragments frag.pcap 300
step fragment-checksums chk checksums frag.pcap
tool flows.pcap frags.pcap fragment --mtu 120 --shuffle --dup-frag 0.5
same fragment-shuffle frags.pcap
step fragment-shuffle-sizes chk fragments frags.pcap 120
tool frags.pcap defrag.pcap defrag
same defrag defrag.pcap
step defrag-count chk count defrag.pcap eq 116
step defrag-checksums chk checksums defrag.pcap
tool flows.pcap opts.pcap ipopts
same ipopts opts.pcap
step ipopts-present chk ipopts opts.pcap
step ipopts-checksums chk checksums opts.pcap
tool flows.pcap opts15.pcap ipopts --ihl 15 + fragment --mtu 200 --shuffle
same ipopts15-fragment opts15.pcap
step ipopts15-fragment-sizes chk fragments opts15.pcap 200
step ipopts15-ihl chk count opts15.pcap eq 0 "ip && ip.hdr_len != 60 && ip.frag_offset == 0"

echo "== resegment / reorder / duplicate / overlap"
tool flows.pcap reseg.pcap resegment --max 10
same resegment reseg.pcap
step resegment-max chk maxseg reseg.pcap 10
step resegment-more chk more-segments flows.pcap reseg.pcap
step resegment-checksums chk checksums reseg.pcap
tool syn.pcap reseg-syn.pcap resegment --max 3
step resegment-syndata chk same syntruth.json reseg-syn.pcap
step resegment-syndata-syn chk count reseg-syn.pcap eq 1 "tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.len>0"
tool flows.pcap reorder.pcap reorder --window 6
# tshark 4.0's 'follow tcp' declares a hole lost once the peer ACKs past it,
# so reordered captures are checked by segment placement only
same reorder reorder.pcap --segments-only
step reorder-changed chk reordered flows.pcap reorder.pcap
step reorder-timeorder chk timeorder reorder.pcap
tool flows.pcap reorder2.pcap resegment --max 400 + reorder --window 12 --move-syn
same reorder-move-syn reorder2.pcap --segments-only
step reorder-move-syn-time chk timeorder reorder2.pcap
tool flows.pcap dup.pcap duplicate --prob 0.3
same duplicate dup.pcap
step duplicate-retrans chk retrans dup.pcap
step duplicate-count chk count dup.pcap gt 116
step duplicate-timeorder chk timeorder dup.pcap
tool flows.pcap ovl.pcap overlap --prob 0.4
same overlap ovl.pcap
step overlap-retrans chk retrans ovl.pcap
step overlap-checksums chk checksums ovl.pcap
tool --report ovd.rep flows.pcap ovd.pcap overlap --prob 0.4 --differ 2>/dev/null
same overlap-differ ovd.pcap --differ ovd.rep
xfail overlap-differ-differs chk same truth.json ovd.pcap --segments-only
step overlap-differ-json "$PY" -c "
import json,sys
l=[json.loads(x) for x in open('ovd.rep') if '\"overlap\"' in x]
assert len(l)==1 and l[0]['differ'] and l[0]['ranges'], l
print('ok: %d differing ranges reported' % len(l[0]['ranges']))"

echo "== seqshift / strip-syn"
tool flows.pcap wrap.pcap seqshift --to-wrap
same seqshift wrap.pcap
step seqshift-wraps chk seqwrap flows.pcap wrap.pcap 1000 5000
step seqshift-checksums chk checksums wrap.pcap
tool flows.pcap wrap2.pcap seqshift --to-wrap --k 1200 --strip-sack
same seqshift-strip-sack wrap2.pcap
step seqshift-k-strip-sack chk seqwrap flows.pcap wrap2.pcap 1200 1200 --strip-sack
step seqshift-no-sack chk count wrap2.pcap eq 0 tcp.options.sack
tool syn.pcap wrap3.pcap seqshift --to-wrap --k 4000
step seqshift-syndata chk same syntruth.json wrap3.pcap
tool flows.pcap nosyn.pcap strip-syn 2>/dev/null
same strip-syn nosyn.pcap
step strip-syn-nosyn chk nosyn nosyn.pcap
tool syn.pcap nosyn2.pcap strip-syn 2>/dev/null
step strip-syn-syndata chk same syntruth.json nosyn2.pcap
step strip-syn-syndata-nosyn chk nosyn nosyn2.pcap

echo "== drop (lossy)"
tool --report drop.rep flows.pcap drop.pcap drop --prob 0.25 2>/dev/null
step drop-exact chk drop flows.pcap drop.pcap drop.rep
same drop-holes drop.pcap --holes drop.rep
xfail drop-detected chk same truth.json drop.pcap --segments-only

echo "== combinations"
tool flows.pcap combo1.pcap seqshift --to-wrap + resegment --max 200 + duplicate --prob 0.2 \
	+ overlap --prob 0.3 + ipopts + fragment --mtu 256 --shuffle --dup-frag 0.3 + relink --to sll2
same combo-wrap-reseg-dup-ovl-opts-frag-sll2 combo1.pcap
step combo1-checksums chk checksums combo1.pcap
tool --nano multibe.pcapng combo2.pcap strip-syn + resegment --max 700 + reorder --window 5 + relink --to qinq 2>/dev/null
same combo-pcapng-strip-reseg-reorder-qinq combo2.pcap --segments-only
step combo2-nano chk linkinfo combo2.pcap 1 nano
tool frags.pcap combo3.pcap defrag + resegment --max 50 + relink --to null
same combo-defrag-then-tcp-ops combo3.pcap

echo "== output options"
tool --nano flows.pcap nano.pcap
step nano-magic chk linkinfo nano.pcap 1 nano
same nano nano.pcap
tool --snaplen 70 flows.pcap snap.pcap
step snaplen chk snaplen base.pcap snap.pcap 70

echo "== truncate-packets"
tool --report trunc.rep flows.pcap trunc.pcap truncate-packets 2>/dev/null
step truncate-packets chk truncated base.pcap trunc.pcap trunc.rep
tool --report trunc2.rep --seed 7 rl-sll2.pcap trunc2.pcap truncate-packets --bytes 40 2>/dev/null
step truncate-packets-sll2 chk truncated rl-sll2.pcap trunc2.pcap trunc2.rep

echo "== corrupt"
for m in truncate-record truncate-header huge-caplen caplen-gt-len bad-magic empty header-only garbage; do
	tool --report "c-$m.rep" base.pcap "c-$m.pcap" corrupt --mode $m 2>/dev/null
	step "corrupt-$m" chk corrupt $m base.pcap "c-$m.pcap" "c-$m.rep"
done
xfail reject-bad-magic-input tool c-bad-magic.pcap x.pcap

echo "== reproducibility"
tool --seed 42 flows.pcap s1.pcap resegment --max 100 + reorder --window 4 + overlap --prob 0.3 + fragment --mtu 500 --shuffle
tool --seed 42 flows.pcap s2.pcap resegment --max 100 + reorder --window 4 + overlap --prob 0.3 + fragment --mtu 500 --shuffle
tool --seed 43 flows.pcap s3.pcap resegment --max 100 + reorder --window 4 + overlap --prob 0.3 + fragment --mtu 500 --shuffle
step same-seed-same-output cmp s1.pcap s2.pcap
xfail other-seed-other-output cmp s1.pcap s3.pcap
same seeded-combo s1.pcap --segments-only

echo
echo "selftest: $pass passed, $fail failed"
if [ $fail -ne 0 ]; then
	printf '  failed: %s\n' "${failed[@]}"
	exit 1
fi
exit 0
