#!/bin/sh
# Negative self-test driver: run run-vm.sh, which must FAIL, for the
# expected reason.  Passing is as wrong as failing for another reason (a VM
# that does not boot would also "fail").
#
# Usage: selftest-expect-fail.sh REASON RUN-VM-ARGS...
#   REASON  a fixed string that must appear in one of run-vm.sh's "vm: - ..."
#           reason lines
set -eu

[ $# -ge 2 ] || { echo "selftest-expect-fail: usage: $0 REASON RUN-VM-ARGS..." >&2; exit 2; }
reason=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp "${TMPDIR:-/tmp}/hvvss-expect-fail.XXXXXX")
trap 'rm -f "$out"' EXIT

rc=0
"$here/run-vm.sh" "$@" >"$out" 2>&1 || rc=$?
cat "$out"
if [ "$rc" -ne 1 ]; then
	echo "selftest-expect-fail: FAIL: run-vm.sh exited $rc, expected 1 (a judged failure)"
	exit 1
fi
if ! tail -n 1 "$out" | grep -q '^vm: FAIL '; then
	echo "selftest-expect-fail: FAIL: the last line is not a 'vm: FAIL' verdict"
	exit 1
fi
if ! grep '^vm: - ' "$out" | grep -qF -e "$reason"; then
	echo "selftest-expect-fail: FAIL: no failure reason mentions '$reason'"
	exit 1
fi
echo "selftest-expect-fail: PASS: run-vm.sh failed as expected ($reason)"
