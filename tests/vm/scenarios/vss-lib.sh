# Helpers for the kernel VM scenarios (busybox ash).  Not a scenario: the
# VM tests install it as /lib/hvvss/vss-lib.sh and scenarios source it
# after tap.sh.  Tools: vss-host (plays the host through the simulator),
# vss-fakedaemon (a scriptable daemon on /dev/vmbus/hv_vss).

SYS='/sys/class/misc/vmbus!hv_vss'
PARAMS=/sys/module/hv_vss/parameters
DAEMON_DEV=/dev/vmbus/hv_vss

# Load the core and the simulator; the daemon device must appear.
load_modules() {
	check "insmod hv_vss.ko" insmod "$HVVSS_KMOD/hv_vss.ko"
	check "insmod hv_vss_hostsim.ko" insmod "$HVVSS_KMOD/hv_vss_hostsim.ko"
	check "$DAEMON_DEV and /dev/hv_vss_hostsim appear" \
		wait_until 15 test -c "$DAEMON_DEV" -a -c /dev/hv_vss_hostsim
}

sysval() {
	cat "$SYS/$1" 2>&1
}

stat_val() {
	cat "$SYS/stats/$1" 2>&1
}

# Centiseconds since boot, for timing what spans several commands.
now_cs() {
	awk '{ printf "%d\n", $1 * 100 }' /proc/uptime
}

# host_reply DESC PATTERN VSS-HOST-ARGS...: vss-host must exit 0 and print
# a line matching the grep pattern PATTERN.  The output is kept in
# $HOST_OUT for further checks.
host_reply() {
	_hr_desc=$1
	_hr_pat=$2
	shift 2
	HOST_OUT=$(vss-host "$@" 2>&1)
	_hr_rc=$?
	if [ "$_hr_rc" -eq 0 ] && printf '%s\n' "$HOST_OUT" | grep -q -- "$_hr_pat"; then
		ok "$_hr_desc"
	else
		not_ok "$_hr_desc"
		diag "command: vss-host $*"
		diag "exit status: $_hr_rc (want 0), wanted a line matching: $_hr_pat"
		diag "$HOST_OUT"
	fi
}

# Milliseconds vss-host waited for the reply in $HOST_OUT (its ms= field:
# from the send, so the tool's own start-up is not counted).
reply_ms() {
	printf '%s\n' "$HOST_OUT" | sed -n 's/^reply .* ms=\([0-9]*\)$/\1/p' | head -n 1
}

# host_none DESC VSS-HOST-SEND-ARGS...: queue a packet, then no reply may
# come within 2 s (a dropped packet).
host_none() {
	_hn_desc=$1
	shift
	HOST_OUT=$( (vss-host send "$@" && vss-host expect-none --wait 2) 2>&1)
	_hn_rc=$?
	if [ "$_hn_rc" -eq 0 ]; then
		ok "$_hn_desc"
	else
		not_ok "$_hn_desc"
		diag "command: vss-host send $* ; vss-host expect-none --wait 2"
		diag "exit status: $_hn_rc"
		diag "$HOST_OUT"
	fi
}

OK_RE='status=0x00000000'
FAIL_RE='status=0x80004005'

# start_daemon LOG ARGS...: run vss-fakedaemon in the background with its
# events in LOG; sets DAEMON_PID and records whether it registered.
start_daemon() {
	_sd_log=$1
	shift
	vss-fakedaemon "$@" >"$_sd_log" 2>&1 &
	DAEMON_PID=$!
	if wait_until 15 grep -q '^registered' "$_sd_log"; then
		ok "vss-fakedaemon $* registers ($(grep '^registered' "$_sd_log"))"
	else
		not_ok "vss-fakedaemon $* registers"
		diag "$(cat "$_sd_log")"
	fi
}

# wait_line DESC LOG PATTERN [SECS]: LOG gets a line matching PATTERN.
wait_line() {
	if wait_until "${4:-15}" grep -q -- "$3" "$2"; then
		ok "$1"
	else
		not_ok "$1"
		diag "no line matching '$3' in $2 within ${4:-15} s:"
		diag "$(cat "$2")"
	fi
}

# alive PID: the process exists and is not a zombie.
alive() {
	[ -d "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# wait_exit PID SECS: wait for a background child of this shell; sets
# EXIT_RC to its exit status, or to "running" (and kills it) when it did
# not exit within SECS.  Not for $(...): a subshell cannot wait for it.
wait_exit() {
	if wait_until "$2" sh -c "! { [ -d /proc/$1 ] && ! grep -q '^State:[[:space:]]*Z' /proc/$1/status; }"; then
		wait "$1"
		EXIT_RC=$?
	else
		kill -9 "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		EXIT_RC=running
	fi
}

# start_writers: for each filesystem mounted on /mnt/FS (FS in $FS), a
# background write of /mnt/FS/during that, when done, marks itself in
# /tmp/FS.done (tmpfs, never frozen): while FS is frozen the mark stays away.
start_writers() {
	for fs in $FS; do
		rm -f "/tmp/$fs.done"
		(echo "written-while-frozen-$fs" >"/mnt/$fs/during" && sync &&
			echo done >"/tmp/$fs.done") &
	done
}

# Stop a daemon this scenario started and reap it.
stop_daemon() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	wait_until 15 sh -c "test \"\$(cat '$SYS/daemon_registered')\" = 0" || true
}
