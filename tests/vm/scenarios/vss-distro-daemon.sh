#!/bin/sh
# Debian's own /usr/sbin/hv_vss_daemon against our module, freezing and
# thawing real ext4, xfs and btrfs filesystems on virtio disks on simulated host
# requests.  While frozen, a write to each filesystem must block; after
# THAW it completes and its data is there.
#
# The initramfs root shows in /proc/mounts as "rootfs / rootfs": the distro
# daemon only freezes mounts whose source starts with "/dev/", so it leaves
# the root (and the tmpfs/devtmpfs mounts) alone and freezes exactly
# /dev/vda, /dev/vdb and /dev/vdc here.  The scenario checks that too: the root and
# /tmp stay writable during the freeze.
. /lib/hvvss/tap.sh
. /lib/hvvss/vss-lib.sh

FS="ext4 xfs btrfs"

mount_disks() {
	check "mount /dev/vda (ext4) on /mnt/ext4" sh -c 'mkdir -p /mnt/ext4 && mount -t ext4 /dev/vda /mnt/ext4'
	check "mount /dev/vdb (xfs) on /mnt/xfs" sh -c 'mkdir -p /mnt/xfs && mount -t xfs /dev/vdb /mnt/xfs'
	check "mount /dev/vdc (btrfs) on /mnt/btrfs" sh -c 'mkdir -p /mnt/btrfs && mount -t btrfs /dev/vdc /mnt/btrfs'
	for fs in $FS; do
		echo "before-$fs" >"/mnt/$fs/before" && sync
	done
}

# Everything a thaw failure would leave behind must not hang the VM: if a
# filesystem is still frozen at the end, thaw it ourselves before umount.
cleanup() {
	for fs in $FS; do
		fsfreeze --unfreeze "/mnt/$fs" 2>/dev/null
	done
	kill "$HVD_PID" 2>/dev/null
}

load_modules
mount_disks
diag "/proc/mounts as hv_vss_daemon sees it:"
diag "$(cat /proc/mounts)"
host_reply "negotiate 3.0/5.0" '^negotiate framework=3.0 message=5.0$' negotiate

/usr/sbin/hv_vss_daemon -n >/tmp/hvd.log 2>&1 &
HVD_PID=$!
check "hv_vss_daemon -n registers (daemon_registered 1)" \
	wait_until 10 sh -c "test \"\$(cat '$SYS/daemon_registered')\" = 1"
check_eq "daemon_pid is hv_vss_daemon's" "$HVD_PID" "$(sysval daemon_pid)"
check_eq "hv_vss_daemon registered with REGISTER1" 129 "$(sysval daemon_abi)"

host_reply "HOT_BACKUP through hv_vss_daemon -> OK, flags 0x5" \
	"^reply $OK_RE flags=0x00000005 .* op=hot_backup " op hot_backup --human --wait 15
host_reply "GET_DM_INFO with hv_vss_daemon running -> OK, flags 0" \
	"^reply $OK_RE flags=0x00000000 .* op=get_dm_info " op get_dm_info

# --- FREEZE ---
host_reply "full FREEZE through hv_vss_daemon -> HV_S_OK" \
	"^reply $OK_RE .* len=6288 .* op=freeze " op freeze --size 6288 --wait 60
diag "FREEZE took $(reply_ms) ms (last_duration_us $(sysval last_duration_us))"
start_writers
check "the initramfs root stays writable (hv_vss_daemon skipped it)" \
	timeout 5 sh -c 'echo root >/root-write && test "$(cat /root-write)" = root'
check "/tmp stays writable" timeout 5 sh -c 'echo tmp >/tmp/tmp-write'
sleep 2
for fs in $FS; do
	check "$fs is frozen: a write has not completed after 2 s" test ! -e "/tmp/$fs.done"
	check "$fs is frozen: a second freeze gets EBUSY" \
		sh -c "fsfreeze --freeze /mnt/$fs 2>&1 | grep -q 'Device or resource busy'"
done

# --- THAW ---
host_reply "THAW through hv_vss_daemon -> HV_S_OK" "^reply $OK_RE .* op=thaw " op thaw --wait 30
for fs in $FS; do
	check "$fs thawed: the blocked write completes" wait_until 15 test -e "/tmp/$fs.done"
	check_eq "$fs: the data written while frozen is there" "written-while-frozen-$fs" \
		"$(cat "/mnt/$fs/during" 2>&1)"
	check_eq "$fs: the data from before is intact" "before-$fs" "$(cat "/mnt/$fs/before" 2>&1)"
done
check_eq "stats/freeze_ok" 1 "$(stat_val freeze_ok)"
check_eq "stats/thaw_ok" 1 "$(stat_val thaw_ok)"

# --- a second backup cycle, with the daemon still registered ---
host_reply "second HOT_BACKUP -> OK" "^reply $OK_RE flags=0x00000005 " op hot_backup --wait 15
host_reply "second FREEZE -> OK" "^reply $OK_RE .* op=freeze " op freeze --wait 60
start_writers
sleep 2
for fs in $FS; do
	check "$fs frozen again: the write waits" test ! -e "/tmp/$fs.done"
done
host_reply "second THAW -> OK" "^reply $OK_RE .* op=thaw " op thaw --wait 30
for fs in $FS; do
	check "$fs thawed again: the write completes" wait_until 15 test -e "/tmp/$fs.done"
done

# --- the daemon dies while frozen: the kernel never thaws anything ---
host_reply "third FREEZE -> OK" "^reply $OK_RE .* op=freeze " op freeze --wait 60
start_writers
kill -9 "$HVD_PID"
wait "$HVD_PID" 2>/dev/null
check "hv_vss_daemon's death unregisters it" \
	wait_until 15 sh -c "test \"\$(cat '$SYS/daemon_registered')\" = 0"
host_reply "THAW with the daemon dead -> HV_E_FAIL at once" "^reply $FAIL_RE .* op=thaw " op thaw --wait 5
sleep 1
for fs in $FS; do
	check "$fs stays frozen after the daemon died (the kernel does not thaw)" \
		test ! -e "/tmp/$fs.done"
	check "fsfreeze --unfreeze /mnt/$fs recovers it" fsfreeze --unfreeze "/mnt/$fs"
	check "$fs: the write completes after the manual thaw" wait_until 15 test -e "/tmp/$fs.done"
done

cleanup
diag "hv_vss_daemon output: $(cat /tmp/hvd.log)"
diag "hv_vss_daemon syslog: $(logread 2>/dev/null | grep -i vss)"
for fs in $FS; do
	check "umount /mnt/$fs" timeout 10 umount "/mnt/$fs"
done
check "rmmod hv_vss_hostsim" rmmod hv_vss_hostsim
check "rmmod hv_vss" rmmod hv_vss
tap_done
