#!/bin/sh
# Judge the kernel log of a VM test run.
#
# Usage: check-kernel-log.sh [--taint N] LOGFILE
#
# LOGFILE is either a full console log from run-vm.sh (then the section
# between "==hvvss-vm== kernel-log-begin" and "...-end" is checked and the
# taint value comes from its "==hvvss-vm== tainted N" line), or a bare
# kernel log (then the taint value is the --taint argument, and without one
# the taint check is reported as not done).
#
# Fails (exit 1) on any line that shows a kernel bug, warning, oops, lockdep
# or RCU report, stack trace or hung task, and on a taint value with any bit
# other than O (4096, out-of-tree module) and E (8192, unsigned module), which
# loading our own modules sets.  Prints each offending line and why.
# Exit 0: clean.  Exit 2: usage error or unreadable log.
set -eu

prog=check-kernel-log
taint=
while [ $# -gt 0 ]; do
	case $1 in
	--taint)
		[ $# -ge 2 ] || { echo "$prog: --taint needs a number" >&2; exit 2; }
		taint=$2
		shift 2
		;;
	-*)
		echo "$prog: unknown option '$1'; usage: $prog [--taint N] LOGFILE" >&2
		exit 2
		;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || { echo "$prog: usage: $prog [--taint N] LOGFILE" >&2; exit 2; }
log=$1
[ -r "$log" ] || { echo "$prog: cannot read $log" >&2; exit 2; }

tmp=$(mktemp "${TMPDIR:-/tmp}/hvvss-klog.XXXXXX")
trap 'rm -f "$tmp"' EXIT

# Serial consoles end lines with CR LF.
if grep -q '^==hvvss-vm== kernel-log-begin' "$log"; then
	tr -d '\r' <"$log" | sed -n '/^==hvvss-vm== kernel-log-begin/,/^==hvvss-vm== kernel-log-end/p' |
		sed '1d;$d' >"$tmp"
	if ! tr -d '\r' <"$log" | grep -q '^==hvvss-vm== kernel-log-end'; then
		echo "$prog: FAIL: the kernel log section in $log is truncated (no end marker): the VM died while printing it" >&2
		exit 1
	fi
	if [ -z "$taint" ]; then
		taint=$(tr -d '\r' <"$log" | sed -n 's/^==hvvss-vm== tainted \([0-9]*\)$/\1/p' | tail -n 1)
		if [ -z "$taint" ]; then
			echo "$prog: FAIL: $log has a kernel log section but no '==hvvss-vm== tainted N' line" >&2
			exit 1
		fi
	fi
else
	tr -d '\r' <"$log" >"$tmp"
fi

fail=0
# pattern|why, one per line; fixed strings, matched anywhere in a line.
patterns='BUG:|kernel bug (BUG_ON, KASAN, sleeping in atomic, ...)
kernel BUG|kernel bug (BUG_ON)
WARNING:|kernel warning (WARN_ON)
Oops|kernel oops
general protection fault|general protection fault
Kernel panic|kernel panic
UBSAN:|undefined behaviour detected by UBSAN
possible recursive locking|lockdep: possible recursive locking
circular locking dependency|lockdep: circular locking dependency
inconsistent lock state|lockdep: inconsistent lock state
suspicious RCU usage|RCU: suspicious RCU usage
Call Trace:|a kernel stack trace was printed
blocked for more than|hung task (blocked for more than the hung-task timeout)'

while IFS='|' read -r pat why; do
	hits=$(grep -nF -e "$pat" "$tmp" || true)
	[ -n "$hits" ] || continue
	fail=1
	printf '%s\n' "$hits" | while IFS= read -r hit; do
		echo "$prog: FAIL: kernel log line ${hit%%:*}: $why: ${hit#*:}"
	done
done <<EOF
$patterns
EOF

if [ -z "$taint" ]; then
	echo "$prog: note: no taint value given, taint not checked"
else
	case $taint in
	''|*[!0-9]*)
		echo "$prog: FAIL: taint value '$taint' is not a number"
		exit 1
		;;
	esac
	# O (bit 12) and E (bit 13) come from loading our own modules.
	bad=$((taint & ~(4096 | 8192)))
	if [ "$bad" -ne 0 ]; then
		fail=1
		bit=0
		for letter in P F S R M B U D A W C I O E L K X T N; do
			if [ $((bad & (1 << bit))) -ne 0 ]; then
				case $letter in
				P) why="proprietary module loaded" ;;
				F) why="module force-loaded" ;;
				S) why="SMP kernel on unsafe hardware / out-of-spec system" ;;
				R) why="module force-unloaded" ;;
				M) why="machine check exception" ;;
				B) why="bad page referenced" ;;
				U) why="taint requested by userspace" ;;
				D) why="kernel died recently (oops or BUG)" ;;
				A) why="ACPI table overridden" ;;
				W) why="kernel issued a warning" ;;
				C) why="staging driver loaded" ;;
				I) why="platform firmware bug workaround" ;;
				L) why="soft lockup occurred" ;;
				K) why="kernel live-patched" ;;
				X) why="auxiliary taint" ;;
				T) why="built with struct randomization" ;;
				N) why="in-kernel test module loaded" ;;
				*) why="" ;;
				esac
				echo "$prog: FAIL: kernel tainted $taint: bit $bit ($letter, value $((1 << bit))): $why"
			fi
			bit=$((bit + 1))
		done
		if [ $((bad >> 19)) -ne 0 ]; then
			echo "$prog: FAIL: kernel tainted $taint: unknown bits above 18 ($((bad >> 19 << 19)))"
		fi
	fi
fi

if [ "$fail" -ne 0 ]; then
	echo "$prog: kernel log check FAILED for $log"
	exit 1
fi
exit 0
