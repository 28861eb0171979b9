#!/bin/sh
# /init of the VM test initramfs (busybox ash, PID 1).
#
# Sets up a minimal system, runs /scenario.sh with its output on the serial
# console between markers, then prints the kernel log and the taint value
# between markers and powers off.  run-vm.sh on the host parses the markers,
# so their text is an interface: keep it in sync with run-vm.sh and
# check-kernel-log.sh.
#
# No "set -e": if PID 1 exits the kernel panics and the host sees only a
# truncated log, so every failure here is reported and the run continues to
# the end markers, where the host judges it.

export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
export HVVSS_KMOD=/lib/hvvss

say() {
	echo "hvvss-vm: $*"
}

mount -t proc -o nosuid,nodev,noexec proc /proc
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mount -t devtmpfs -o nosuid,mode=0755 devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o nosuid,noexec,gid=5,mode=620,ptmxmode=000 devpts /dev/pts
mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /run
mount -t tmpfs -o nosuid,nodev tmpfs /tmp
mount -t tmpfs -o nosuid,nodev tmpfs /dev/shm
# The console the kernel gave us came from the built-in initramfs' /dev;
# reopen it from devtmpfs so it survives whatever scenarios do to /dev.
exec </dev/console >/dev/console 2>&1

# Written by run-vm.sh: HVVSS_NAME, HVVSS_DISKS ("vda:ext4 vdb:xfs"),
# HVVSS_SCENARIO_DEADLINE (uptime in seconds when a scenario is killed).
# shellcheck disable=SC1091 # generated per run
. /etc/hvvss-vm.conf
export HVVSS_NAME HVVSS_DISKS

# Disk drivers, and the filesystem modules of this run's disks, in the
# dependency order mkinitramfs.sh resolved on the host (lines "GROUP PATH").
# Not modprobe: this does not depend on the VM's modprobe working, which is
# what scenarios get to test.  Other filesystems are autoloaded by mount.
groups="virtio_pci virtio_blk"
for spec in ${HVVSS_DISKS:-}; do
	groups="$groups ${spec#*:}"
done
while read -r group ko; do
	case " $groups " in *" $group "*) ;; *) continue ;; esac
	name=$(basename "$ko" .ko | tr - _)
	[ -d "/sys/module/$name" ] && continue
	insmod "$ko" || say "WARNING: insmod $ko failed"
done </lib/hvvss/boot-modules
# So the kernel's request_module() (mount -t vfat, losetup) finds modprobe.
echo /sbin/modprobe >/proc/sys/kernel/modprobe

# virtio_blk probes asynchronously: wait until every disk has appeared.
for spec in ${HVVSS_DISKS:-}; do
	dev=${spec%%:*}
	n=0
	while [ ! -b "/dev/$dev" ] && [ $n -lt 200 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	[ -b "/dev/$dev" ] || say "WARNING: disk /dev/$dev ($spec) did not appear within 20 s"
done

# A syslog for daemons such as hv_vss_daemon, kept in memory (never on a
# filesystem a scenario may freeze); printed after the kernel log.
syslogd -C256 2>/dev/null || say "WARNING: syslogd did not start; syslog messages are lost"

hostname hvvss-vm
cd /tmp || cd /

say "root filesystem as tools see it in /proc/mounts: $(grep ' / ' /proc/mounts | head -n 1)"
say "booted in $(cut -d' ' -f1 /proc/uptime) s, kernel $(uname -r), disks: ${HVVSS_DISKS:-none}"

# In-VM watchdog, a little before the host's timeout, so a hung scenario
# (a writer stuck on a frozen filesystem, say) still yields the blocked-task
# dump and the kernel log instead of just being killed.
deadline=${HVVSS_SCENARIO_DEADLINE:-170}
left=$((deadline - $(cut -d. -f1 /proc/uptime)))
[ "$left" -gt 0 ] || left=1
echo "==hvvss-vm== scenario-begin"
sh /scenario.sh </dev/null &
spid=$!
(
	sleep "$left"
	if kill -0 "$spid" 2>/dev/null; then
		echo "==hvvss-vm== scenario-timeout at uptime $deadline s; blocked tasks follow in the kernel log"
		echo w >/proc/sysrq-trigger
		kill -9 "$spid"
	fi
) &
wpid=$!
wait "$spid"
rc=$?
kill "$wpid" 2>/dev/null
echo "==hvvss-vm== scenario-end rc=$rc"

echo "==hvvss-vm== kernel-log-begin"
dmesg
echo "==hvvss-vm== kernel-log-end"
echo "==hvvss-vm== tainted $(cat /proc/sys/kernel/tainted)"
echo "==hvvss-vm== syslog-begin"
logread 2>/dev/null
echo "==hvvss-vm== syslog-end"
echo "==hvvss-vm== done"

# -n: no sync(); a scenario may have left a filesystem frozen and sync()
# would then block forever.
poweroff -n -f
echo o >/proc/sysrq-trigger
sleep 10
