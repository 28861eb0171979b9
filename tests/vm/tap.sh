# shellcheck shell=sh
# TAP helpers for VM scenarios (busybox ash; also works in bash and dash).
# Source it:   . "$HVVSS_KMOD/tap.sh"      (installed as /lib/hvvss/tap.sh)
#
#   tap_plan N                 print the plan "1..N" up front (optional)
#   ok DESC / not_ok DESC      record a result
#   check DESC CMD [ARG]...    run CMD; ok if it exits 0, else not_ok with
#                              the command, its status and output as "# " lines
#   check_fail DESC CMD...     ok if CMD exits non-zero (output shown if it
#                              unexpectedly succeeds)
#   check_eq DESC EXP ACTUAL   ok if the two strings are equal
#   diag MSG...                print "# MSG" (one "# " per line of MSG)
#   wait_until SECS CMD...     retry CMD every 0.1 s until it exits 0 (return
#                              0) or SECS pass (return 1); records no result
#   tap_done                   print the plan if tap_plan was not called;
#                              return 1 if anything failed or the count
#                              differs from the plan.  End scenarios with
#                              "tap_done" (its status is the scenario's).
#
# For scenarios that print a transcript (the demos):
#   step TITLE                 a blank line and "=== TITLE ==="
#   run CMD [ARG]...           show "$ CMD" and its output indented; the
#                              output stays in /tmp/run.out; CMD's status
#
# Variables starting with _tap are private.  Results are numbered.

_tap_n=0
_tap_failed=0
_tap_planned=

tap_plan() {
	_tap_planned=$1
	echo "1..$1"
}

diag() {
	printf '%s\n' "$*" | sed 's/^/# /'
}

ok() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $*"
}

not_ok() {
	_tap_n=$((_tap_n + 1))
	_tap_failed=$((_tap_failed + 1))
	echo "not ok $_tap_n - $*"
}

check() {
	_tap_desc=$1
	shift
	if _tap_out=$("$@" 2>&1); then
		ok "$_tap_desc"
	else
		_tap_rc=$?
		not_ok "$_tap_desc"
		diag "command: $*"
		diag "exit status: $_tap_rc"
		[ -z "$_tap_out" ] || diag "$_tap_out"
	fi
}

check_fail() {
	_tap_desc=$1
	shift
	if _tap_out=$("$@" 2>&1); then
		not_ok "$_tap_desc"
		diag "command: $*"
		diag "expected a non-zero exit status, got 0"
		[ -z "$_tap_out" ] || diag "$_tap_out"
	else
		ok "$_tap_desc"
	fi
}

check_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		diag "expected: '$2'"
		diag "     got: '$3'"
	fi
}

wait_until() {
	_tap_left=$(($1 * 10))
	shift
	while [ "$_tap_left" -gt 0 ]; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
		_tap_left=$((_tap_left - 1))
	done
	return 1
}

tap_done() {
	if [ -z "$_tap_planned" ]; then
		echo "1..$_tap_n"
	elif [ "$_tap_planned" -ne "$_tap_n" ]; then
		diag "planned $_tap_planned tests but ran $_tap_n"
		return 1
	fi
	if [ "$_tap_failed" -gt 0 ]; then
		diag "failed $_tap_failed of $_tap_n"
		return 1
	fi
	return 0
}

step() {
	echo
	echo "=== $* ==="
}

run() {
	echo "  \$ $*"
	"$@" >/tmp/run.out 2>&1
	_tap_rc=$?
	sed 's/^/    /' /tmp/run.out
	return $_tap_rc
}
