#!/bin/bash
# The product demo ("make demo"): a host backup of a running application,
# told by hvvssctl, as a readable transcript.
#
#   tools/demo.sh BUILD_DIR            in a QEMU VM: our modules, the host
#                                      simulator, hvvssd and hvvssctl on real
#                                      ext4 and xfs disks (nothing on this
#                                      machine is frozen)
#   tools/demo.sh BUILD_DIR --quick    on this machine, with loop filesystems
#                                      the demo creates (root; a scoped hvvssd,
#                                      the fake kernel end, a test freeze)
#
# Both show: hvvssctl status, mounts, hooks, a backup while a small writer
# appends to both filesystems (an application hook pauses it on freeze and
# resumes it on thaw), hvvssctl frozen during the hold, and history.
# BUILD_DIR is a CMake build directory with hvvssctl, hvvssd (and for the VM
# the modules, target kmod) built.
set -eu

prog=demo
top=$(cd "$(dirname "$0")/.." && pwd)

usage() {
	echo "$prog: usage: $0 BUILD_DIR [--quick]   (e.g. 'make demo')" >&2
	exit 2
}
[ $# -ge 1 ] && [ $# -le 2 ] || usage
build=$1
quick=0
if [ $# = 2 ]; then
	[ "$2" = --quick ] || usage
	quick=1
fi
[ -d "$build" ] || {
	echo "$prog: build directory $build does not exist; configure it first: cmake -S $top -B $build" >&2
	exit 2
}
build=$(cd "$build" && pwd)
ctl=${HVVSSCTL:-$build/hvvssctl/hvvssctl}
hvvssd=${HVVSSD:-$build/vssd/hvvssd}
kmod_dir=${HVVSS_KMOD_DIR:-$build/kmod-build}

missing=0
need() { # FILE HOW-TO-GET-IT
	if [ ! -e "$1" ]; then
		echo "$prog: missing $1: $2" >&2
		missing=1
	fi
}
need "$ctl" "cmake --build $build --target hvvssctl"
need "$hvvssd" "cmake --build $build --target hvvssd"

# ---------------------------------------------------------------- quick mode
if [ "$quick" = 1 ]; then
	fake_kernel=${HVVSS_FAKE_KERNEL:-$build/vssd/hvvss-fake-kernel}
	need "$fake_kernel" "cmake --build $build --target hvvss-fake-kernel"
	[ "$missing" = 0 ] || exit 1
	[ "$(id -u)" = 0 ] || { echo "$prog: --quick needs root (loop mounts, FIFREEZE); run it with sudo" >&2; exit 1; }

	. "$top/tests/integration/cli/lib-daemon.sh"
	trap daemon_teardown EXIT
	trap 'exit 130' INT TERM

	step() { printf '\n=== %s ===\n' "$*"; }
	run() { # show a command and its output, indented
		echo "  \$ $*"
		"$@" 2>&1 | sed 's/^/    /'
		return "${PIPESTATUS[0]}"
	}
	hvvssctl() { "$ctl" --socket "$SOCK" "$@"; }

	step "Two filesystems to protect: ext4 and xfs on loop devices, and hvvssd scoped to them"
	daemon_setup "$hvvssd" "$fake_kernel" demo || exit 1
	install_writer_hook
	echo "  ext4 on $M_EXT4, xfs on $M_XFS"
	echo "  hvvssd --foreground --scope $M_EXT4 --scope $M_XFS --device <fake kernel end> ..."
	echo "  hook: $HOOKS/10-writer pauses the writer on freeze and resumes it on thaw"
	export NO_COLOR=1

	step "Is this machine ready for a backup?"
	run hvvssctl status || true
	step "What would be frozen, in which order (other mounts: outside the test scope)"
	run hvvssctl mounts | grep -v 'outside scope' || true
	step "The application hooks"
	run hvvssctl hooks || true

	step "An application writes to both filesystems, every 0.1 s"
	writer_start
	sleep 1
	echo "  writes so far: $(writer_count)"

	step "A test freeze, held 3 s (the whole pipeline of a host backup, without a host)"
	hvvssctl test-freeze --hold 3 >"$WORK/tf.out" 2>&1 &
	tf=$!
	for _ in $(seq 100); do grep -q held "$WORK/tf.out" && break; sleep 0.1; done
	n1=$(writer_count)
	echo "  during the hold:"
	run hvvssctl frozen || true
	sleep 1
	n2=$(writer_count)
	echo "  writes during 1 s of the hold: $((n2 - n1)) (the hook paused the writer: it never blocks on a frozen filesystem)"
	rc=0
	wait "$tf" || rc=$?
	echo "  \$ hvvssctl test-freeze --hold 3"
	sed 's/^/    /' "$WORK/tf.out"
	sleep 1
	echo "  after the thaw the writer goes on: $(writer_count) writes"

	step "History"
	run hvvssctl history || true
	echo
	if [ "$rc" = 0 ]; then
		echo "demo: the test freeze succeeded (exit 0)"
	else
		echo "demo: the test freeze FAILED (exit $rc)"
	fi
	exit "$rc"
fi

# ------------------------------------------------------------------- VM mode
for f in "$kmod_dir/hv_vss.ko" "$kmod_dir/hv_vss_hostsim.ko"; do
	need "$f" "cmake --build $build --target kmod"
done
[ "$missing" = 0 ] || exit 1

work=$(mktemp -d "${TMPDIR:-/tmp}/hvvss-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The scenario runs inside the VM (busybox ash). Every step prints what it
# does and what it saw; the "ok"/"not ok" lines let run-vm.sh judge it.
cat >"$work/demo.sh" <<'SCENARIO'
. "$HVVSS_KMOD/tap.sh" # ok, check, wait_until; step and run for the transcript
SYS='/sys/class/misc/vmbus!hv_vss'
RUN=/run/demo
mkdir -p "$RUN" /etc/hyperv-vss/hooks.d
export NO_COLOR=1

count() { cat "$RUN/writer.count" 2>/dev/null || echo 0; }
cleanup() {
	[ -n "${writer:-}" ] && kill "$writer" 2>/dev/null
	for fs in ext4 xfs; do fsfreeze --unfreeze "/mnt/$fs" 2>/dev/null; done
	[ -n "${daemon:-}" ] && kill "$daemon" 2>/dev/null
}
trap cleanup EXIT

step "Load the VSS core and the host simulator (it plays Hyper-V)"
check "insmod hv_vss.ko" insmod "$HVVSS_KMOD/hv_vss.ko"
check "insmod hv_vss_hostsim.ko" insmod "$HVVSS_KMOD/hv_vss_hostsim.ko"
check "/dev/vmbus/hv_vss and /dev/hv_vss_hostsim appear" wait_until 15 test -c /dev/vmbus/hv_vss -a -c /dev/hv_vss_hostsim

step "Filesystems to protect: ext4 on /dev/vda, xfs on /dev/vdb"
for pair in vda:ext4 vdb:xfs; do
	dev=${pair%%:*} fs=${pair#*:}
	mkdir -p "/mnt/$fs"
	check "mount /dev/$dev ($fs) on /mnt/$fs" mount -t "$fs" "/dev/$dev" "/mnt/$fs"
done

step "An application hook: pause the writer on freeze, resume it on thaw"
cat >/etc/hyperv-vss/hooks.d/10-writer <<HOOK
#!/bin/sh
case "\$1" in
freeze)
	touch $RUN/writer.pause
	i=0
	while [ ! -e $RUN/writer.paused ] && [ \$i -lt 50 ]; do sleep 0.1; i=\$((i + 1)); done
	echo "writer paused after \$(cat $RUN/writer.count) writes" ;;
thaw)
	rm -f $RUN/writer.pause
	echo "writer resumed" ;;
esac
HOOK
chmod 0755 /etc/hyperv-vss/hooks.d/10-writer
sed 's/^/    /' /etc/hyperv-vss/hooks.d/10-writer

step "Start hvvssd (scoped to the two disks: the VM's root is an initramfs)"
echo "  \$ hvvssd --foreground --scope /mnt/ext4 --scope /mnt/xfs &"
hvvssd --foreground --scope /mnt/ext4 --scope /mnt/xfs --device /dev/vmbus/hv_vss \
	--socket /run/hyperv-vss/control --state-dir /run/hyperv-vss >/tmp/hvvssd.log 2>&1 &
daemon=$!
ready() { hvvssctl status >/dev/null 2>&1; _r=$?; [ $_r = 0 ] || [ $_r = 10 ]; }
if wait_until 20 ready; then ok "hvvssd answers"; else not_ok "hvvssd answers"; diag "$(cat /tmp/hvvssd.log)"; fi
check_eq "hvvssd holds /dev/vmbus/hv_vss (sysfs daemon_pid)" "$daemon" "$(cat "$SYS/daemon_pid")"

step "hvvssctl status: is this machine ready for a host backup?"
run hvvssctl status
rc=$?
case $rc in 0|10) ok "status exit $rc (0 ready, 10 ready with warnings)" ;; *) not_ok "status exit $rc" ;; esac
step "hvvssctl mounts: the freeze plan"
run hvvssctl mounts
step "hvvssctl hooks"
if run hvvssctl hooks; then ok "no hook has a problem"; else not_ok "no hook has a problem"; fi

step "The application: append a numbered line to both filesystems every 0.1 s"
(
	n=0
	while :; do
		if [ -e "$RUN/writer.pause" ]; then touch "$RUN/writer.paused"; sleep 0.05; continue; fi
		rm -f "$RUN/writer.paused"
		n=$((n + 1))
		echo "write $n" >>/mnt/ext4/app.log
		echo "write $n" >>/mnt/xfs/app.log
		# Readers poll the count: write it whole (rename), never truncated.
		echo "$n" >"$RUN/writer.count.new" && mv -f "$RUN/writer.count.new" "$RUN/writer.count"
		sleep 0.1
	done
) &
writer=$!
sleep 2
echo "  writes so far: $(count)"

# The hold outlasts the checks below even on a slow TCG vCPU.
step "The host backs up: hvvssctl test-freeze --kernel --hold 8 (negotiate, HOT_BACKUP, FREEZE, hold, THAW)"
hvvssctl test-freeze --kernel --hold 8 >/tmp/tf.out 2>&1 &
tf=$!
wait_until 60 grep -q 'holding' /tmp/tf.out
n1=$(count)
echo "  during the hold, from another shell:"
run hvvssctl frozen
grep -q /mnt/ext4 /tmp/run.out && grep -q /mnt/xfs /tmp/run.out && ok "both filesystems frozen during the hold" ||
	not_ok "both filesystems frozen during the hold"
sleep 1
n2=$(count)
check_eq "the hook paused the writer: no writes during the hold" "$n1" "$n2"
wait "$tf"
rc=$?
echo "  \$ hvvssctl test-freeze --kernel --hold 8"
sed 's/^/    /' /tmp/tf.out
check_eq "test-freeze --kernel exit status" 0 "$rc"
wait_until 15 sh -c "[ \$(cat $RUN/writer.count) -gt $n2 ]"
n3=$(count)
if [ "$n3" -gt "$n2" ]; then ok "the writer resumed after the thaw ($n3 writes)"; else not_ok "the writer resumed after the thaw"; fi
tail -n 1 /mnt/ext4/app.log | grep -q "write" && ok "the application's data is on disk" || not_ok "the application's data is on disk"

step "hvvssctl history"
run hvvssctl history
grep -q 'host-backup.*ok' /tmp/run.out && ok "history shows the host backup ok" || not_ok "history shows the host backup ok"
step "hvvssctl status after the backup"
run hvvssctl status
step "Kernel counters: $SYS/stats/"
for f in freeze_ok thaw_ok hot_backup_ok negotiate_ok; do
	printf '    %-24s %s\n' "$f" "$(cat "$SYS/stats/$f")"
done

kill "$writer" 2>/dev/null; wait "$writer" 2>/dev/null; writer=
kill "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null; daemon=
for fs in ext4 xfs; do check "umount /mnt/$fs" umount "/mnt/$fs"; done
echo
tap_done
SCENARIO

echo "$prog: booting a VM (QEMU TCG, Debian kernel) with the modules from $kmod_dir, hvvssd and hvvssctl"
rc=0
"$top/tests/vm/run-vm.sh" --kmod-dir "$kmod_dir" --scenario "$work/demo.sh" \
	--bin "$hvvssd" --bin "$ctl" --disk ext4:64 --disk xfs:300 --timeout 240 || rc=$?
exit "$rc"
