#!/bin/bash
# e) A hanging freeze hook (failure mode 6) is killed at hook_timeout with
# its process group; the host gets HV_E_FAIL in time, nothing stays frozen.
. "$(dirname "$0")/lib.sh"

mkext4 ext4
conf hook_timeout 2s
hook 10-hang '[ "$1" = freeze ] && { sleep 317 & sleep 317; }; exit 0'
start_fk
start_daemon --scope "$WORK/mnt/ext4"
t0=$(date +%s)
fk freeze
r=$(fk_reply 60000)
t1=$(date +%s)
[ "$r" = fail ] || die "FREEZE answered '$r', expected fail"
[ $((t1 - t0)) -lt 30 ] || die "the answer took $((t1 - t0)) s: the hook was not killed at its timeout"
# SIGKILLed with the hook's group by now, but a process may take a moment to
# die and go away: up to 10 s.
hook_sleep_gone() { ! pgrep -x -f "sleep 317" >/dev/null; }
wait_secs 10 hook_sleep_gone || die "the hook's background process survived its timeout"
assert_thawed "$WORK/mnt/ext4"
op=$(last_op)
echo "$op" | jq -e '[.hooks[] | select(.name == "10-hang" and .operation == "freeze")][0] | .result == "timeout" and .signal == 9' >/dev/null ||
	die "history: $op"
grep -q "10-hang thaw" "$RUN/hooks.log" || die "the thaw hook of the killed hook did not run"
note "answer after $((t1 - t0)) s; $(timings "$op")"
note PASS
