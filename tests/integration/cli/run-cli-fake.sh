#!/bin/bash
# hvvssctl against fake-hvvssd (canned objects): every command in human and
# JSON form (JSON validated against hvvssctl/schema), and every error path
# with its exit code: not running, permission denied (as nobody; needs root
# for that part), NotPermitted for admin actions, busy, unknown action, bad
# options, an older daemon, a daemon that does not answer.
#
#   run-cli-fake.sh HVVSSCTL FAKE_HVVSSD SCHEMA_DIR
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
CTL=${1:?usage: run-cli-fake.sh HVVSSCTL FAKE_HVVSSD SCHEMA_DIR}
FAKE=${2:?}
SCHEMA=${3:?}
. "$HERE/lib-cli.sh"

WORK=$(mktemp -d /tmp/hvvssctl-cli.XXXXXX) || exit 2
chmod 0755 "$WORK"
SOCK=$WORK/control
FAKE_PID=
cleanup() {
	[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
export HVVSSCTL_SOCKET=$SOCK NO_COLOR=

start_fake() { # SCENARIO [fake options]
	stop_fake
	local fifo=$WORK/fake.out
	rm -f "$fifo"
	mkfifo "$fifo"
	"$FAKE" --socket "$SOCK" --scenario "$@" >"$fifo" 2>"$WORK/fake.err" &
	FAKE_PID=$!
	if ! timeout 10 head -n1 "$fifo" | grep -q listening; then
		echo "Bail out! fake-hvvssd did not start: $(cat "$WORK/fake.err")"
		exit 1
	fi
}
stop_fake() {
	if [ -n "$FAKE_PID" ]; then
		kill "$FAKE_PID" 2>/dev/null
		wait "$FAKE_PID" 2>/dev/null
		FAKE_PID=
	fi
}

echo "# --- ready: every command, human and JSON"
start_fake ready
run "status" 0 -- status
expect_out '^Verdict +ready'
expect_out 'hv_vss \(hyperv-vss module\)'
expect_out 'framework 3\.0, message 5\.0'
expect_out '^Last backup +#1 host-backup'
run "status --json" 0 -- status --json
valid status.json
run "--json before the action" 0 -- --json status
valid status.json
run "mounts" 0 -- mounts
expect_out '^LEVEL +MOUNT +TYPE +SOURCE +DECISION +REASON$'
[ "$(sed -n 2p <<<"$OUT" | awk '{print $1, $2}')" = "0 /var/lib/mysql" ] && ok "  level 0 first" || not_ok "  level 0 first"
[ "$(sed -n 3p <<<"$OUT" | awk '{print $1, $2}')" = "1 /" ] && ok "  then level 1" || not_ok "  then level 1"
expect_out 'same filesystem as /'
expect_out '2 filesystem\(s\) to freeze in 2 level\(s\).*4 mount\(s\) skipped'
run "mounts -v" 0 -- mounts -v
expect_out 'CODE +SAME-AS'
expect_out 'never-freeze-type'
run "mounts --json" 0 -- mounts --json
valid mounts.json
run "frozen" 0 -- frozen
expect_out '^Nothing is frozen\.$'
run "frozen --json" 0 -- frozen --json
valid frozen.json
run "history" 0 -- history
expect_out '^ID +STARTED +KIND +RESULT +FROZEN +FS +ERROR$'
expect_out 'host-backup +ok +1\.23 s +2'
run "history -v" 0 -- history -v
expect_out '^Operation #1 host-backup'
expect_out 'PHASE +TIME'
expect_out 'FLUSH TABLES WITH READ LOCK'
run "history --json" 0 -- history --json
valid history.json
run "hooks" 0 -- hooks
expect_out '10-mysql +/etc/hyperv-vss/hooks.d/10-mysql +-$'
run "hooks --json" 0 -- hooks --json
valid hooks.json
run "version" 0 -- version
expect_out '^hvvssctl [0-9]'
expect_out '^hvvssd +0\.1\.0'
run "version --json" 0 -- version --json
valid version.json
run "thaw (nothing frozen)" 0 -- thaw
expect_out 'Nothing was frozen'
run "thaw --json" 0 -- thaw --json
valid thaw.json
run "test-freeze --hold 0.2" 0 -- test-freeze --hold 0.2
expect_out '^ +\+[0-9.]+ s +started'
expect_out 'target +/var/lib/mysql: frozen'
expect_out 'hook +10-mysql freeze'
expect_out 'done +ok'
expect_out '^Operation #[0-9]+ test-freeze'
run "test-freeze --no-hooks" 0 -- test-freeze --no-hooks
expect_no_out 'hook +10-mysql'
run "test-freeze --json (JSON Lines)" 0 -- test-freeze --json
valid test-freeze.json --lines
[ "$(tail -n1 <<<"$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["event"])')" = done ] &&
	ok "  the last line is the done event" || not_ok "  the last line is the done event"
run "history --limit 2 --json" 0 -- history --limit 2 --json
valid history.json
[ "$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)["operations"]))' <<<"$OUT")" = 2 ] &&
	ok "  exactly 2 operations" || not_ok "  exactly 2 operations"
[ "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["operations"][0]["kind"])' <<<"$OUT")" = test-freeze ] &&
	ok "  newest first" || not_ok "  newest first"

echo "# --- busy, and frozen during a hold"
# The hold outlasts the six commands below even on a loaded machine.
"$CTL" test-freeze --hold 10 >"$WORK/bg.out" 2>&1 &
BG=$!
for _ in $(seq 300); do
	grep -q held "$WORK/bg.out" && break
	sleep 0.1
done
run "frozen during a test freeze" 0 -- frozen
expect_out '/var/lib/mysql +[0-9-]+ [0-9:]+ +[0-9.]+ (ms|s) +[0-9]+ +test-freeze'
run "frozen --json during a test freeze" 0 -- frozen --json
valid frozen.json
run "status while frozen" 0 -- status
expect_out '^State +frozen \(test-freeze\)'
run "second test-freeze is busy" 5 -- test-freeze
expect_err 'hvvssd is busy: a test freeze runs; wait until it finishes'
run "thaw is busy" 5 -- thaw
wait "$BG" && ok "the held test freeze finished ok" || not_ok "the held test freeze finished ok"

echo "# --- colour only on a terminal, and never with NO_COLOR or --no-color"
if command -v script >/dev/null; then
	esc=$(printf '\033')
	OUT=$(NO_COLOR= TERM=xterm script -qec "$CTL status" /dev/null) RC=$?
	grep -q "$esc\[" <<<"$OUT" && ok "colour on a terminal" || not_ok "colour on a terminal"
	OUT=$(NO_COLOR=1 TERM=xterm script -qec "$CTL status" /dev/null) RC=$?
	grep -q "$esc\[" <<<"$OUT" && not_ok "NO_COLOR=1: no colour" || ok "NO_COLOR=1: no colour"
	OUT=$(NO_COLOR= TERM=xterm script -qec "$CTL --no-color status" /dev/null) RC=$?
	grep -q "$esc\[" <<<"$OUT" && not_ok "--no-color: no colour" || ok "--no-color: no colour"
fi
run "no colour into a pipe" 0 -- status
grep -q "$(printf '\033')" <<<"$OUT" && not_ok "  no escape codes" || ok "  no escape codes"

echo "# --- usage errors (exit 2)"
run "unknown action" 2 -- frobnicate
expect_err "unknown action 'frobnicate'; see 'hvvssctl --help'"
run "option of another action" 2 -- status --hold 3
expect_err "option --hold cannot be used with 'status'; it belongs to: test-freeze"
run "--limit with mounts" 2 -- mounts --limit 3
expect_err "option --limit cannot be used with 'mounts'; it belongs to: history"
run "--kernel with --no-hooks" 2 -- test-freeze --kernel --no-hooks
expect_err 'options --kernel and --no-hooks cannot be combined'
run "--hostsim without --kernel" 2 -- test-freeze --hostsim /dev/null
expect_err 'option --hostsim needs --kernel'
run "unknown option" 2 -- status --frobnicate
expect_err "unknown option"
run "bad --limit" 2 -- history --limit 0
expect_err '--limit wants a number from 1 to 100000'
run "bad --hold" 2 -- test-freeze --hold soon
expect_err '--hold wants seconds'
run "no action" 2 --
expect_err 'no action given'
run "extra argument" 2 -- status now
expect_err "'status' takes no arguments"
run "--help" 0 -- --help
expect_out '^Actions:'
expect_out '^  test-freeze'
run "action --help" 0 -- test-freeze --help
expect_out 'Usage: hvvssctl \[OPTIONS\] test-freeze'
expect_out '--kernel'
expect_no_out '--limit'

echo "# --- warnings (exit 10)"
start_fake warnings
run "status with warnings" 10 -- status
expect_out 'no VSS channel: not running on Hyper-V'
expect_out 'none \(no VSS channel\)'
expect_out '^Verdict +not ready'
run "status --json with warnings" 10 -- status --json
valid status.json
run "hooks with a problem" 10 -- hooks
expect_out 'group-writable'
expect_out '1 hook\(s\) would be refused'
run "hooks --json with a problem" 10 -- hooks --json
valid hooks.json

echo "# --- last backup failed (exit 11)"
start_fake last-failed
run "status, last backup failed" 11 -- status
expect_out '^Last backup +#2 host-backup.*failed'
expect_out 'FIFREEZE: Device or resource busy'
expect_out '^Verdict +last host-backup failed'
run "status --json, last backup failed" 11 -- status --json
valid status.json
run "history -v of a failure" 0 -- history -v --limit 1
expect_out 'error: /: FIFREEZE'

echo "# --- a failing test freeze (exit 1)"
start_fake test-fail
run "test-freeze fails" 1 -- test-freeze
expect_out 'target +/: FIFREEZE: Device or resource busy'
expect_out 'done +failed'
expect_err 'the test freeze failed: /: FIFREEZE: Device or resource busy'
run "test-freeze --json fails" 1 -- test-freeze --json
valid test-freeze.json --lines

echo "# --- left-over freeze: frozen, thaw"
start_fake leftover
run "frozen shows the left-over" 0 -- frozen
expect_out '/var/lib/mysql .* left-over'
run "thaw" 0 -- thaw
expect_out 'Thawed 1 filesystem\(s\):'
expect_out '^  /var/lib/mysql$'
run "frozen after thaw" 0 -- frozen
expect_out 'Nothing is frozen'

echo "# --- an older daemon (exit 6), a daemon that does not answer (exit 1)"
start_fake old
run "method missing" 6 -- mounts
expect_err 'hvvssd does not know ListMounts: it is older than this hvvssctl'
start_fake slow
run "no answer in time" 1 -- status --timeout 0.5
expect_err 'did not answer in time'

echo "# --- not running (exit 3)"
stop_fake
run "no socket" 3 -- status
expect_err "hvvssd is not running: systemctl start hvvssd \(nothing listens on $SOCK\)"
run "no socket, --json" 3 -- status --json
[ -z "$OUT" ] && ok "  nothing on stdout" || not_ok "  nothing on stdout"
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$WORK/stale"
run "stale socket (nobody listens)" 3 -- --socket "$WORK/stale" status
expect_err 'hvvssd is not running: systemctl start hvvssd'
run "version without a daemon" 3 -- version
expect_out '^hvvssctl '
expect_out 'unknown \(not reachable\)'

echo "# --- permission denied (exit 4)"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && [ -x "$CTL" ]; then
	start_fake ready --group 4242
	# The socket is root:4242 0660: nobody cannot connect at all.
	run "nobody, socket 0660" 4 --as nobody -- status
	expect_err 'permission denied: run as root or join group hyperv-vss'
	# A world-connectable socket: the daemon itself says NotPermitted.
	chmod 0666 "$SOCK"
	run "nobody, daemon refuses" 4 --as nobody -- status
	expect_err 'permission denied: run as root or join group hyperv-vss'
	chmod 0660 "$SOCK"
	run "group member reads" 0 --as nobody:4242 -- status
	run "group member mounts --json" 0 --as nobody:4242 -- mounts --json
	valid mounts.json
	run "group member may not thaw" 4 --as nobody:4242 -- thaw
	expect_err "permission denied: 'thaw' needs root"
	run "group member may not test-freeze" 4 --as nobody:4242 -- test-freeze
	expect_err "permission denied: 'test-freeze' needs root"
else
	echo "# SKIP permission tests: need root and setpriv"
fi
stop_fake
finish
