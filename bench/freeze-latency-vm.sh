#!/bin/sh
# VM half of bench/freeze-latency.sh (run by it through tests/vm/run-vm.sh;
# not a test, not registered with CTest).  Busybox ash, inside QEMU: every
# freeze happens on the virtio disks the harness made, never on the host.
#
# Disks: vda ext4, vdb xfs, vdc btrfs, vdd ext4 (a second ext4), mounted on
# /mnt/ext4 /mnt/xfs /mnt/btrfs /mnt/ext4b.  Settings come from
# /opt/hvvss-bench/bench.conf (written by freeze-latency.sh):
#   REPS       repetitions per case (plus one unreported warm-up round)
#   DIRTY_MB   MB written with dd to EACH filesystem just before FREEZE, e.g. "0 64"
#   TOOLS      any of: hvvssd hv_vss_daemon qemu-ga
#   STALL_MS   bench-stall's write interval
#
# One cycle (tool, dirty, rep):
#   remove the previous dirty files, sync               (clean start)
#   bench-stall: open a new window
#   dd DIRTY_MB to each filesystem, no sync             (page cache only)
#   FREEZE (vss-host op freeze | qemu-ga guest-fsfreeze-freeze-list) -> ms
#   THAW at once (vss-host op thaw | guest-fsfreeze-thaw)            -> ms
#   bench-stall: the longest a writer on any of the filesystems waited
# and prints one "result ..." line, which freeze-latency.sh tabulates.
# hvvssd and hv_vss_daemon are started before and stopped after each cycle
# (only one daemon can be registered); the order inside a round is
# tool-interleaved so a slow patch of the (shared, emulated) machine hits
# every tool alike.
# shellcheck source=/dev/null
. /lib/hvvss/tap.sh
# shellcheck source=/dev/null
. /opt/hvvss-bench/bench.conf

SYS='/sys/class/misc/vmbus!hv_vss'
MNTS="/mnt/ext4 /mnt/xfs /mnt/btrfs /mnt/ext4b"
QGA_SOCK=/run/qga.sock
DAEMON_PID=
STALL_PID=
QGA_PID=

cleanup() {
	[ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null
	for m in $MNTS; do fsfreeze --unfreeze "$m" 2>/dev/null; done
	[ -n "$STALL_PID" ] && kill "$STALL_PID" 2>/dev/null
	[ -n "$QGA_PID" ] && kill "$QGA_PID" 2>/dev/null
}
trap cleanup EXIT

registered() {
	[ "$(cat "$SYS/daemon_registered" 2>/dev/null)" = "$1" ]
}

# --- setup --------------------------------------------------------------
check "insmod hv_vss.ko" insmod "$HVVSS_KMOD/hv_vss.ko"
check "insmod hv_vss_hostsim.ko" insmod "$HVVSS_KMOD/hv_vss_hostsim.ko"
check "/dev/vmbus/hv_vss and /dev/hv_vss_hostsim appear" \
	wait_until 5 test -c /dev/vmbus/hv_vss -a -c /dev/hv_vss_hostsim
for spec in vda:ext4:ext4 vdb:xfs:xfs vdc:btrfs:btrfs vdd:ext4:ext4b; do
	dev=${spec%%:*} rest=${spec#*:}
	fs=${rest%%:*} dir=/mnt/${rest#*:}
	check "mount /dev/$dev ($fs) on $dir" sh -c "mkdir -p $dir && mount -t $fs /dev/$dev $dir"
done
check "negotiate with the host simulator" sh -c 'vss-host negotiate | grep -q "framework=3.0 message=5.0"'

# Keep dd's data dirty until the freeze: no background or periodic
# writeback, no throttling below 1 GiB (the VM has enough memory).
echo 1073741824 >/proc/sys/vm/dirty_bytes
echo 805306368 >/proc/sys/vm/dirty_background_bytes
echo 360000 >/proc/sys/vm/dirty_expire_centisecs
echo 0 >/proc/sys/vm/dirty_writeback_centisecs

mkdir -p /run/hyperv-vss /etc/hyperv-vss/hooks.d
# Defaults, except the time limits: an emulated freeze of a few hundred MB
# may take longer than the 20 s freeze_timeout meant for real machines.
cat >/run/hvvssd-bench.conf <<EOF
freeze_timeout = 600s
max_frozen_time = 600s
EOF
HVVSSD_SCOPE=
for m in $MNTS; do HVVSSD_SCOPE="$HVVSSD_SCOPE --scope $m"; done
QGA_MNTS=
for m in $MNTS; do QGA_MNTS="$QGA_MNTS${QGA_MNTS:+,}\"$m\""; done

case " $TOOLS " in *" qemu-ga "*)
	mkdir -p /run/qga-state
	qemu-ga -m unix-listen -p "$QGA_SOCK" -t /run/qga-state >/tmp/qga.log 2>&1 &
	QGA_PID=$!
	check "qemu-ga listens on $QGA_SOCK" wait_until 20 test -S "$QGA_SOCK"
	check "qemu-ga answers guest-ping" bench-qga --wait 20 "$QGA_SOCK" '{"execute":"guest-ping"}'
	;;
esac

# shellcheck disable=SC2086 # one argument per mount
bench-stall --interval-ms "$STALL_MS" $MNTS >/tmp/stall.out 2>&1 &
STALL_PID=$!
check "bench-stall writers run on $MNTS" wait_until 10 grep -q '^stall ready' /tmp/stall.out

# Close bench-stall's window; prints its max_ms.
stall_report() {
	_n=$(wc -l </tmp/stall.out)
	kill -USR1 "$STALL_PID"
	wait_until 600 sh -c "test \$(wc -l </tmp/stall.out) -gt $_n" || { echo "?"; return; }
	tail -n 1 /tmp/stall.out | sed -n 's/^stall seq=[0-9]* max_ms=\([0-9]*\).*/\1/p'
}

start_daemon() {
	case $1 in
	hvvssd)
		# shellcheck disable=SC2086
		hvvssd --foreground -c /run/hvvssd-bench.conf --state-dir /run/hyperv-vss \
			$HVVSSD_SCOPE >>/tmp/hvvssd.log 2>&1 &
		;;
	hv_vss_daemon)
		/usr/sbin/hv_vss_daemon -n >>/tmp/hvd.log 2>&1 &
		;;
	*) return 0 ;;
	esac
	DAEMON_PID=$!
	wait_until 30 registered 1
}

stop_daemon() {
	[ -n "$DAEMON_PID" ] || return 0
	kill "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
	wait_until 30 registered 0
}

# ms= of a reply line (vss-host or bench-qga).
ms_of() {
	printf '%s\n' "$1" | sed -n 's/^reply .*ms=\([0-9]*\).*/\1/p' | head -n 1
}

cycle() {
	_tool=$1 _dirty=$2 _rep=$3 _err=
	if ! start_daemon "$_tool"; then
		not_ok "$_tool registers (dirty $_dirty MB, rep $_rep)"
		diag "$(tail -n 20 /tmp/hvvssd.log /tmp/hvd.log 2>/dev/null)"
		stop_daemon
		return
	fi
	for m in $MNTS; do rm -f "$m/dirty"; done
	sync
	stall_report >/dev/null
	if [ "$_dirty" -gt 0 ]; then
		for m in $MNTS; do
			dd if=/dev/zero of="$m/dirty" bs=1M count="$_dirty" 2>/dev/null || _err="dd $m"
		done
	fi
	_dkb=$(awk '/^Dirty:/ { print $2 }' /proc/meminfo)
	if [ "$_tool" = qemu-ga ]; then
		_fo=$(bench-qga "$QGA_SOCK" "{\"execute\":\"guest-fsfreeze-freeze-list\",\"arguments\":{\"mountpoints\":[$QGA_MNTS]}}" 2>&1) ||
			_err="$_err freeze: $_fo"
		printf '%s\n' "$_fo" | grep -q '"return": *4' || _err="$_err freeze did not freeze 4: $_fo"
		_to=$(bench-qga "$QGA_SOCK" '{"execute":"guest-fsfreeze-thaw"}' 2>&1) ||
			_err="$_err thaw: $_to"
	else
		_fo=$(vss-host op freeze --wait 600 2>&1)
		printf '%s\n' "$_fo" | grep -q '^reply status=0x00000000 ' || _err="$_err freeze: $_fo"
		_to=$(vss-host op thaw --wait 120 2>&1)
		printf '%s\n' "$_to" | grep -q '^reply status=0x00000000 ' || _err="$_err thaw: $_to"
	fi
	_stall=$(stall_report)
	[ "$_tool" = hvvssd ] && hvvssctl history -n 1 -v >/tmp/hvvssd-last.txt 2>&1
	stop_daemon
	echo "result tool=$_tool dirty_mb=$_dirty rep=$_rep freeze_ms=$(ms_of "$_fo") thaw_ms=$(ms_of "$_to") stall_ms=$_stall dirty_kb_at_freeze=$_dkb"
	if [ -z "$_err" ]; then
		ok "$_tool dirty $_dirty MB rep $_rep: FREEZE and THAW answered OK"
	else
		not_ok "$_tool dirty $_dirty MB rep $_rep: FREEZE and THAW answered OK"
		diag "$_err"
	fi
	for m in $MNTS; do fsfreeze --unfreeze "$m" 2>/dev/null; done
}

# --- the runs -------------------------------------------------------------
diag "tools: $TOOLS; dirty MB per filesystem: $DIRTY_MB; repetitions: $REPS (+1 warm-up, rep=0)"
diag "kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPU, $(awk '/^MemTotal/ { print int($2 / 1024) }' /proc/meminfo) MB"
rep=0
while [ "$rep" -le "$REPS" ]; do
	if [ "$rep" = 0 ]; then sizes=0; else sizes=$DIRTY_MB; fi
	for dirty in $sizes; do
		for tool in $TOOLS; do
			cycle "$tool" "$dirty" "$rep"
		done
	done
	rep=$((rep + 1))
done

kill "$STALL_PID" 2>/dev/null
wait "$STALL_PID" 2>/dev/null
STALL_PID=
case " $TOOLS " in *" hvvssd "*)
	diag "hvvssd's own view of its last cycle (hvvssctl history -n 1 -v):"
	diag "$(cat /tmp/hvvssd-last.txt)"
	;;
esac
for m in $MNTS; do
	check "umount $m" timeout 60 umount "$m"
done
tap_done
