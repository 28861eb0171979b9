#!/bin/bash
# hvvssctl against the real hvvssd, scoped to ext4 and xfs loop filesystems
# this test creates, with the fake kernel end as its device and an
# application hook pausing a writer. Every command in human and JSON form
# (validated against hvvssctl/schema), a test freeze with the hook, busy,
# a host backup through the fake kernel end showing in history and status,
# permission denied as nobody, and "not running" after the daemon stops.
#
#   run-cli-daemon.sh HVVSSCTL HVVSSD HVVSS_FAKE_KERNEL SCHEMA_DIR
#
# Needs root; fails (does not skip) without it. Thaws its own mounts in a
# trap on every exit.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
CTL=${1:?usage: run-cli-daemon.sh HVVSSCTL HVVSSD HVVSS_FAKE_KERNEL SCHEMA_DIR}
HVVSSD=${2:?}
FAKE_KERNEL=${3:?}
SCHEMA=${4:?}
. "$HERE/lib-cli.sh"
. "$HERE/lib-daemon.sh"
trap daemon_teardown EXIT
trap 'exit 130' INT TERM

if ! daemon_setup "$HVVSSD" "$FAKE_KERNEL" cli; then
	echo "Bail out! cannot start hvvssd on loop filesystems"
	exit 1
fi
export HVVSSCTL_SOCKET=$SOCK NO_COLOR=
install_writer_hook
writer_start

echo "# --- every command, human and JSON, against hvvssd"
run "status (a scoped daemon warns: test mode)" 10 -- status
expect_out '^hvvssd +running'
expect_out 'Warnings +! running with --scope'
expect_out "device $WORK/device registered"
run "status --json" 10 -- status --json
valid status.json
run "mounts" 0 -- mounts
expect_out "^ +[01] +$M_EXT4 +ext4"
expect_out "^ +[01] +$M_XFS +xfs"
expect_out "skip +outside scope"
run "mounts --json" 0 -- mounts --json
valid mounts.json
run "hooks" 0 -- hooks
expect_out "^10-writer +$HOOKS/10-writer +-$"
run "hooks --json" 0 -- hooks --json
valid hooks.json
run "frozen (nothing)" 0 -- frozen
expect_out 'Nothing is frozen'
run "frozen --json" 0 -- frozen --json
valid frozen.json
run "version" 0 -- version
expect_out '^hvvssd +[0-9]'
run "version --json" 0 -- version --json
valid version.json

echo "# --- test freeze with the writer hook"
before=$(writer_count)
run "test-freeze --hold 1" 0 -- test-freeze --hold 1
expect_out 'started'
expect_out 'done +ok'
expect_out "frozen-thawed"
expect_out '10-writer +freeze +ok'
after_tf=$(writer_count)
for _ in $(seq 100); do [ "$(writer_count)" -gt "$after_tf" ] && break; sleep 0.1; done
[ "$(writer_count)" -gt "$after_tf" ] && ok "the writer resumed after the thaw hook" || not_ok "the writer resumed after the thaw hook"
[ "$after_tf" -ge "$before" ] && ok "the writer ran before ($before) and during set-up ($after_tf)" || not_ok "writer count"
run "test-freeze --no-hooks --json" 0 -- test-freeze --no-hooks --json
valid test-freeze.json --lines

echo "# --- busy while a test freeze holds; frozen shows it"
# The hold outlasts the five commands below even on a loaded machine.
"$CTL" test-freeze --hold 10 >"$WORK/bg.out" 2>&1 &
BG=$!
for _ in $(seq 300); do grep -q held "$WORK/bg.out" && break; sleep 0.1; done
run "frozen during the hold" 0 -- frozen
expect_out "$M_EXT4 .* test-freeze"
run "frozen --json during the hold" 0 -- frozen --json
valid frozen.json
run "a second test-freeze is busy" 5 -- test-freeze
expect_err 'hvvssd is busy'
wait "$BG" && ok "the held test freeze finished ok" || not_ok "the held test freeze finished ok"

echo "# --- a host backup through the kernel end"
fk hot_backup
fk_wait_reply 30000; [ "$FK_REPLY" = "reply ok" ] && ok "HOT_BACKUP -> ok" || not_ok "HOT_BACKUP -> ok ($FK_REPLY)"
fk freeze
fk_wait_reply 60000; [ "$FK_REPLY" = "reply ok" ] && ok "FREEZE -> ok" || not_ok "FREEZE -> ok ($FK_REPLY)"
run "frozen during a host backup" 0 -- frozen
expect_out "$M_XFS .* host-backup"
run "status during a host backup" 10 -- status
expect_out '^State +frozen'
run "test-freeze refused during a host backup" 5 -- test-freeze
fk thaw
fk_wait_reply 30000; [ "$FK_REPLY" = "reply ok" ] && ok "THAW -> ok" || not_ok "THAW -> ok ($FK_REPLY)"
run "history" 0 -- history
expect_out 'host-backup +ok'
expect_out 'test-freeze +ok'
run "history --json" 0 -- history --json
valid history.json
run "history -v --limit 1" 0 -- history -v --limit 1
expect_out '^Operation #[0-9]+ host-backup'
run "status after the backup" 10 -- status
expect_out '^Last backup +#[0-9]+ host-backup'
run "thaw (nothing frozen)" 0 -- thaw
run "thaw --json" 0 -- thaw --json
valid thaw.json

echo "# --- permission denied as nobody"
if command -v setpriv >/dev/null; then
	chmod 0755 "$WORK"
	run "nobody: status" 4 --as nobody -- status
	expect_err 'permission denied: run as root or join group hyperv-vss'
fi

echo "# --- not running"
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"; DAEMON_PID=
run "status after hvvssd stopped" 3 -- status
expect_err 'hvvssd is not running: systemctl start hvvssd'
finish
