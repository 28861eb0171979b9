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

for tool in jq setpriv unshare timeout; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found (util-linux, jq)"
done
for b in "$HVVSSD" "$FAKE" "$CALL" "$WRITER"; do
	[ -x "$b" ] || die "$b not built"
done
# shellcheck source=SCRIPTDIR/../lib-loopfs.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib-loopfs.sh"
loopfs_init daemon  # $WORK, with $WORK/img and $WORK/mnt
chmod 0755 "$WORK"
RUN=$WORK/run
PIDS=()         # writers and helpers to stop
DAEMON_PID=
FK_PID=

cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	set +e
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -TERM "$DAEMON_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$DAEMON_PID" 2>/dev/null
	fi
	# Thaw everything of ours, whatever happened, then let the blocked writers finish.
	loopfs_thaw
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "$FK_PID" ] && { exec 7>&- 2>/dev/null; kill "$FK_PID" 2>/dev/null; wait "$FK_PID" 2>/dev/null; }
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
	for _ in $(seq 150); do
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
	kill -TERM "$DAEMON_PID" 2>/dev/null
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
wait_for() {
	for _ in $(seq 50); do "$@" && return 0; sleep 0.1; done
	return 1
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
# The probe stays in PIDS and finishes after thaw.
probe_blocked() {
	sh -c "echo x > '$1/.hvvss-probe'" &
	local p=$!
	PIDS+=($p)
	sleep 0.5
	kill -0 "$p" 2>/dev/null
}

# --- writers ---------------------------------------------------------------
start_writer() {       # start_writer MP NAME
	"$WRITER" "$1/writer-$2.dat" "$RUN/ack-$2.log" &
	PIDS+=($!)
	eval "WRITER_$2=$!"
}
stop_writers() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	PIDS=()
}
now_ns() { date +%s%N; }
# acks_between NAME FROM_NS TO_NS: how many writes were acknowledged in the window.
acks_between() { awk -v a="$2" -v b="$3" '$2 > a && $2 < b' "$RUN/ack-$1.log" | wc -l; }
acks_after() { awk -v a="$2" '$2 > a' "$RUN/ack-$1.log" | wc -l; }

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
