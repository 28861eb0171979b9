#!/bin/sh
# Negotiation with realistic and unusual host offers, every VSS operation
# without a daemon (kernel answers, HV_E_FAIL at once for the daemon ops),
# then the daemon ops through vss-fakedaemon answering ok and fail, with
# the sysfs state and counters checked after each step.
. /lib/hvvss/tap.sh
. /lib/hvvss/vss-lib.sh

load_modules
check_eq "state before any daemon" no_daemon "$(sysval state)"
check_eq "framework_version before negotiation" none "$(sysval framework_version)"
check_eq "message_version before negotiation" none "$(sysval message_version)"

# --- negotiation ---
host_reply "WS2016 host offer (fw 1.0,3.0; msg 4.0-7.0) -> 3.0/5.0" \
	'^negotiate framework=3.0 message=5.0$' negotiate --human
check_eq "sysfs framework_version after 3.0/5.0" 3.0 "$(sysval framework_version)"
check_eq "sysfs message_version after 3.0/5.0" 5.0 "$(sysval message_version)"
host_reply "fw 1.0 only -> 1.0/5.0" '^negotiate framework=1.0 message=5.0$' \
	negotiate --fw 1.0 --msg 4.0,5.0
check_eq "sysfs framework_version after 1.0/5.0" 1.0 "$(sysval framework_version)"
host_reply "reply to negotiate keeps the host's length and says RESPONSE" \
	'^reply status=0x00000000 flags=none len=60 .* icflags=0x05' negotiate
host_reply "no common message version (4.0,6.0,7.0) -> counts 0/0" \
	'^negotiate none$' negotiate --msg 4.0,6.0,7.0
check_eq "sysfs framework_version after a failed negotiation" none "$(sysval framework_version)"
check_eq "sysfs message_version after a failed negotiation" none "$(sysval message_version)"
host_reply "no common framework version (2.0) -> counts 0/0" \
	'^negotiate none$' negotiate --fw 2.0
check_eq "stats/negotiate_ok" 3 "$(stat_val negotiate_ok)"
check_eq "stats/negotiate_failed" 2 "$(stat_val negotiate_failed)"
host_reply "renegotiate 3.0/5.0 for the rest" '^negotiate framework=3.0 message=5.0$' negotiate

# --- no daemon ---
for op in freeze thaw hot_backup; do
	host_reply "$op without a daemon -> HV_E_FAIL" "^reply $FAIL_RE .* op=$op " op $op --human
	ms=$(reply_ms)
	check "$op without a daemon is answered at once (${ms} ms < 1 s)" \
		test "${ms:-99999}" -lt 1000
	check_eq "stats/${op}_no_daemon" 1 "$(stat_val "${op}_no_daemon")"
done
check_eq "last_result after hot_backup without a daemon" no_daemon "$(sysval last_result)"

# --- operations the kernel answers alone (also without a daemon) ---
ka0=$(stat_val kernel_answered)
host_reply "GET_DM_INFO -> HV_S_OK, flags 0" \
	"^reply $OK_RE flags=0x00000000 len=40 .* op=get_dm_info " op get_dm_info
for op in create delete bu_complete auto_recover 9; do
	host_reply "op $op -> HV_S_OK from the kernel" "^reply $OK_RE " op $op
done
check_eq "stats/kernel_answered counts the 6 kernel-answered ops" \
	$((ka0 + 6)) "$(stat_val kernel_answered)"
host_reply "full-size AUTO_RECOVER (12,528 bytes) -> OK, same length" \
	"^reply $OK_RE .* len=12528 " op auto_recover --size 12528

# --- a daemon that answers ok ---
start_daemon /tmp/d1.log
check_eq "daemon_registered" 1 "$(sysval daemon_registered)"
check_eq "daemon_abi" 129 "$(sysval daemon_abi)"
check_eq "daemon_pid" "$DAEMON_PID" "$(sysval daemon_pid)"
check_eq "state with an idle daemon" ready "$(sysval state)"
host_reply "HOT_BACKUP -> HV_S_OK with flags 0x5 (no auto-recovery)" \
	"^reply $OK_RE flags=0x00000005 len=40 .* op=hot_backup " op hot_backup --human
host_reply "full real FREEZE (6,260-byte payload) -> OK, answered with 6,288 bytes" \
	"^reply $OK_RE .* len=6288 .* op=freeze " op freeze --size 6288
check_eq "last_operation after FREEZE" freeze "$(sysval last_operation)"
check_eq "last_result after FREEZE" ok "$(sysval last_result)"
check "last_duration_us is a number" sh -c "test $(sysval last_duration_us) -ge 0"
host_reply "THAW -> HV_S_OK" "^reply $OK_RE .* op=thaw " op thaw
host_reply "short FREEZE (36 bytes, header only) -> OK, same length" \
	"^reply $OK_RE .* len=36 .* op=freeze " op freeze --size 36
host_reply "THAW after it -> OK" "^reply $OK_RE .* op=thaw " op thaw
check_eq "stats/freeze_ok" 2 "$(stat_val freeze_ok)"
check_eq "stats/thaw_ok" 2 "$(stat_val thaw_ok)"
check_eq "stats/hot_backup_ok" 1 "$(stat_val hot_backup_ok)"
check_eq "the daemon saw the 5 requests" 5 "$(grep -c '^reply ok' /tmp/d1.log)"
check_eq "in_flight when idle" none "$(sysval in_flight)"
stop_daemon "$DAEMON_PID"
check_eq "daemon_registered after the daemon exits" 0 "$(sysval daemon_registered)"

# --- a daemon that answers fail ---
start_daemon /tmp/d2.log --answer fail
host_reply "FREEZE refused by the daemon -> HV_E_FAIL" "^reply $FAIL_RE .* op=freeze " op freeze
host_reply "HOT_BACKUP refused by the daemon -> HV_E_FAIL" "^reply $FAIL_RE .* op=hot_backup " op hot_backup
check_eq "stats/freeze_fail" 1 "$(stat_val freeze_fail)"
check_eq "stats/hot_backup_fail" 1 "$(stat_val hot_backup_fail)"
check_eq "last_result after a refused op" fail "$(sysval last_result)"
stop_daemon "$DAEMON_PID"

check "rmmod hv_vss_hostsim" rmmod hv_vss_hostsim
check "rmmod hv_vss" rmmod hv_vss
tap_done
