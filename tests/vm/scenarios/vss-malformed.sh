#!/bin/sh
# Malformed host packets are dropped (no reply) or, for a negotiate whose
# counts are absurd or do not fit, answered with counts 0/0; none of them
# disturbs the device, which still negotiates and serves a FREEZE after.
# Also the simulator's own write()/read() error contract.
. /lib/hvvss/tap.sh
. /lib/hvvss/vss-lib.sh

load_modules
host_reply "negotiate 3.0/5.0" '^negotiate framework=3.0 message=5.0$' negotiate
d0=$(stat_val dropped)

# --- dropped: no reply at all ---
host_none "VSS packet of 28 bytes (no hv_vss_hdr) is dropped" raw --type 5 --len 28
host_none "VSS packet of 35 bytes (hv_vss_hdr cut short) is dropped" raw --type 5 --len 35
host_none "unknown icmsgtype 9 is dropped" raw --type 9 --len 40
host_none "HEARTBEAT (type 1) on the VSS channel is dropped" raw --type 1 --len 40
host_none "icmsgtype 0xffff is dropped" raw --type 65535 --len 40
host_none "negotiate cut to 30 bytes (counts do not fit) is dropped" negotiate --truncate 30
check_eq "stats/dropped counts the 6 drops" $((d0 + 6)) "$(stat_val dropped)"

# --- negotiates that must never agree: counts 0/0 ---
nf0=$(stat_val negotiate_failed)
host_reply "negotiate cut to 40 bytes (declared versions do not fit) -> 0/0" \
	'^negotiate none$' negotiate --truncate 40
host_reply "negotiate declaring 2,50 versions but holding 6 -> 0/0" \
	'^negotiate none$' negotiate --count-override 2,50
host_reply "negotiate with 101 framework versions (all 3.0, they fit) -> 0/0" \
	'^negotiate none$' negotiate --fw '3.0*101' --msg 5.0
host_reply "negotiate with 101 message versions (all 5.0, they fit) -> 0/0" \
	'^negotiate none$' negotiate --fw 3.0 --msg '5.0*101'
host_reply "negotiate declaring 65535,65535 versions -> 0/0" \
	'^negotiate none$' negotiate --count-override 65535,65535
host_reply "negotiate with 100 framework versions (the limit) still agrees" \
	'^negotiate framework=3.0 message=5.0$' negotiate --fw '1.0*99,3.0' --msg 5.0
host_reply "negotiate offering nothing (0,0) -> 0/0" \
	'^negotiate none$' negotiate --fw none --msg none
check_eq "stats/negotiate_failed counts the 6 refusals" $((nf0 + 6)) "$(stat_val negotiate_failed)"
check_eq "sysfs versions after a refused negotiate" "none none" \
	"$(sysval framework_version) $(sysval message_version)"

# --- the device still works ---
host_reply "negotiate 3.0/5.0 after the malformed packets" \
	'^negotiate framework=3.0 message=5.0$' negotiate
host_reply "GET_DM_INFO after the malformed packets" "^reply $OK_RE flags=0x00000000 " op get_dm_info
start_daemon /tmp/d.log
host_reply "FREEZE through a daemon after the malformed packets" "^reply $OK_RE .* op=freeze " op freeze
host_reply "THAW" "^reply $OK_RE .* op=thaw " op thaw
stop_daemon "$DAEMON_PID"
check_eq "state back to no_daemon" no_daemon "$(sysval state)"

# --- the simulator's write()/read() contract ---
host_reply "simulator rejects bad frames (EINVAL/EMSGSIZE), short read EINVAL, nonblocking EAGAIN" \
	'^write-errors ok' write-errors --reqid 500
diag "$HOST_OUT"
check "no stray reply after the probes" vss-host expect-none --wait 1

check "rmmod hv_vss_hostsim" rmmod hv_vss_hostsim
check "rmmod hv_vss" rmmod hv_vss
tap_done
