#!/bin/sh
# The kernel half, end to end, in a VM (run by "make demo"):
# our modules + the host simulator + Debian's own hv_vss_daemon freeze and
# thaw real ext4 and xfs filesystems on host requests, with a readable
# transcript.  Nothing on this machine is frozen: it all happens in QEMU.
#
# Usage: tools/demo-kernel.sh BUILD_DIR
#   BUILD_DIR is a CMake build directory where the modules (target kmod,
#   into BUILD_DIR/kmod-build, or $HVVSS_KMOD_DIR) and tools/vss-host are built.
set -eu

prog=demo-kernel
top=$(cd "$(dirname "$0")/.." && pwd)

if [ $# -ne 1 ]; then
	echo "$prog: usage: $0 BUILD_DIR (a CMake build directory; e.g. 'make demo')" >&2
	exit 2
fi
build=$1
[ -d "$build" ] || {
	echo "$prog: build directory $build does not exist; configure it first: cmake -S $top -B $build" >&2
	exit 2
}
build=$(cd "$build" && pwd)
kmod_dir=${HVVSS_KMOD_DIR:-$build/kmod-build}

missing=0
for f in "$kmod_dir/hv_vss.ko" "$kmod_dir/hv_vss_hostsim.ko"; do
	if [ ! -f "$f" ]; then
		echo "$prog: missing kernel module $f: build it with 'cmake --build $build --target kmod'" >&2
		missing=1
	fi
done
if [ ! -x "$build/tools/vss-host" ]; then
	echo "$prog: missing host tool $build/tools/vss-host: build it with 'cmake --build $build --target vss-host'" >&2
	missing=1
fi
if [ ! -x /usr/sbin/hv_vss_daemon ]; then
	echo "$prog: missing /usr/sbin/hv_vss_daemon: apt-get install hyperv-daemons" >&2
	missing=1
fi
[ "$missing" = 0 ] || exit 1

work=$(mktemp -d "${TMPDIR:-/tmp}/hvvss-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The scenario runs inside the VM (busybox ash).  Every step prints what it
# does and what it saw; the "ok"/"not ok" lines let run-vm.sh judge the demo.
cat >"$work/demo-kernel.sh" <<'SCENARIO'
. "$HVVSS_KMOD/tap.sh" # ok, check, wait_until; step and run for the transcript
SYS='/sys/class/misc/vmbus!hv_vss'
FS="ext4 xfs"

registered() {
	[ "$(cat "$SYS/daemon_registered" 2>/dev/null)" = 1 ]
}
# Never leave the VM with a filesystem frozen, whatever happened.
cleanup() {
	for fs in $FS; do
		fsfreeze --unfreeze "/mnt/$fs" 2>/dev/null
	done
}
trap cleanup EXIT

step "Load the VSS core and the host simulator"
if run insmod "$HVVSS_KMOD/hv_vss.ko" && run insmod "$HVVSS_KMOD/hv_vss_hostsim.ko"; then
	ok "modules loaded"
else
	not_ok "modules loaded"
fi
echo "  \$ lsmod"
lsmod | grep '^hv_vss' | sed 's/^/    /'

step "Device nodes"
if wait_until 5 test -c /dev/vmbus/hv_vss -a -c /dev/hv_vss_hostsim; then
	ok "/dev/vmbus/hv_vss (for the daemon) and /dev/hv_vss_hostsim (for the host) exist"
else
	not_ok "/dev/vmbus/hv_vss and /dev/hv_vss_hostsim exist"
fi
run ls -l /dev/vmbus/hv_vss /dev/hv_vss_hostsim

step "Filesystems to protect: ext4 on /dev/vda, xfs on /dev/vdb"
for pair in vda:ext4 vdb:xfs; do
	dev=${pair%%:*} fs=${pair#*:}
	mkdir -p "/mnt/$fs"
	check "mount /dev/$dev ($fs) on /mnt/$fs" mount -t "$fs" "/dev/$dev" "/mnt/$fs"
	echo "data from before the backup" >"/mnt/$fs/before"
done
sync
echo "  /proc/mounts, as hv_vss_daemon reads it (it freezes only sources under /dev/,"
echo "  so the initramfs root, listed as 'rootfs', is left alone):"
sed 's/^/    /' /proc/mounts

step "Start Debian's hv_vss_daemon on our module"
echo "  \$ /usr/sbin/hv_vss_daemon -n &"
/usr/sbin/hv_vss_daemon -n >/tmp/hvd.log 2>&1 &
hvd=$!
if wait_until 10 registered; then
	ok "hv_vss_daemon registered"
else
	not_ok "hv_vss_daemon registered"
	diag "$(cat /tmp/hvd.log)"
fi
echo "    daemon_registered = $(cat "$SYS/daemon_registered")"
echo "    daemon_pid        = $(cat "$SYS/daemon_pid") (hv_vss_daemon is $hvd)"
check_eq "daemon_pid is hv_vss_daemon's pid" "$hvd" "$(cat "$SYS/daemon_pid")"

step "Host: negotiate versions"
if run vss-host --human negotiate; then ok "negotiation answered"; else not_ok "negotiation answered"; fi
check "framework 3.0, message 5.0 agreed" grep -q 'framework=3.0 message=5.0' /tmp/run.out

step "Host: HOT_BACKUP (can this guest take a consistent backup?)"
if run vss-host --human --wait 15 op hot_backup && grep -q 'status=0x00000000' /tmp/run.out; then
	ok "HOT_BACKUP -> ok"
else
	not_ok "HOT_BACKUP -> ok"
fi

step "Host: FREEZE"
if run vss-host --human --wait 60 op freeze && grep -q 'status=0x00000000' /tmp/run.out; then
	ok "FREEZE -> ok"
else
	not_ok "FREEZE -> ok"
fi
echo "  Proof: start a writer on each filesystem; it must block while frozen."
for fs in $FS; do
	rm -f "/tmp/$fs.done"
	(echo "written during the backup" >"/mnt/$fs/during" && echo done >"/tmp/$fs.done") &
done
check "the initramfs root stays writable (hv_vss_daemon skipped 'rootfs')" \
	timeout 5 sh -c 'echo probe >/root/probe'
sleep 3
for fs in $FS; do
	if [ ! -e "/tmp/$fs.done" ]; then
		ok "$fs is frozen: the write is still blocked after 3 s"
	else
		not_ok "$fs is frozen: the write is still blocked after 3 s"
	fi
done

step "Host: THAW (the snapshot is taken)"
if run vss-host --human --wait 30 op thaw && grep -q 'status=0x00000000' /tmp/run.out; then
	ok "THAW -> ok"
else
	not_ok "THAW -> ok"
fi
for fs in $FS; do
	if wait_until 10 test -e "/tmp/$fs.done"; then
		ok "$fs thawed: the blocked write completed: '$(cat "/mnt/$fs/during")'"
	else
		not_ok "$fs thawed: the blocked write completed"
	fi
done

step "Counters: $SYS/stats/"
for f in "$SYS"/stats/*; do
	printf '    %-24s %s\n' "${f##*/}" "$(cat "$f")"
done
for f in state last_operation last_result last_duration_us; do
	[ -e "$SYS/$f" ] && printf '    %-24s %s\n' "$f" "$(cat "$SYS/$f")"
done

step "hv_vss_daemon's syslog messages"
logread 2>/dev/null | grep -i 'vss' | sed 's/^/    /'

kill "$hvd" 2>/dev/null
wait "$hvd" 2>/dev/null
for fs in $FS; do
	check "umount /mnt/$fs" umount "/mnt/$fs"
done
echo
tap_done
SCENARIO

echo "$prog: booting a VM (QEMU TCG, Debian kernel) with the modules from $kmod_dir"
rc=0
"$top/tests/vm/run-vm.sh" --kmod-dir "$kmod_dir" --scenario "$work/demo-kernel.sh" \
	--bin "$build/tools/vss-host" --bin /usr/sbin/hv_vss_daemon \
	--disk ext4:64 --disk xfs:300 --timeout 180 || rc=$?
exit "$rc"
