#!/bin/sh
# Unit tests of check-kernel-log.sh on canned logs (no VM, no root).
# TAP output; exit 1 if any case fails.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
check=$here/check-kernel-log.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hvvss-klog-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

n=0
failed=0
# A console log as run-vm.sh saves it (CR LF from the serial port), with
# the kernel log section holding $2 and the taint value $1.
console_log() { # TAINT KERNEL_LINES
	{
		printf 'hvvss-vm: booted in 4.2 s\r\n'
		printf '==hvvss-vm== scenario-begin\r\n'
		# Scenario output is not kernel log: a test may print these words.
		printf 'ok 1 - no WARNING: or BUG: here counts\r\n'
		printf '==hvvss-vm== scenario-end rc=0\r\n'
		printf '==hvvss-vm== kernel-log-begin\r\n'
		printf '[    0.000000] Linux version 6.1.0-56-amd64\r\n'
		[ -z "$2" ] || printf '%s\r\n' "$2"
		printf '[    6.099838] Btrfs loaded, crc32c=crc32c-intel\r\n'
		printf '==hvvss-vm== kernel-log-end\r\n'
		printf '==hvvss-vm== tainted %s\r\n' "$1"
		printf '==hvvss-vm== done\r\n'
	} >"$tmp/log"
}
expect() { # pass|fail DESC [GREP] -- check-kernel-log.sh runs on $tmp/log
	n=$((n + 1))
	rc=0
	"$check" "$tmp/log" >"$tmp/out" 2>&1 || rc=$?
	if { [ "$1" = pass ] && [ "$rc" -eq 0 ]; } ||
		{ [ "$1" = fail ] && [ "$rc" -eq 1 ] && { [ -z "${3:-}" ] || grep -qF -e "$3" "$tmp/out"; }; }; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2 (expected $1${3:+ mentioning \"$3\"}, exit $rc)"
		sed 's/^/# /' "$tmp/out"
		failed=$((failed + 1))
	fi
}

console_log 0 ''
expect pass "clean log, taint 0"
console_log 4096 '[   12.000000] hv_vss: loading out-of-tree module taints kernel.'
expect pass "taint 4096 (O, out-of-tree module) is allowed"
console_log 8192 ''
expect pass "taint 8192 (E, unsigned module) is allowed"
console_log 12288 '[   12.000000] hv_vss: module verification failed: signature and/or required key missing - tainting kernel'
expect pass "taint 12288 (O+E) is allowed"
console_log 512 ''
expect fail "taint 512 (W) fails, naming the bit" "bit 9 (W"
console_log 12800 ''
expect fail "taint 12800 (O+E+W) fails on W" "bit 9 (W"
console_log 128 ''
expect fail "taint 128 (D, died) fails" "bit 7 (D"
console_log 4096 '[   13.100000] WARNING: CPU: 0 PID: 77 at kmod/hv_vss_core.c:123 vss_send+0x1/0x2 [hv_vss]'
expect fail "WARNING: line fails, with its line number" "kernel log line 2: kernel warning"
console_log 4096 '[   13.100000] BUG: sleeping function called from invalid context at mm/slab.h:1'
expect fail "BUG: fails" "kernel bug"
console_log 4096 '[   13.100000] Call Trace:'
expect fail "Call Trace: fails" "stack trace"
console_log 4096 '[   13.100000] general protection fault, probably for non-canonical address 0xdead: 0000 [#1] SMP'
expect fail "general protection fault fails" "general protection fault"
console_log 4096 '[   13.100000] Oops: 0002 [#1] PREEMPT SMP NOPTI'
expect fail "Oops fails" "kernel oops"
console_log 4096 '[   13.100000] WARNING: possible circular locking dependency detected'
expect fail "lockdep circular dependency fails" "circular locking dependency"
console_log 4096 '[   13.100000] WARNING: possible recursive locking detected'
expect fail "lockdep recursive locking fails" "recursive locking"
console_log 4096 '[   13.100000] WARNING: inconsistent lock state'
expect fail "lockdep inconsistent lock state fails" "inconsistent lock state"
console_log 4096 '[   13.100000] WARNING: suspicious RCU usage'
expect fail "suspicious RCU usage fails" "suspicious RCU usage"
console_log 4096 '[   13.100000] kernel BUG at kmod/hv_vss_core.c:42!'
expect fail "kernel BUG fails" "BUG_ON"
console_log 4096 '[  243.100000] INFO: task sh:99 blocked for more than 120 seconds.'
expect fail "hung task fails" "hung task"

# A marked log without its taint line, and a truncated kernel log section.
console_log 0 ''
grep -v tainted "$tmp/log" >"$tmp/log2" && mv "$tmp/log2" "$tmp/log"
expect fail "missing taint line fails" "no '==hvvss-vm== tainted N' line"
console_log 0 ''
sed '/kernel-log-end/,$d' "$tmp/log" >"$tmp/log2" && mv "$tmp/log2" "$tmp/log"
expect fail "truncated kernel log section fails" "truncated"

# A bare kernel log with --taint.
n=$((n + 1))
printf '[    1.0] all quiet\n' >"$tmp/bare"
if "$check" --taint 12288 "$tmp/bare" >/dev/null && ! "$check" --taint 1 "$tmp/bare" >/dev/null; then
	echo "ok $n - bare log: --taint 12288 passes, --taint 1 (P) fails"
else
	echo "not ok $n - bare log with --taint"
	failed=$((failed + 1))
fi
n=$((n + 1))
rc=0
"$check" "$tmp/does-not-exist" >/dev/null 2>&1 || rc=$?
if [ "$rc" -eq 2 ]; then
	echo "ok $n - unreadable log is a usage error (exit 2)"
else
	echo "not ok $n - unreadable log: exit $rc, expected 2"
	failed=$((failed + 1))
fi

echo "1..$n"
[ "$failed" -eq 0 ]
