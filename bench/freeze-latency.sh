#!/bin/sh
# Freeze/thaw latency as the host sees it: hvvssd versus Debian's
# hv_vss_daemon (and, if available, QEMU's guest agent), side by side, in
# one QEMU VM boot (TCG) on our hv_vss module with the host simulator.
# A benchmark, not a test: it prints numbers, no verdict (it fails only if
# the VM run itself fails).  Nothing on this machine is frozen: all freezes
# happen inside the VM on virtio disks backed by image files.
#
# Usage: bench/freeze-latency.sh [OPTIONS] BUILD_DIR
#   --reps N          repetitions per case (default 5; plus 1 warm-up, not reported)
#   --dirty "A B"     MB written to EACH filesystem just before FREEZE (default "0 64")
#   --tools "T..."    of: hvvssd hv_vss_daemon qemu-ga (default: all three;
#                     qemu-ga is dropped with a note when not found)
#   --qga PATH        qemu-ga binary (default: qemu-ga on PATH or /usr/sbin/qemu-ga)
#   --stall-ms N      interval of the blocked-writer probe (default 5)
#   --mem MB          VM memory (default 1536)
#   --timeout S       VM wall-clock limit (default: estimated from the above)
#   --raw FILE        also keep the VM's "result" lines in FILE
#   --log FILE        also keep the VM's console log (scenario output, kernel log)
# BUILD_DIR is a CMake build directory with, built: kmod-build/*.ko (target
# kmod, or $HVVSS_KMOD_DIR), tools/vss-host, vssd/hvvssd, hvvssctl/hvvssctl,
# bench/bench-stall and bench/bench-qga.  This script builds nothing.
set -eu

prog=freeze-latency
top=$(cd "$(dirname "$0")/.." && pwd)

usage() {
	sed -n '/^# Usage:/,/^# bench\/bench-stall/s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

reps=5 dirty="0 64" tools="hvvssd hv_vss_daemon qemu-ga" qga="" stall_ms=5 mem=1536
timeout="" raw="" log=""
while [ $# -gt 0 ]; do
	case $1 in
	--reps) reps=$2; shift 2 ;;
	--dirty) dirty=$2; shift 2 ;;
	--tools) tools=$2; shift 2 ;;
	--qga) qga=$2; shift 2 ;;
	--stall-ms) stall_ms=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--raw) raw=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	-h|--help) usage ;;
	--*) echo "$prog: unknown option $1" >&2; usage ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || usage
build=$1
[ -d "$build" ] || { echo "$prog: build directory $build does not exist" >&2; exit 2; }
build=$(cd "$build" && pwd)
kmod_dir=${HVVSS_KMOD_DIR:-$build/kmod-build}

case $reps in ''|*[!0-9]*|0) echo "$prog: --reps needs a positive number" >&2; exit 2 ;; esac
max_dirty=0
for d in $dirty; do
	case $d in ''|*[!0-9]*) echo "$prog: --dirty takes MB numbers, e.g. \"0 64\"" >&2; exit 2 ;; esac
	[ "$d" -gt "$max_dirty" ] && max_dirty=$d
done

missing=0
need() { # need FILE HOW-TO-GET-IT
	if [ ! -e "$1" ]; then
		echo "$prog: missing $1: $2" >&2
		missing=1
	fi
}
need "$kmod_dir/hv_vss.ko" "cmake --build $build --target kmod"
need "$kmod_dir/hv_vss_hostsim.ko" "cmake --build $build --target kmod"
need "$build/tools/vss-host" "cmake --build $build --target vss-host"
need "$build/bench/bench-stall" "cmake --build $build --target bench-stall"
bins="--bin $build/tools/vss-host --bin $build/bench/bench-stall"
tools_ok=
for t in $tools; do
	case $t in
	hvvssd)
		need "$build/vssd/hvvssd" "cmake --build $build --target hvvssd"
		need "$build/hvvssctl/hvvssctl" "cmake --build $build --target hvvssctl"
		bins="$bins --bin $build/vssd/hvvssd --bin $build/hvvssctl/hvvssctl"
		;;
	hv_vss_daemon)
		need /usr/sbin/hv_vss_daemon "apt-get install hyperv-daemons"
		bins="$bins --bin /usr/sbin/hv_vss_daemon"
		;;
	qemu-ga)
		[ -n "$qga" ] || qga=$(command -v qemu-ga 2>/dev/null || echo /usr/sbin/qemu-ga)
		if [ ! -x "$qga" ]; then
			echo "$prog: note: no qemu-ga ($qga), so no qemu-ga column: apt-get install qemu-guest-agent," >&2
			echo "$prog:   or unpack it without installing: apt-get download qemu-guest-agent &&" >&2
			echo "$prog:   dpkg -x qemu-guest-agent_*.deb DIR, then --qga DIR/usr/sbin/qemu-ga" >&2
			continue
		fi
		need "$build/bench/bench-qga" "cmake --build $build --target bench-qga"
		bins="$bins --bin $qga:/usr/sbin/qemu-ga --bin $build/bench/bench-qga"
		;;
	*) echo "$prog: unknown tool $t (hvvssd, hv_vss_daemon, qemu-ga)" >&2; exit 2 ;;
	esac
	tools_ok="$tools_ok${tools_ok:+ }$t"
done
[ "$missing" = 0 ] || exit 1
[ -n "$tools_ok" ] || { echo "$prog: no tool to measure" >&2; exit 2; }
tools=$tools_ok
ntools=$(echo "$tools" | wc -w)

# Each disk holds one dirty file, the probe and the filesystem's own needs.
disk_mb=$((max_dirty * 2 + 200))
[ "$disk_mb" -ge 300 ] || disk_mb=300
if [ -z "$timeout" ]; then
	sum=0
	for d in $dirty; do sum=$((sum + d)); done
	# Generous: about 12 s per cycle plus 0.5 s per MB of dirty data under TCG.
	timeout=$((300 + (reps + 1) * ntools * ($(echo "$dirty" | wc -w) * 12 + sum / 2)))
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/hvvss-freeze-latency.XXXXXX")
trap 'rm -rf "$work"' EXIT
cat >"$work/bench.conf" <<EOF
REPS=$reps
DIRTY_MB="$dirty"
TOOLS="$tools"
STALL_MS=$stall_ms
EOF

echo "$prog: tools: $tools; dirty MB per filesystem: $dirty; $reps repetitions (+1 warm-up)"
echo "$prog: VM: 4 filesystems (ext4, xfs, btrfs, ext4) of $disk_mb MB, $mem MB memory, timeout ${timeout} s"
echo "$prog: progress (one line per freeze/thaw cycle):"
rc=0
# shellcheck disable=SC2086
"$top/tests/vm/run-vm.sh" --kmod-dir "$kmod_dir" --scenario "$top/bench/freeze-latency-vm.sh" \
	$bins --file "$work/bench.conf:/opt/hvvss-bench/bench.conf" \
	--disk "ext4:$disk_mb" --disk "xfs:$disk_mb" --disk "btrfs:$disk_mb" --disk "ext4:$disk_mb" \
	--mem "$mem" --timeout "$timeout" --log "$work/console.log" >"$work/out" 2>&1 &
vm=$!
# Stream the progress while the VM runs.
tail -n +1 -f "$work/out" --pid "$vm" 2>/dev/null |
	sed -u -n 's/^result /  /p; s/^\(not ok .*\)/  \1/p; s/^\(vm: .*\)/  \1/p' || true
wait "$vm" || rc=$?
[ -z "$raw" ] || grep '^result ' "$work/out" >"$raw" || true
[ -z "$log" ] || cp "$work/console.log" "$log" 2>/dev/null || true

if [ "$rc" != 0 ]; then
	echo "$prog: the VM run failed (exit status $rc); its output:" >&2
	sed 's/^/  | /' "$work/out" >&2
	echo "$prog: console log tail:" >&2
	tail -n 60 "$work/console.log" 2>/dev/null | sed 's/^/  | /' >&2
fi

echo
echo "Host-side latency in ms, median / max over $reps repetitions (warm-up excluded)."
echo "FREEZE, THAW: request sent -> reply received (vss-host ms=; bench-qga for qemu-ga)."
echo "blocked: longest time a writer on any of the 4 filesystems could not write."
grep '^result ' "$work/out" | awk -v order="$tools" '
function val(s, k,   a, i, n) {
	n = split(s, a, " ")
	for (i = 1; i <= n; i++)
		if (index(a[i], k "=") == 1)
			return substr(a[i], length(k) + 2)
	return ""
}
function medmax(key,   n, i, j, t, v) {
	n = cnt[key]
	if (n == 0)
		return sprintf("%15s", "-")
	for (i = 1; i <= n; i++)
		v[i] = vals[key, i] + 0
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
			t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
		}
	if (n % 2)
		t = v[(n + 1) / 2]
	else
		t = (v[n / 2] + v[n / 2 + 1]) / 2
	return sprintf("%7d / %-7d", t, v[n])
}
{
	rep = val($0, "rep")
	if (rep == 0)
		next
	tool = val($0, "tool"); d = val($0, "dirty_mb")
	if (!(d in seen_d)) { seen_d[d] = 1; dl[++nd] = d }
	n[d, tool]++
	split("freeze_ms thaw_ms stall_ms", ks, " ")
	for (k = 1; k <= 3; k++) {
		x = val($0, ks[k])
		if (x ~ /^[0-9]+$/) {
			key = d SUBSEP tool SUBSEP ks[k]
			vals[key, ++cnt[key]] = x
		}
	}
	dkb[d, tool] = val($0, "dirty_kb_at_freeze")
}
END {
	nt = split(order, tl, " ")
	printf "\n%-10s %-14s %3s  %-17s  %-17s  %-17s\n", "dirty/fs", "tool", "n", \
		"  FREEZE med/max", "    THAW med/max", " blocked med/max"
	for (i = 1; i <= nd; i++)
		for (j = 1; j <= nt; j++) {
			d = dl[i]; t = tl[j]
			if (!((d, t) in n))
				continue
			printf "%-10s %-14s %3d  %s  %s  %s\n", d " MB", t, n[d, t], \
				medmax(d SUBSEP t SUBSEP "freeze_ms"), medmax(d SUBSEP t SUBSEP "thaw_ms"), \
				medmax(d SUBSEP t SUBSEP "stall_ms")
		}
}'
exit "$rc"
