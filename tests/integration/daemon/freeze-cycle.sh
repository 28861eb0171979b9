#!/bin/bash
# a) A host HOT_BACKUP + FREEZE + THAW on ext4, xfs and btrfs with a writer on
# each: no write is acknowledged while frozen, writes resume after thaw, and
# every acknowledged (fsync'd) record is intact afterwards.
. "$(dirname "$0")/lib.sh"

mkext4 ext4; mkxfs xfs; mkbtrfs btrfs
FS="ext4 xfs btrfs"
start_fk
start_daemon --scope "$WORK/mnt/ext4" --scope "$WORK/mnt/xfs" --scope "$WORK/mnt/btrfs"
for f in $FS; do start_writer "$WORK/mnt/$f" "$f"; done
sleep 1

fk hot_backup
[ "$(fk_reply 30000)" = ok ] || die "HOT_BACKUP not answered ok"
fk_expect freeze 60000 ok
for f in $FS; do probe_blocked "$WORK/mnt/$f" || die "$f: a write went through while frozen"; done
# The window starts after the probes (1.5 s after the reply), not at it: a
# writer stamps its ack after fsync returns, so an fsync that completed just
# before the freeze but whose writer was descheduled before stamping would
# read as acknowledged while frozen.
t1=$(now_ns)
sleep 2
t2=$(now_ns)
call ListFrozen | jq -e '.frozen | length == 3' >/dev/null || die "ListFrozen does not list 3 filesystems: $(call ListFrozen)"
call GetStatus | jq -e '.state == "frozen" and .operation == "host-backup"' >/dev/null || die "GetStatus while frozen: $(call GetStatus)"
fk_expect thaw 30000 ok
# Every writer must resume before they are stopped; a slow machine may take a while.
for f in $FS; do wait_secs 30 acked_after "$f" "$t2" || die "$f: the writer did not resume within 30 s of the thaw"; done
stop_writers
for f in $FS; do
	n=$(acks_between "$f" "$t1" "$t2")
	[ "$n" = 0 ] || die "$f: $n writes acknowledged while frozen"
	"$WRITER" --verify "$WORK/mnt/$f/writer-$f.dat" "$RUN/ack-$f.log" || die "$f: acknowledged writes lost"
done
assert_thawed "$WORK/mnt/ext4" "$WORK/mnt/xfs" "$WORK/mnt/btrfs"

op=$(last_op)
echo "$op" | jq -e '.result == "ok" and .may_be_inconsistent == false and .frozen_ms > 0' >/dev/null ||
	die "history: $op"
echo "$op" | jq -e '[.targets[] | select(.result == "frozen-thawed")] | length == 3' >/dev/null ||
	die "not 3 targets frozen-thawed: $op"
echo "$op" | jq -e '[.phases[].name] | index("presync") and index("freeze") and index("hold") and index("thaw")' >/dev/null ||
	die "phases missing: $op"
last_op hot-backup-check | jq -e '.result == "ok"' >/dev/null || die "no hot-backup-check in the history"
note "$(timings "$op")"
stop_daemon
[ "$DAEMON_STATUS" = 0 ] || die "hvvssd exited with $DAEMON_STATUS after SIGTERM"
note PASS
