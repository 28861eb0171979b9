#!/bin/bash
# d) A failing freeze hook aborts: HV_E_FAIL to the host, nothing frozen,
# later freeze hooks not run, thaw hooks run (in reverse) for the hooks that ran.
. "$(dirname "$0")/lib.sh"

mkext4 ext4
hook 10-ok 'exit 0'
hook 20-fail '[ "$1" = freeze ] && exit 1; exit 0'
hook 30-never 'exit 0'
start_fk
start_daemon --scope "$WORK/mnt/ext4"
call ListHooks | jq -e '.hooks | length == 3 and all(.problem == null)' >/dev/null || die "ListHooks: $(call ListHooks)"
fk_expect freeze 60000 fail
assert_thawed "$WORK/mnt/ext4"
expected="10-ok freeze
20-fail freeze
20-fail thaw
10-ok thaw"
[ "$(cat "$RUN/hooks.log")" = "$expected" ] || die "hook calls: $(cat "$RUN/hooks.log")"
op=$(last_op)
echo "$op" | jq -e '.result == "failed" and (.error | test("20-fail")) and .frozen_ms == null' >/dev/null || die "history: $op"
echo "$op" | jq -e '[.hooks[] | select(.name == "20-fail" and .operation == "freeze")][0].result == "failed"' >/dev/null || die "hook result: $op"
echo "$op" | jq -e '[.targets[] | select(.result == "frozen-thawed")] | length == 0' >/dev/null || die "something was frozen: $op"
# The next backup works once the hook is fixed.
hook 20-fail 'exit 0'
fk freeze
[ "$(fk_reply 60000)" = ok ] || die "FREEZE after fixing the hook not ok"
fk thaw
[ "$(fk_reply 30000)" = ok ] || die "THAW not ok"
assert_thawed "$WORK/mnt/ext4"
note PASS
