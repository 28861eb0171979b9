#!/bin/sh
# Unloading the simulator rescinds the channel under a registered daemon:
# the daemon sees it go (POLLHUP / ENODEV), /dev/vmbus/hv_vss disappears;
# loading it again brings the device back, a daemon registers and FREEZE
# works.  Also a rescind while the daemon holds a FREEZE, and a full
# unload/reload of both modules.
. /lib/hvvss/tap.sh
. /lib/hvvss/vss-lib.sh

load_modules
host_reply "negotiate 3.0/5.0" '^negotiate framework=3.0 message=5.0$' negotiate

# --- rescind under an idle daemon that exits (no --reopen) ---
start_daemon /tmp/plain.log
plain=$DAEMON_PID
# Only one daemon can hold the device: a second one cannot open it.
vss-fakedaemon --count 0 >/tmp/busy.log 2>&1
check_eq "a second daemon fails to open the device (exit 2)" 2 "$?"
check "... and says why (EBUSY)" grep -q 'Device or resource busy' /tmp/busy.log
check "rmmod hv_vss_hostsim with a daemon attached" rmmod hv_vss_hostsim
check "/dev/vmbus/hv_vss disappears" wait_until 15 test ! -e "$DAEMON_DEV"
wait_exit "$plain" 5
check_eq "the daemon exits with 4 (channel gone)" 4 "$EXIT_RC"
check "the daemon said 'channel gone'" grep -q '^channel gone' /tmp/plain.log

# --- rescind and return under a --reopen daemon ---
check "insmod hv_vss_hostsim again" insmod "$HVVSS_KMOD/hv_vss_hostsim.ko"
check "/dev/vmbus/hv_vss is back" wait_until 15 test -c "$DAEMON_DEV"
start_daemon /tmp/reopen.log --reopen
check "rmmod hv_vss_hostsim under the --reopen daemon" rmmod hv_vss_hostsim
wait_line "the daemon sees the channel gone" /tmp/reopen.log '^channel gone'
check "the daemon is still running" alive "$DAEMON_PID"
check "insmod hv_vss_hostsim once more" insmod "$HVVSS_KMOD/hv_vss_hostsim.ko"
check "the daemon registers again" \
	wait_until 15 sh -c "test \$(grep -c '^registered abi=129' /tmp/reopen.log) -eq 2"
check_eq "daemon_registered after the re-register" 1 "$(sysval daemon_registered)"
host_reply "negotiate on the new channel" '^negotiate framework=3.0 message=5.0$' negotiate
host_reply "FREEZE on the new channel -> OK" "^reply $OK_RE .* op=freeze " op freeze
host_reply "THAW on the new channel -> OK" "^reply $OK_RE .* op=thaw " op thaw

# --- rescind while the daemon holds a request ---
stop_daemon "$DAEMON_PID"
start_daemon /tmp/held.log --answer never
check "queue FREEZE reqid 900" vss-host send op freeze --reqid 900
wait_line "the daemon holds the FREEZE" /tmp/held.log '^request op=freeze'
t0=$(now_cs)
check "rmmod hv_vss_hostsim while a FREEZE is pending" timeout 10 rmmod hv_vss_hostsim
dt=$(($(now_cs) - t0))
check "the rescind did not wait for the daemon (${dt}0 ms < 8 s)" test "$dt" -lt 800
wait_exit "$DAEMON_PID" 5
check_eq "the holding daemon exits 4 (channel gone)" 4 "$EXIT_RC"
check "/dev/hv_vss_hostsim is gone" test ! -e /dev/hv_vss_hostsim

# --- unload and reload everything ---
check "rmmod hv_vss" rmmod hv_vss
check "the hv_vss sysfs directory is gone" test ! -e "$SYS"
load_modules
check_eq "state after the reload" no_daemon "$(sysval state)"
check_eq "stats start again from 0" 0 "$(stat_val freeze_ok)"
start_daemon /tmp/final.log
host_reply "negotiate after the reload" '^negotiate framework=3.0 message=5.0$' negotiate
host_reply "FREEZE after the reload -> OK" "^reply $OK_RE .* op=freeze " op freeze
host_reply "THAW after the reload -> OK" "^reply $OK_RE .* op=thaw " op thaw
stop_daemon "$DAEMON_PID"
check "rmmod hv_vss_hostsim" rmmod hv_vss_hostsim
check "rmmod hv_vss" rmmod hv_vss
tap_done
