#!/bin/bash
# l) Failure mode 7: heavy buffered writes while the host freezes. Either the
# freeze completes within freeze_timeout and the cycle is ok, or it fails
# cleanly: HV_E_FAIL, everything thawed, the failure recorded. Both are
# accepted; no assertion on speed. Either way the writers go on afterwards.
. "$(dirname "$0")/lib.sh"

mkext4 ext4 1G
conf freeze_timeout 10s
start_fk
start_daemon --scope "$WORK/mnt/ext4"
# Each loop leads a process group: stop_writers stops its running dd too,
# which would otherwise go on writing (and keep the filesystem busy).
dd_loop() { while :; do dd if=/dev/zero of="$WORK/mnt/ext4/dd$1" bs=1M count=96 status=none 2>/dev/null || sleep 0.2; done; }
for i in 1 2 3 4; do spawn_group dd_loop "$i"; done
start_writer "$WORK/mnt/ext4" ext4
sleep 2
fk freeze
r=$(fk_reply 120000)
case "$r" in
ok)
	sleep 1
	fk thaw
	r2=$(fk_reply 30000)
	[ "$r2" = ok ] || die "THAW answered '$r2'"
	op=$(last_op)
	echo "$op" | jq -e '.result == "ok"' >/dev/null || die "history: $op"
	note "the freeze completed under load" ;;
fail)
	op=$(last_op)
	echo "$op" | jq -e '.result == "failed" and .error != null' >/dev/null || die "failure not recorded: $op"
	note "the freeze failed cleanly under load: $(echo "$op" | jq -r .error)" ;;
*)
	die "FREEZE not answered ('$r')" ;;
esac
t=$(now_ns)
# With the dd loops still writing, one fsync may take seconds on a slow machine.
wait_secs 60 acked_after ext4 "$t" || die "the writer is stuck after the cycle (no write acknowledged in 60 s)"
stop_writers
assert_thawed "$WORK/mnt/ext4"
"$WRITER" --verify "$WORK/mnt/ext4/writer-ext4.dat" "$RUN/ack-ext4.log" || die "writes lost"
call ListFrozen | jq -e '.frozen | length == 0' >/dev/null || die "records left: $(call ListFrozen)"
note "$(timings "$op")"
note PASS
