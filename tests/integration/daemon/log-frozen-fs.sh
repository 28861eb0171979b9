#!/bin/bash
# i) Failure mode 1: the daemon's stderr (its log) is a file on a filesystem
# it freezes. No deadlock: requests during the freeze are answered, the THAW
# is answered, and the lines logged while frozen appear after thaw.
. "$(dirname "$0")/lib.sh"

mkext4 ext4
mkext4 logfs 64M
DAEMON_LOG=$WORK/mnt/logfs/hvvssd.log
start_fk
start_daemon --scope "$WORK/mnt/ext4" --scope "$WORK/mnt/logfs"
fk freeze
[ "$(fk_reply 60000)" = ok ] || die "FREEZE not ok"
probe_blocked "$WORK/mnt/logfs" || die "the log filesystem is not frozen"
# Things that log while frozen: a capability check, a refused test freeze.
fk hot_backup
r=$(fk_reply 10000)
[ "$r" = ok ] || die "HOT_BACKUP while frozen answered '$r' (deadlocked on the log?)"
out=$(call TestFreeze) ; echo "$out" | grep -q "io.hypervvss.Busy" || die "TestFreeze while frozen: $out"
call GetStatus >/dev/null || die "GetStatus while frozen failed"
grep -q "host capability check" "$DAEMON_LOG" && die "a line was written to the frozen filesystem"
fk_expect thaw 30000 ok
# Both lines are written after the THAW reply: up to 10 s on a slow machine.
wait_secs 10 grep -q "host capability check: ok" "$DAEMON_LOG" || die "the line logged while frozen did not appear after thaw"
wait_secs 10 grep -q "logfs (ext4, level 0): frozen-thawed" "$DAEMON_LOG" || die "no per-target result after thaw"
assert_thawed "$WORK/mnt/ext4" "$WORK/mnt/logfs"
stop_daemon
note PASS
