#!/bin/bash
# f) The host never sends THAW (failure mode 5): after max_frozen_time the
# watchdog thaws and runs the thaw hooks; the history says the snapshot may
# be inconsistent; the host's late THAW gets HV_E_FAIL.
. "$(dirname "$0")/lib.sh"

mkext4 ext4
conf max_frozen_time 2s
hook 10-log 'exit 0'
start_fk
start_daemon --scope "$WORK/mnt/ext4"
start_writer "$WORK/mnt/ext4" ext4
fk freeze
[ "$(fk_reply 60000)" = ok ] || die "FREEZE not ok"
# The watchdog fires 2 s after the freeze; a slow machine gets 20 s for each
# of its effects. The writer must then go on: an ack stamped after the
# watchdog's thaw is no write that fsync'd just before the freeze.
by_watchdog() { last_op | jq -e '.result == "watchdog" and .may_be_inconsistent == true' >/dev/null; }
thaw_hook_ran() { grep -q "10-log thaw" "$RUN/hooks.log" 2>/dev/null; }
idle_warned() { call GetStatus | jq -e '.state == "idle" and (.warnings | any(test("inconsistent")))' >/dev/null; }
wait_secs 20 by_watchdog || die "history: $(last_op)"
wait_secs 20 thaw_hook_ran || die "thaw hooks did not run"
wait_secs 20 idle_warned || die "GetStatus: $(call GetStatus)"
t1=$(now_ns)
wait_secs 20 acked_after ext4 "$t1" || die "the writer never resumed: not thawed by the watchdog"
stop_writers
assert_thawed "$WORK/mnt/ext4"
op=$(last_op)
fk thaw
r=$(fk_reply 30000)
[ "$r" = fail ] || die "late THAW answered '$r', expected fail"
last_op | jq -e '.error | test("THAW came afterwards")' >/dev/null || die "late THAW not recorded: $(last_op)"
"$WRITER" --verify "$WORK/mnt/ext4/writer-ext4.dat" "$RUN/ack-ext4.log" || die "writes lost"
note "$(timings "$op")"
note PASS
