#!/bin/bash
# g) kill -9 while frozen (failure mode 4): the filesystems stay frozen (the
# kernel never thaws), the state dir records them, and a restarted daemon
# thaws them before serving and records a "recovery" operation.
. "$(dirname "$0")/lib.sh"

mkext4 ext4; mkxfs xfs
start_fk
start_daemon --scope "$WORK/mnt/ext4" --scope "$WORK/mnt/xfs"
fk freeze
[ "$(fk_reply 60000)" = ok ] || die "FREEZE not ok"
kill -KILL "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=
[ "$(ls "$RUN/state" | wc -l)" -ge 2 ] || die "no frozen-state records: $(ls -la "$RUN/state")"
probe_blocked "$WORK/mnt/ext4" || die "ext4 not frozen after kill -9 (nothing to recover?)"
fk close
rm -f "$RUN/control"
start_daemon --scope "$WORK/mnt/ext4" --scope "$WORK/mnt/xfs"
assert_thawed "$WORK/mnt/ext4" "$WORK/mnt/xfs"
op=$(last_op recovery)
echo "$op" | jq -e '.result == "ok" and ([.targets[] | select(.result == "frozen-thawed")] | length == 2)' >/dev/null ||
	die "recovery not recorded: $op"
grep -q "left frozen by pid" "$RUN/daemon.log" || die "recovery not logged"
# And it serves the host again.
fk freeze
[ "$(fk_reply 60000)" = ok ] || die "FREEZE after restart not ok"
fk thaw
[ "$(fk_reply 30000)" = ok ] || die "THAW after restart not ok"
assert_thawed "$WORK/mnt/ext4" "$WORK/mnt/xfs"
note PASS
