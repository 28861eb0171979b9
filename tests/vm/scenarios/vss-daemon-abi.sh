#!/bin/sh
# The daemon ABI of /dev/vmbus/hv_vss: REGISTER1 handshake (reply 129),
# legacy REGISTER (128, no reply), a second opener EBUSY, short reads and
# bad writes EINVAL, a non-blocking read EAGAIN, registering during a
# pending transaction refused, closing with a request pending fails it to
# the host; and one transaction at a time: host packets that arrive while
# the daemon holds a request are answered only after it, in order, and the
# simulator queues exactly 16 of them meanwhile.
. /lib/hvvss/tap.sh
. /lib/hvvss/vss-lib.sh

load_modules
host_reply "negotiate 3.0/5.0" '^negotiate framework=3.0 message=5.0$' negotiate

# --- probes right after registering ---
vss-fakedaemon --probe-ebusy --bad-write --stray-reply --nonblock-read --count 0 \
	>/tmp/probe.log 2>&1
rc=$?
check_eq "vss-fakedaemon probes exit 0" 0 "$rc"
for what in "second open -> EBUSY" "11-byte write -> EINVAL" \
	"reply with no request pending -> EINVAL" \
	"non-blocking read with nothing queued -> EAGAIN"; do
	check "daemon probe: $what" grep -q "^check ok: $what" /tmp/probe.log
done
check_eq "REGISTER1 answered with 129" "registered abi=129" "$(head -n 1 /tmp/probe.log)"
check_eq "closing the device unregisters" 0 "$(sysval daemon_registered)"

# --- legacy REGISTER (128) ---
start_daemon /tmp/legacy.log --legacy
check_eq "daemon_abi of a legacy daemon" 128 "$(sysval daemon_abi)"
check_eq "state with a legacy daemon" ready "$(sysval state)"
host_reply "FREEZE through a legacy daemon -> OK" "^reply $OK_RE .* op=freeze " op freeze
host_reply "THAW through a legacy daemon -> OK" "^reply $OK_RE .* op=thaw " op thaw
stop_daemon "$DAEMON_PID"

# --- short read and REGISTER1 while a request is pending ---
start_daemon /tmp/pend.log --short-read --register-while-pending
host_reply "FREEZE survives the daemon's short read and refused re-register -> OK" \
	"^reply $OK_RE .* op=freeze " op freeze
check "8-byte read of a pending request -> EINVAL" \
	grep -q '^check ok: 8-byte read -> EINVAL' /tmp/pend.log
check "REGISTER1 while a request is pending -> EINVAL" \
	grep -q '^check ok: REGISTER1 while a request is pending -> EINVAL' /tmp/pend.log
host_reply "THAW -> OK" "^reply $OK_RE .* op=thaw " op thaw
stop_daemon "$DAEMON_PID"

# --- one transaction at a time ---
start_daemon /tmp/serial.log --reply-after 3
t0=$(now_cs)
check "queue FREEZE reqid 101" vss-host send op freeze --reqid 101
wait_line "the daemon holds the FREEZE" /tmp/serial.log '^request op=freeze'
check_eq "in_flight while the daemon holds it" freeze "$(sysval in_flight)"
check_eq "state while the daemon holds it" daemon_busy "$(sysval state)"
check "queue GET_DM_INFO reqid 102 behind it" vss-host send op get_dm_info --reqid 102
check "queue THAW reqid 103 behind it" vss-host send op thaw --reqid 103
host_reply "the first reply is the FREEZE (reqid 101)" "^reply $OK_RE .* reqid=101 " \
	wait-reply --reqid 101 --wait 10
t1=$(now_cs)
check "the FREEZE took the daemon's 3 s ($((t1 - t0))0 ms)" test $((t1 - t0)) -ge 250
host_reply "then GET_DM_INFO (reqid 102), not earlier" "^reply $OK_RE .* reqid=102 .* op=get_dm_info " \
	wait-reply --reqid 102 --wait 5
host_reply "then THAW (reqid 103), after the daemon's 3 s" "^reply $OK_RE .* reqid=103 .* op=thaw " \
	wait-reply --reqid 103 --wait 10
t2=$(now_cs)
# t1 is taken after vss-host exits, late by up to a second under TCG;
# answered without its own 3 s, THAW would come within milliseconds.
check "THAW answered only after its own 3 s (${t2}0 - ${t1}0 = $((t2 - t1))0 ms >= 1.5 s)" \
	test $((t2 - t1)) -ge 150

# --- the simulator queues 16 packets while a transaction is pending ---
check "queue FREEZE reqid 300" vss-host send op freeze --reqid 300
check "the daemon holds the FREEZE again" \
	wait_until 15 sh -c "test \$(grep -c '^request op=freeze' /tmp/serial.log) -eq 2"
host_reply "simulator: 16 frames queue behind a pending transaction, the 17th gets EAGAIN" \
	'^write-errors ok' write-errors --fill --reqid 300
diag "$HOST_OUT"
HOST_OUT=$(vss-host wait-reply --count 17 --wait 20 2>&1)
check_eq "all 17 replies arrive" 17 "$(printf '%s\n' "$HOST_OUT" | grep -c "^reply $OK_RE")"
check_eq "the FREEZE is answered first" 300 \
	"$(printf '%s\n' "$HOST_OUT" | sed -n '1s/.* reqid=\([0-9]*\) .*/\1/p')"
check_eq "then the 16 queued packets in order" "$(seq 301 316 | tr '\n' ' ')" \
	"$(printf '%s\n' "$HOST_OUT" | sed -n '2,$s/.* reqid=\([0-9]*\) .*/\1/p' | tr '\n' ' ')"
stop_daemon "$DAEMON_PID"

# --- closing with a request pending fails it to the host ---
vss-fakedaemon --answer never --count 1 >/tmp/close.log 2>&1 &
dpid=$!
check "the closing daemon registers" wait_until 15 grep -q '^registered' /tmp/close.log
g0=$(stat_val hot_backup_daemon_gone)
host_reply "HOT_BACKUP held by a daemon that then closes -> HV_E_FAIL" \
	"^reply $FAIL_RE .* op=hot_backup " op hot_backup --wait 5
wait_exit "$dpid" 5
check_eq "that daemon exited by itself" 0 "$EXIT_RC"
check_eq "stats/hot_backup_daemon_gone" $((g0 + 1)) "$(stat_val hot_backup_daemon_gone)"
check_eq "last_result" daemon_gone "$(sysval last_result)"
check_eq "state after the daemon left" no_daemon "$(sysval state)"
host_reply "THAW with no daemon -> HV_E_FAIL at once" "^reply $FAIL_RE .* op=thaw " op thaw --wait 2

check "rmmod hv_vss_hostsim" rmmod hv_vss_hostsim
check "rmmod hv_vss" rmmod hv_vss
tap_done
