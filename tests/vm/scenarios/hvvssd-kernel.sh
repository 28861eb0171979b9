#!/bin/sh
# hvvssd with our hv_vss module and the host simulator: vss-host plays the
# Hyper-V host (HOT_BACKUP, FREEZE, THAW), hvvssd (scoped to the two virtio
# disks) freezes real ext4 and xfs filesystems. While frozen a write to each
# blocks; after THAW it completes with its data; GetHistory records the
# operation with its timings; the module's sysfs shows the daemon and the
# negotiated versions, which hvvssd reports in GetStatus. SIGTERM while
# frozen thaws; kill -9 during a test-freeze --kernel hold leaves the
# filesystems to the next hvvssd, which thaws them at start-up.
. /lib/hvvss/tap.sh
. /lib/hvvss/vss-lib.sh

FS="ext4 xfs"
CTL=/run/hyperv-vss/control

cleanup() {
	for fs in $FS; do fsfreeze --unfreeze "/mnt/$fs" 2>/dev/null; done
	kill "$HVVSSD_PID" 2>/dev/null
	wait "$HVVSSD_PID" 2>/dev/null
}

load_modules
check "mount /dev/vda (ext4)" sh -c 'mkdir -p /mnt/ext4 && mount -t ext4 /dev/vda /mnt/ext4'
check "mount /dev/vdb (xfs)" sh -c 'mkdir -p /mnt/xfs && mount -t xfs /dev/vdb /mnt/xfs'
host_reply "negotiate 3.0/5.0" '^negotiate framework=3.0 message=5.0$' negotiate

mkdir -p /run/hyperv-vss /etc/hyperv-vss/hooks.d
hvvssd --foreground --scope /mnt/ext4 --scope /mnt/xfs >/tmp/hvvssd.log 2>&1 &
HVVSSD_PID=$!
check "hvvssd registers with hv_vss (daemon_registered 1)" \
	wait_until 15 sh -c "test \"\$(cat '$SYS/daemon_registered')\" = 1"
check_eq "daemon_pid is hvvssd's" "$HVVSSD_PID" "$(sysval daemon_pid)"
check_eq "hvvssd registered with REGISTER1" 129 "$(sysval daemon_abi)"
STATUS=$(hvvssd-call "$CTL" GetStatus 2>&1)
check "GetStatus: device registered, driver hv_vss, versions 3.0/5.0" sh -c "echo '$STATUS' | grep -q '\"device_state\":\"registered\"' &&
	echo '$STATUS' | grep -q '\"channel_driver\":\"hv_vss\"' && echo '$STATUS' | grep -q '\"framework_version\":\"3.0\"' &&
	echo '$STATUS' | grep -q '\"message_version\":\"5.0\"'"
diag "$STATUS"

host_reply "HOT_BACKUP through hvvssd -> OK" "^reply $OK_RE .* op=hot_backup " op hot_backup --wait 15
host_reply "FREEZE through hvvssd -> HV_S_OK" "^reply $OK_RE .* op=freeze " op freeze --size 6288 --wait 60
diag "FREEZE took $(reply_ms) ms at the host"
start_writers
check "the initramfs root stays writable (outside the scope)" timeout 5 sh -c 'echo root >/root-write'
sleep 2
for fs in $FS; do
	check "$fs is frozen: a write has not completed after 2 s" test ! -e "/tmp/$fs.done"
done
FROZEN=$(hvvssd-call "$CTL" ListFrozen 2>&1)
check "ListFrozen lists /mnt/ext4 and /mnt/xfs" sh -c "echo '$FROZEN' | grep -q /mnt/ext4 && echo '$FROZEN' | grep -q /mnt/xfs"
host_reply "THAW through hvvssd -> HV_S_OK" "^reply $OK_RE .* op=thaw " op thaw --wait 30
diag "THAW took $(reply_ms) ms at the host"
for fs in $FS; do
	check "$fs thawed: the blocked write completes" wait_until 15 test -e "/tmp/$fs.done"
	check_eq "$fs: the data written while frozen is there" "written-while-frozen-$fs" "$(cat "/mnt/$fs/during" 2>&1)"
done
HIST=$(hvvssd-call "$CTL" GetHistory '{"limit":1}' 2>&1)
check "GetHistory: host-backup ok with both targets frozen-thawed" sh -c "echo '$HIST' | grep -q '\"kind\":\"host-backup\"' &&
	echo '$HIST' | grep -q '\"result\":\"ok\"' && test \$(echo '$HIST' | grep -o 'frozen-thawed' | wc -l) = 2"
diag "timings: $(echo "$HIST" | grep -o '"phases":\[[^]]*\]')"
check_eq "stats/freeze_ok" 1 "$(stat_val freeze_ok)"
check_eq "stats/thaw_ok" 1 "$(stat_val thaw_ok)"

# SIGTERM while frozen: hvvssd thaws before it exits.
host_reply "second FREEZE -> OK" "^reply $OK_RE .* op=freeze " op freeze --wait 60
start_writers
sleep 1
check "ext4 frozen again" test ! -e /tmp/ext4.done
kill -TERM "$HVVSSD_PID"
wait_exit "$HVVSSD_PID" 20
check_eq "hvvssd exits 0 after SIGTERM" 0 "$EXIT_RC"
for fs in $FS; do
	check "$fs thawed by the stopping daemon" wait_until 15 test -e "/tmp/$fs.done"
done
host_reply "THAW after the daemon stopped -> HV_E_FAIL" "^reply $FAIL_RE .* op=thaw " op thaw --wait 5

# kill -9 during the hold of hvvssctl test-freeze --kernel: hvvssctl tells
# the daemon went away and fails; the filesystems stay frozen (nobody is left
# to thaw them) until a restarted hvvssd thaws them from its /run records.
hvvssd --foreground --scope /mnt/ext4 --scope /mnt/xfs >/tmp/hvvssd2.log 2>&1 &
HVVSSD_PID=$!
check "hvvssd restarted and registered" \
	wait_until 15 sh -c "test \"\$(cat '$SYS/daemon_registered')\" = 1"
# The hold outlasts the steps up to the kill even on a slow TCG vCPU:
# THAW must not be sent while hvvssd is alive.
hvvssctl test-freeze --kernel --hold 12 >/tmp/tf.out 2>&1 &
TF_PID=$!
check "test-freeze --kernel reaches the hold" wait_until 60 grep -q holding /tmp/tf.out
start_writers
sleep 1
check "ext4 frozen by test-freeze" test ! -e /tmp/ext4.done
kill -KILL "$HVVSSD_PID"
wait "$HVVSSD_PID" 2>/dev/null
wait_exit "$TF_PID" 30
check "hvvssctl test-freeze fails when hvvssd dies (exit $EXIT_RC)" test "$EXIT_RC" != 0 -a "$EXIT_RC" != running
check "hvvssctl says the daemon went away" grep -q 'the daemon went away during the backup' /tmp/tf.out
check "hvvssctl does not retry a dead connection" sh -c '! grep -q "unusable after an earlier error" /tmp/tf.out'
check "hvvssctl reports THAW failed at the host" grep -q 'THAW.*HV_E_FAIL' /tmp/tf.out
diag "$(cat /tmp/tf.out)"
sleep 1
for fs in $FS; do
	check "$fs still frozen with no daemon" test ! -e "/tmp/$fs.done"
done
hvvssd --foreground --scope /mnt/ext4 --scope /mnt/xfs >/tmp/hvvssd3.log 2>&1 &
HVVSSD_PID=$!
for fs in $FS; do
	check "$fs thawed by the next hvvssd at start-up" wait_until 15 test -e "/tmp/$fs.done"
done
check "the next hvvssd logs what it thawed" wait_until 15 grep -q 'left frozen by pid' /tmp/hvvssd3.log
diag "$(cat /tmp/hvvssd3.log)"

cleanup
diag "hvvssd log: $(cat /tmp/hvvssd.log)"
for fs in $FS; do check "umount /mnt/$fs" timeout 10 umount "/mnt/$fs"; done
check "rmmod hv_vss_hostsim" rmmod hv_vss_hostsim
check "rmmod hv_vss" rmmod hv_vss
tap_done
