#!/bin/sh
# vm-files.sh add|remove ROOT
#
# The test-only files that turn an installed root into the install-test VM
# (and take them out again, so the purge check sees the root as installed):
#   - hv_vss_hostsim loaded at boot (modules-load.d): the simulated host's
#     channel makes /dev/vmbus/hv_vss appear, and udev must start hvvssd;
#   - hvvss-install-test.service, a oneshot that waits for hvvssd, runs one
#     simulated host backup (hvvssctl test-freeze --kernel: the host's
#     packets through the simulator, our module and hvvssd, which freezes the
#     VM's own root ext4), checks status and history, prints the results on
#     the serial console prefixed "HVVSS-INSTALL:" and powers the VM off;
#   - when hyperv-daemons is installed: checks that its hv-vss-daemon was
#     skipped, then `dpkg -r hyperv-vss` and a check that it takes over;
#   - no policy-rc.d (mkroot.sh's, for the chroot), an fstab entry for /
#     (debootstrap leaves it unconfigured), and
#     e2scrub_reap.service masked (slow under TCG, useless here).
# Nothing in the image starts hvvssd by hand.
set -eu
[ $# -eq 2 ] || { echo "usage: vm-files.sh add|remove ROOT" >&2; exit 2; }
action=$1
root=$2

FILES="/etc/modules-load.d/hv_vss_hostsim.conf
/etc/systemd/system/hvvss-install-test.service
/etc/systemd/system/multi-user.target.wants/hvvss-install-test.service
/etc/systemd/system/e2scrub_reap.service
/usr/local/sbin/hvvss-install-test
/etc/fstab.hvvss-orig
/usr/sbin/policy-rc.d.hvvss-orig"

case "$action" in
remove)
	mv "$root/etc/fstab.hvvss-orig" "$root/etc/fstab"
	[ ! -e "$root/usr/sbin/policy-rc.d.hvvss-orig" ] ||
		mv "$root/usr/sbin/policy-rc.d.hvvss-orig" "$root/usr/sbin/policy-rc.d"
	for f in $FILES; do rm -f "$root$f"; done
	exit 0
	;;
add) ;;
*) echo "vm-files.sh: unknown action '$action'" >&2; exit 2 ;;
esac

cp -p "$root/etc/fstab" "$root/etc/fstab.hvvss-orig"
# mkroot.sh's policy-rc.d keeps package scripts in the chroot from starting
# services; the booted VM is a real system (the removal test needs it).
[ ! -e "$root/usr/sbin/policy-rc.d" ] ||
	mv "$root/usr/sbin/policy-rc.d" "$root/usr/sbin/policy-rc.d.hvvss-orig"
echo "LABEL=hvvss-root / ext4 rw,errors=remount-ro 0 1" >"$root/etc/fstab"

# Slow under TCG and of no use here (about 10 s).
ln -sf /dev/null "$root/etc/systemd/system/e2scrub_reap.service"

echo hv_vss_hostsim >"$root/etc/modules-load.d/hv_vss_hostsim.conf"

cat >"$root/etc/systemd/system/hvvss-install-test.service" <<'UNIT'
[Unit]
Description=hyperv-vss install test: one simulated host backup
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/hvvss-install-test
StandardOutput=journal+console
StandardError=journal+console
[Install]
WantedBy=multi-user.target
UNIT
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -sf ../hvvss-install-test.service \
	"$root/etc/systemd/system/multi-user.target.wants/hvvss-install-test.service"

cat >"$root/usr/local/sbin/hvvss-install-test" <<'SCRIPT'
#!/bin/sh
# Runs once at boot in the install-test VM; the host parses the console.
say() { echo "HVVSS-INSTALL: $*" >/dev/console; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
finish() {
	dump sh -c "journalctl -b -o short-monotonic --no-pager | grep -E 'Reached target|Switching root|Started hvvssd|hv_vss|Finished' | head -n 60"
	say "END"
	sync
	systemctl poweroff --no-block
	exit 0
}
dump() { "$@" 2>&1 | sed 's/^/HVVSS-INSTALL: | /' >/dev/console; }

# Outputs go to tmpfs: the backup freezes the root filesystem, and a
# write to it would block until the thaw.
out=/run/hvvss-install-test
mkdir -p "$out"
say "BEGIN uptime=$(uptime_s)"
deadline=$(($(cut -d. -f1 /proc/uptime) + 60))
while [ ! -e /dev/vmbus/hv_vss ] && [ "$(cut -d. -f1 /proc/uptime)" -lt $deadline ]; do
	sleep 0.2
done
[ -e /dev/vmbus/hv_vss ] || { say "not ok /dev/vmbus/hv_vss did not appear"; dump lsmod; finish; }
say "ok /dev/vmbus/hv_vss appeared uptime=$(uptime_s)"

# udev (SYSTEMD_WANTS) and the device's .wants link start hvvssd; nobody here does.
deadline=$(($(cut -d. -f1 /proc/uptime) + 60))
while [ "$(systemctl show -P ActiveState hvvssd.service)" != active ] &&
	[ "$(cut -d. -f1 /proc/uptime)" -lt $deadline ]; do
	sleep 0.5
done
if [ "$(systemctl show -P ActiveState hvvssd.service)" = active ]; then
	say "ok hvvssd.service is active, started by udev uptime=$(uptime_s)"
else
	say "not ok hvvssd.service did not start by itself"
	dump systemctl status --no-pager hvvssd.service
	dump journalctl -b --no-pager -u hvvssd.service
	finish
fi
# hyperv-daemons is installed: its hv-vss-daemon.service is wanted by the
# same device (and enabled), and our drop-in's condition must skip it.
if [ -f /lib/systemd/system/hv-vss-daemon.service ]; then
	if [ "$(systemctl show -P ActiveState hv-vss-daemon.service)" != active ] &&
		[ "$(systemctl show -P ConditionResult hv-vss-daemon.service)" = no ]; then
		say "ok the distro hv-vss-daemon.service was skipped by its condition (one VSS daemon)"
	else
		say "not ok the distro hv-vss-daemon.service runs or was not skipped"
		dump systemctl status --no-pager hv-vss-daemon.service
	fi
fi

deadline=$(($(cut -d. -f1 /proc/uptime) + 30))
while :; do
	rc=0
	hvvssctl status >$out/status.out 2>&1 || rc=$?
	[ $rc -eq 0 ] || [ "$(cut -d. -f1 /proc/uptime)" -ge $deadline ] && break
	sleep 0.5
done
dump cat $out/status.out
if [ $rc -eq 0 ]; then say "ok hvvssctl status: ready"; else say "not ok hvvssctl status exit $rc"; fi

t0=$(uptime_s)
rc=0
hvvssctl test-freeze --kernel --hold 2 >$out/backup.out 2>&1 || rc=$?
dump cat $out/backup.out
if [ $rc -eq 0 ]; then
	say "ok simulated host backup (test-freeze --kernel) succeeded start=$t0 end=$(uptime_s)"
else
	say "not ok simulated host backup failed: exit $rc"
fi

hvvssctl history >$out/history.out 2>&1 || true
dump cat $out/history.out
if hvvssctl history --json 2>/dev/null | tr -d ' \n' | grep -q '"kind":"host-backup"' &&
	hvvssctl history --json 2>/dev/null | tr -d ' \n' | grep -q '"result":"ok"'; then
	say "ok hvvssctl history shows the host backup"
else
	say "not ok hvvssctl history does not show an ok host-backup"
fi
if [ "$(systemctl show -P ActiveState hvvssd.service)" = active ]; then
	say "ok hvvssd.service still active after the backup"
else
	say "not ok hvvssd.service is not active after the backup"
	dump journalctl -b --no-pager -u hvvssd.service
fi

# Removing our package gives the device back to the distro daemon.
if [ -f /lib/systemd/system/hv-vss-daemon.service ]; then
	if dpkg -r hyperv-vss >"$out/remove.out" 2>&1; then
		deadline=$(($(cut -d. -f1 /proc/uptime) + 30))
		while [ "$(systemctl show -P ActiveState hv-vss-daemon.service)" != active ] &&
			[ "$(cut -d. -f1 /proc/uptime)" -lt $deadline ]; do
			sleep 0.5
		done
		if [ "$(systemctl show -P ActiveState hv-vss-daemon.service)" = active ] &&
			[ "$(systemctl show -P ActiveState hvvssd.service)" != active ]; then
			say "ok after dpkg -r hyperv-vss the distro hv-vss-daemon.service runs instead"
		else
			say "not ok after dpkg -r hyperv-vss the distro daemon did not take over"
			dump systemctl status --no-pager hv-vss-daemon.service
			dump sh -c "journalctl -b -o short-monotonic --no-pager -u hvvssd.service | tail -n 15"
			dump cat "$out/remove.out"
			dump sh -c 'ls -l /proc/[0-9]*/fd 2>/dev/null | grep -B30 hv_vss | grep -E "^/proc|hv_vss"'
		fi
	else
		say "not ok dpkg -r hyperv-vss failed"
		dump cat "$out/remove.out"
	fi
fi
finish
SCRIPT
chmod 0755 "$root/usr/local/sbin/hvvss-install-test"
