#!/bin/bash
# TestFreeze: progress events (started, phase, target, hook, held, thawed,
# done), the same pipeline as a host backup (hooks with reason
# test-freeze); Busy while a host backup runs; a host FREEZE during a test
# hold ends the test (pre-empted) and is then served; the emergency Thaw.
. "$(dirname "$0")/lib.sh"

mkext4 ext4
hook 10-env 'echo "reason=$HYPERV_VSS_REASON fs=$HYPERV_VSS_FILESYSTEMS" >> '"$RUN"'/hooks.env'
start_fk
start_daemon --scope "$WORK/mnt/ext4"

# 1. A full test freeze with events.
call TestFreeze '{"hold_s":1}' --more >"$RUN/tf1.out" || die "TestFreeze failed: $(cat "$RUN/tf1.out")"
events=$(jq -r .event "$RUN/tf1.out" | tr '\n' ' ')
for e in started phase hook target held thawed done; do
	echo " $events" | grep -q " $e " || die "event $e missing: $events"
done
tail -1 "$RUN/tf1.out" | jq -e '.event == "done" and .operation.kind == "test-freeze" and .operation.result == "ok"' >/dev/null ||
	die "final event: $(tail -1 "$RUN/tf1.out")"
grep -q "reason=test-freeze fs=$WORK/mnt/ext4" "$RUN/hooks.env" || die "hook environment: $(cat "$RUN/hooks.env")"
note "TestFreeze $(timings "$(tail -1 "$RUN/tf1.out" | jq -c .operation)")"

# 2. Busy while a host backup holds the freeze.
fk freeze
[ "$(fk_reply 60000)" = ok ] || die "FREEZE not ok"
out=$(call TestFreeze '{"hold_s":0}'); echo "$out" | grep -q "^error io.hypervvss.Busy" || die "TestFreeze during a host backup: $out"
fk thaw
[ "$(fk_reply 30000)" = ok ] || die "THAW not ok"

# 3. A host FREEZE pre-empts a holding test.
call TestFreeze '{"hold_s":60}' --more >"$RUN/tf2.out" &
tf=$!
for _ in $(seq 100); do grep -q '"held"' "$RUN/tf2.out" && break; sleep 0.1; done
grep -q '"held"' "$RUN/tf2.out" || die "the test freeze did not reach its hold"
fk_expect freeze 60000 ok "during a test"
wait "$tf" || die "the pre-empted TestFreeze call failed: $(cat "$RUN/tf2.out")"
grep -q 'pre-empted' "$RUN/tf2.out" || die "the stream does not say it was pre-empted: $(cat "$RUN/tf2.out")"
tail -1 "$RUN/tf2.out" | jq -e '.event == "done" and .operation.result == "aborted"' >/dev/null || die "final: $(tail -1 "$RUN/tf2.out")"
probe_blocked "$WORK/mnt/ext4" || die "the host's freeze is not in place"
fk thaw
[ "$(fk_reply 30000)" = ok ] || die "THAW after pre-emption not ok"
last_op test-freeze | jq -e '.result == "aborted"' >/dev/null || die "test not recorded as aborted"

# 4. Emergency Thaw during a host freeze: thawed, the host's THAW then fails.
fk freeze
[ "$(fk_reply 60000)" = ok ] || die "FREEZE not ok"
out=$(call Thaw) || die "Thaw failed: $out"
echo "$out" | jq -e --arg m "$WORK/mnt/ext4" '.thawed | index($m) != null' >/dev/null || die "Thaw: $out"
assert_thawed "$WORK/mnt/ext4"
fk_expect thaw 30000 fail "after an emergency thaw"
stop_writers
note PASS
