#!/bin/sh
# A daemon that never answers in time: with freeze_timeout shortened to 2 s
# the host gets HV_E_FAIL after about 2 s and the daemon's late reply gets
# EINVAL.  A daemon killed (SIGKILL) while holding a FREEZE: the host gets
# HV_E_FAIL at once, daemon_gone is counted, requests fail at once until a
# new daemon registers, and the new one works.
. /lib/hvvss/tap.sh
. /lib/hvvss/vss-lib.sh

load_modules
host_reply "negotiate 3.0/5.0" '^negotiate framework=3.0 message=5.0$' negotiate
check_eq "default freeze_timeout is 900 s" 900 "$(cat $PARAMS/freeze_timeout)"
check_eq "default thaw_timeout is 30 s" 30 "$(cat $PARAMS/thaw_timeout)"
check_eq "default hot_backup_timeout is 30 s" 30 "$(cat $PARAMS/hot_backup_timeout)"

# --- FREEZE timeout ---
check "shorten freeze_timeout to 2 s" sh -c "echo 2 >$PARAMS/freeze_timeout"
vss-fakedaemon --reply-after 4 --expect-late-einval >/tmp/late.log 2>&1 &
dpid=$!
wait_line "late daemon registers" /tmp/late.log '^registered abi=129'
host_reply "FREEZE unanswered for 2 s -> HV_E_FAIL to the host" \
	"^reply $FAIL_RE .* op=freeze " op freeze --wait 10
ms=$(reply_ms)
check "the timeout answer came after about 2 s (${ms} ms, want 1.9-6 s; the default is 900 s)" \
	test "${ms:-0}" -ge 1900 -a "${ms:-0}" -le 6000
check_eq "stats/freeze_timeout" 1 "$(stat_val freeze_timeout)"
check_eq "last_result" timeout "$(sysval last_result)"
check_eq "state back to ready after the timeout" ready "$(sysval state)"
check_eq "in_flight after the timeout" none "$(sysval in_flight)"
wait_exit "$dpid" 8
check_eq "the late daemon exits 0 (its checks held)" 0 "$EXIT_RC"
check "the late reply failed with EINVAL" grep -q '^write failed: EINVAL' /tmp/late.log
check "vss-fakedaemon confirms: late reply -> EINVAL" \
	grep -q '^check ok: late reply -> EINVAL' /tmp/late.log
check "restore freeze_timeout" sh -c "echo 900 >$PARAMS/freeze_timeout"

# --- HOT_BACKUP timeout, with its own parameter ---
check "shorten hot_backup_timeout to 1 s" sh -c "echo 1 >$PARAMS/hot_backup_timeout"
start_daemon /tmp/never.log --answer never
host_reply "HOT_BACKUP unanswered for 1 s -> HV_E_FAIL" \
	"^reply $FAIL_RE .* op=hot_backup " op hot_backup --wait 10
ms=$(reply_ms)
check "the HOT_BACKUP timeout answer came after about 1 s (${ms} ms, want 0.9-5 s; the default is 30 s)" \
	test "${ms:-0}" -ge 900 -a "${ms:-0}" -le 5000
check_eq "stats/hot_backup_timeout" 1 "$(stat_val hot_backup_timeout)"
check "restore hot_backup_timeout" sh -c "echo 30 >$PARAMS/hot_backup_timeout"
stop_daemon "$DAEMON_PID"

# --- daemon killed while holding a FREEZE ---
start_daemon /tmp/victim.log --answer never
g0=$(stat_val freeze_daemon_gone)
check "queue FREEZE reqid 700" vss-host send op freeze --reqid 700
wait_line "the daemon holds the FREEZE" /tmp/victim.log '^request op=freeze'
check_eq "in_flight while held" freeze "$(sysval in_flight)"
check "no answer while the daemon holds it" vss-host expect-none --wait 1
kill -9 "$DAEMON_PID"
host_reply "kill -9 of the daemon -> HV_E_FAIL for the FREEZE (reqid 700)" \
	"^reply $FAIL_RE .* reqid=700 .* op=freeze " wait-reply --reqid 700 --wait 5
ms=$(reply_ms)
check "answered promptly after the kill (${ms} ms of waiting < 5 s, not the 900 s timeout)" test "${ms:-99999}" -lt 5000
wait "$DAEMON_PID" 2>/dev/null
check_eq "stats/freeze_daemon_gone" $((g0 + 1)) "$(stat_val freeze_daemon_gone)"
check_eq "last_result" daemon_gone "$(sysval last_result)"
check_eq "daemon_registered after the kill" 0 "$(sysval daemon_registered)"
check_eq "state after the kill" no_daemon "$(sysval state)"
host_reply "THAW before a new daemon registers -> HV_E_FAIL at once" \
	"^reply $FAIL_RE .* op=thaw " op thaw --wait 2
start_daemon /tmp/new.log
check_eq "the new daemon's pid in sysfs" "$DAEMON_PID" "$(sysval daemon_pid)"
host_reply "FREEZE through the new daemon -> OK" "^reply $OK_RE .* op=freeze " op freeze
host_reply "THAW through the new daemon -> OK" "^reply $OK_RE .* op=thaw " op thaw
stop_daemon "$DAEMON_PID"

check "rmmod hv_vss_hostsim" rmmod hv_vss_hostsim
check "rmmod hv_vss" rmmod hv_vss
tap_done
