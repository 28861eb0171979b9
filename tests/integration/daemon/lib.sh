# lib.sh: shared set-up of the hvvssd integration tests (sourced, bash).
#
# Everything lives under one fresh mktemp dir $WORK in /tmp: loop images,
# their mount points under $WORK/mnt, and a tmpfs $RUN (daemon state,
# control socket, fake kernel socket, logs, writer ack logs; never frozen).
# The daemon only ever runs with --scope limited to mounts made here
# (start_daemon checks every scope). On every exit the trap stops writers
# and the daemon, thaws every mount made here (fsfreeze -u, errors
# ignored), unmounts, detaches loop devices and removes $WORK.
#
# Without root or a needed tool the test FAILS; it never skips.
set -u

T=${T:-$(basename "$0" .sh)}
BIN_DIR=${BIN_DIR:?BIN_DIR must name the build directory with hvvssd}
HVVSSD=$BIN_DIR/hvvssd
FAKE=$BIN_DIR/hvvss-fake-kernel
CALL=$BIN_DIR/hvvssd-call
WRITER=$BIN_DIR/hvvss-writer

die() {
	echo "$T: FAIL: $*" >&2
	if [ -n "${RUN:-}" ] && [ -f "$RUN/daemon.log" ]; then
		echo "--- daemon log ---" >&2
		tail -n 60 "$RUN/daemon.log" >&2
	fi
	exit 1
}
note() { echo "$T: $*"; }

for tool in jq setpriv unshare timeout ps pgrep; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found (util-linux, procps, jq)"
done
for b in "$HVVSSD" "$FAKE" "$CALL" "$WRITER"; do
	[ -x "$b" ] || die "$b not built"
done
# shellcheck source=SCRIPTDIR/../lib-loopfs.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib-loopfs.sh"
loopfs_init daemon  # $WORK, with $WORK/img and $WORK/mnt
chmod 0755 "$WORK"
RUN=$WORK/run
PIDS=()         # writers and helpers to stop (signalled only while still our children)
PGROUPS=()      # those of PIDS that lead a process group of their own (spawn_group)
DAEMON_PID=
FK_PID=

# --- our processes (cleanup uses these) ------------------------------------
# A PID in PIDS may have been reaped long ago (bash reaps background children
# as they end) and reused by an unrelated process: only a process whose
# parent is still this shell is ours to signal.
# child_stat PID: prints "STATE PGRP" of PID if it is a child of this shell.
child_stat() {
	local s ppid
	{ read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
	s=${s##*) }     # after the command name, which may hold spaces and ')'
	read -r -a s <<<"$s"
	ppid=${s[1]}
	[ "$ppid" = "$$" ] || return 1
	echo "${s[0]} ${s[2]}"
}
# running PID: PID is a child of this shell and has not exited.
running() {
	local st
	st=$(child_stat "$1") || return 1
	[ "${st%% *}" != Z ]
}
# signal_pids SIG: SIG to each of PIDS that is still our child; to its whole
# process group if it leads one (spawn_group).
signal_pids() {
	local p st
	for p in "${PIDS[@]}"; do
		st=$(child_stat "$p") || continue
		if [ "${st#* }" = "$p" ]; then
			kill "-$1" -- "-$p" 2>/dev/null
		else
			kill "-$1" "$p" 2>/dev/null
		fi
	done
}
# group_alive PGRP: a process of group PGRP has not exited yet (a zombie has
# closed its files already).
group_alive() {
	ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { f = 1 } END { exit !f }'
}
# reap_pids: waits for all of PIDS, then up to 10 s for the rest of their
# process groups (a dd of a shell loop, now an orphan) to exit: nothing of
# ours may keep a filesystem busy at teardown. Empties PIDS.
reap_pids() {
	local p g
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	for g in "${PGROUPS[@]}"; do
		for _ in $(seq 100); do group_alive "$g" || break; sleep 0.1; done
		group_alive "$g" && echo "$T: process group $g still has processes" >&2
	done
	PIDS=()
	PGROUPS=()
}
# spawn_group CMD...: CMD (a shell function, too) in the background as the
# leader of a process group of its own, recorded in PIDS; stopping it stops
# what it started as well (without job control a killed shell loop would
# leave its running child behind).
spawn_group() {
	set -m
	"$@" &
	set +m
	PIDS+=($!)
	PGROUPS+=($!)
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	signal_pids TERM
	# (running, not kill -0: a daemon that died and was reaped may have left its PID to another process)
	if [ -n "$DAEMON_PID" ] && running "$DAEMON_PID"; then
		kill -TERM "$DAEMON_PID" 2>/dev/null
		for _ in $(seq 50); do running "$DAEMON_PID" || break; sleep 0.1; done
		running "$DAEMON_PID" && kill -KILL "$DAEMON_PID" 2>/dev/null
	fi
	# Thaw everything of ours, whatever happened, then let the blocked writers finish.
	loopfs_thaw
	reap_pids
	[ -n "$FK_PID" ] && { exec 7>&- 2>/dev/null; running "$FK_PID" && kill "$FK_PID" 2>/dev/null; wait "$FK_PID" 2>/dev/null; }
	[ -n "$DAEMON_PID" ] && wait "$DAEMON_PID" 2>/dev/null
	loopfs_teardown
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$RUN"
mount -t tmpfs -o size=64m,mode=0755 hvvss-it-run "$RUN" || die "mount tmpfs $RUN"
loopfs_add "$RUN"

# mkloop NAME SIZE MKFS...: a loop filesystem at $WORK/mnt/NAME (image in $WORK/img unless IMG= given)
mkloop() {
	loopfs_mount "$1" "${IMG:-$WORK/img/$1.img}" "$2" "${@:3}"
}
mkext4() { mkloop "$1" "${2:-128M}" mkfs.ext4 -q -F; }
mkxfs() { mkloop "$1" "${2:-320M}" mkfs.xfs -q -f; }
mkbtrfs() { mkloop "$1" "${2:-200M}" mkfs.btrfs -q -f; }

# --- the fake kernel end ----------------------------------------------------
start_fk() {
	mkfifo "$RUN/fk.in" || die mkfifo
	"$FAKE" "$RUN/fk.sock" <"$RUN/fk.in" >"$RUN/fk.out" 2>"$RUN/fk.err" &
	FK_PID=$!
	exec 7>"$RUN/fk.in"
	for _ in $(seq 50); do grep -q listening "$RUN/fk.out" 2>/dev/null && return 0; sleep 0.1; done
	die "the fake kernel did not start: $(cat "$RUN/fk.err")"
}
fk() { echo "$*" >&7 || die "fake kernel gone"; }
# fk_reply MS: waits for the daemon's reply to the last request; prints ok/fail/timeout/closed.
fk_reply() {
	local n
	n=$(grep -c '^reply' "$RUN/fk.out")
	fk "wait-reply $1"
	for _ in $(seq $(($1 / 100 + 100))); do
		if [ "$(grep -c '^reply' "$RUN/fk.out")" -gt "$n" ]; then
			grep '^reply' "$RUN/fk.out" | sed -n "$((n + 1))p" | awk '{print $2}'
			return 0
		fi
		sleep 0.1
	done
	echo "no-answer"
}
# fk_expect COMMAND MS WANT [WHAT]: sends COMMAND; the daemon's reply must be
# WANT (ok/fail/...), else the test fails with "COMMAND [WHAT] answered ...".
fk_expect() {
	local r
	fk "$1"
	r=$(fk_reply "$2")
	[ "$r" = "$3" ] || die "${1^^}${4:+ $4} answered '$r', expected $3"
}
fk_register() {
	local n
	n=$(grep -c '^registered' "$RUN/fk.out")
	fk "register ${1:-10000}"
	# as long as the fake kernel waits, and 5 s more for it to say so
	for _ in $(seq $((${1:-10000} / 100 + 50))); do
		[ "$(grep -c '^registered' "$RUN/fk.out")" -gt "$n" ] && return 0
		sleep 0.1
	done
	die "the daemon did not register with the fake kernel: $(cat "$RUN/fk.err")"
}

# --- the daemon ------------------------------------------------------------
# start_daemon [--scope MP]... [other options]: every --scope must be a mount of ours.
start_daemon() {
	local a prev=
	for a in "$@"; do
		if [ "$prev" = --scope ]; then
			case "$a" in "$WORK"/*) ;; *) die "refusing to start hvvssd with scope $a outside $WORK" ;; esac
			[ -e "$a" ] || die "scope $a does not exist"
		fi
		case "$a" in --system|--scope=*) die "start_daemon: use '--scope MP', never --system" ;; esac
		prev=$a
	done
	echo "$*" | grep -q -- '--scope' || die "start_daemon without --scope"
	"$HVVSSD" --foreground --device "$RUN/fk.sock" --socket "$RUN/control" \
		--state-dir "$RUN/state" --config "${CONF:-/dev/null}" "$@" \
		>>"${DAEMON_LOG:-$RUN/daemon.log}" 2>&1 &
	DAEMON_PID=$!
	for _ in $(seq 100); do [ -S "$RUN/control" ] && break; sleep 0.1; done
	[ -S "$RUN/control" ] || die "hvvssd did not create its control socket"
	fk_register
}
# stop_clean: stop the writers, then hvvssd, which must exit 0 on SIGTERM.
stop_clean() {
	stop_writers
	stop_daemon
	[ "$DAEMON_STATUS" = 0 ] || die "hvvssd exited with $DAEMON_STATUS after SIGTERM"
}
stop_daemon() {
	[ -n "$DAEMON_PID" ] || return 0
	running "$DAEMON_PID" && kill -TERM "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID"
	DAEMON_STATUS=$?
	DAEMON_PID=
}

call() { "$CALL" "$RUN/control" "$@"; }
# last_op: the newest Operation of kind $1 (default host-backup) from GetHistory.
last_op() {
	call GetHistory | jq -c --arg k "${1:-host-backup}" '[.operations[] | select(.kind == $k)][0]'
}

# wait_for CMD...: up to 5 s for CMD to succeed.
wait_for() { wait_secs 5 "$@"; }
# wait_secs SECS CMD...: up to SECS s for CMD to succeed (a slow CI machine
# needs generous deadlines; a passing CMD returns at once).
wait_secs() {
	local n=$(($1 * 10))
	shift
	for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
	"$@"
}
# host_cycle WHAT PROBE_MP MP...: a host FREEZE (a write to PROBE_MP blocks)
# and THAW, both ok; then every MP is thawed and the newest host-backup is ok
# with one frozen-thawed target per MP.
host_cycle() {
	local what=$1 probe=$2
	shift 2
	fk_expect freeze 60000 ok "$what"
	probe_blocked "$probe" || die "$probe: a write went through while frozen $what"
	fk_expect thaw 30000 ok "$what"
	assert_thawed "$@"
	last_op | jq -e --argjson n $# '.result == "ok" and ([.targets[] | select(.result == "frozen-thawed")] | length == $n)' >/dev/null ||
		die "the backup $what: $(last_op)"
}
# assert_thawed MP...: FITHAW must say EINVAL (not frozen); if it thaws, it was frozen: fail.
assert_thawed() {
	local m
	for m in "$@"; do
		fsfreeze -u "$m" 2>/dev/null && die "$m was still frozen (the test thawed it)"
	done
	return 0
}
# probe_blocked MP: true if a write to MP does not finish within 0.5 s (frozen).
# The probe stays in PIDS and finishes after thaw. (running, not kill -0: a
# probe that finished but is not reaped yet is a zombie, not blocked.)
probe_blocked() {
	sh -c "echo x > '$1/.hvvss-probe'" &
	local p=$!
	PIDS+=($p)
	sleep 0.5
	running "$p"
}

# --- writers ---------------------------------------------------------------
start_writer() {       # start_writer MP NAME
	"$WRITER" "$1/writer-$2.dat" "$RUN/ack-$2.log" &
	PIDS+=($!)
	eval "WRITER_$2=$!"
}
stop_writers() {
	signal_pids TERM
	reap_pids
}
now_ns() { date +%s%N; }
# acks_between NAME FROM_NS TO_NS: how many writes were acknowledged in the window.
acks_between() { awk -v a="$2" -v b="$3" '$2 > a && $2 < b' "$RUN/ack-$1.log" | wc -l; }
acks_after() { awk -v a="$2" '$2 > a' "$RUN/ack-$1.log" | wc -l; }
# acked_after NAME FROM_NS: some write of writer NAME was acknowledged after FROM_NS.
acked_after() { [ "$(acks_after "$1" "$2")" -gt 0 ]; }

# timings OP_JSON: one line with the phase durations, for the report.
timings() {
	echo "$1" | jq -r '"timings: " + ([.phases[] | "\(.name)=\(.duration_ms|.*10|round/10) ms"] | join(", ")) + ", frozen_ms=\(.frozen_ms)"'
}

# The configuration: $RUN/hvvssd.conf, hooks from $WORK/hooks (root, 0755)
# unless the test says otherwise; conf KEY VALUE adds a line.
HOOKS=$WORK/hooks
mkdir -m 0755 "$HOOKS"
CONF=$RUN/hvvssd.conf
echo "hooks_dir = $HOOKS" >"$CONF"
conf() { echo "$1 = $2" >>"$CONF"; }
# hook NAME SCRIPT_BODY: an executable hook in $HOOKS (sh), logging to $RUN/hooks.log.
hook() {
	printf '#!/bin/sh\necho "%s $1" >> %s/hooks.log\n%s\n' "$1" "$RUN" "$2" >"$HOOKS/$1"
	chmod 0755 "$HOOKS/$1"
}
