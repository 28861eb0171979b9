# Shared helpers of the hvvssctl integration tests (sourced by run-cli-*.sh; bash).
#
#   run NAME EXPECTED_RC [--as USER[:GROUP_ID]] -- ARGS...   runs $CTL ARGS, keeps OUT, ERR, RC
#   expect_out REGEX / expect_err REGEX / expect_no_out REGEX  check the last run
#   valid SCHEMA [--lines]                                  last stdout against SCHEMA
# Results are TAP lines; finish prints the count and returns 1 on any failure.

N=0
FAILED=0
OUT=
ERR=
RC=
LAST=

ok() { N=$((N + 1)); echo "ok $N - $*"; }
not_ok() {
	N=$((N + 1)); FAILED=$((FAILED + 1))
	echo "not ok $N - $*"
	echo "# command: hvvssctl $LAST"
	echo "# exit status: $RC"
	sed 's/^/# stdout: /' <<<"$OUT" | head -40
	sed 's/^/# stderr: /' <<<"$ERR" | head -20
}

run() {
	local name=$1 want=$2 as=
	shift 2
	if [ "$1" = --as ]; then as=$2; shift 2; fi
	[ "$1" = -- ] && shift
	LAST="$*"
	if [ -n "$as" ]; then
		local user=${as%%:*} groups=
		[ "$user" != "$as" ] && groups=${as#*:}
		if [ -n "$groups" ]; then
			OUT=$(setpriv --reuid="$user" --regid=nogroup --groups="$groups" -- "$CTL" "$@" 2>"$WORK/err") && RC=0 || RC=$?
		else
			OUT=$(setpriv --reuid="$user" --regid=nogroup --clear-groups -- "$CTL" "$@" 2>"$WORK/err") && RC=0 || RC=$?
		fi
	else
		OUT=$("$CTL" "$@" 2>"$WORK/err") && RC=0 || RC=$?
	fi
	ERR=$(cat "$WORK/err")
	if [ "$RC" = "$want" ]; then ok "$name: exit $want"; else not_ok "$name: exit $want (got $RC)"; fi
}
expect_out() { if grep -Eq -- "$1" <<<"$OUT"; then ok "  stdout has '$1'"; else not_ok "  stdout has '$1'"; fi; }
expect_no_out() { if grep -Eq -- "$1" <<<"$OUT"; then not_ok "  stdout lacks '$1'"; else ok "  stdout lacks '$1'"; fi; }
expect_err() { if grep -Eq -- "$1" <<<"$ERR"; then ok "  stderr has '$1'"; else not_ok "  stderr has '$1'"; fi; }
valid() {
	local schema=$1
	shift
	local msg
	if msg=$(printf '%s\n' "$OUT" | python3 "$HERE/validate-json.py" "$SCHEMA/$schema" "$@" 2>&1); then
		ok "  JSON valid against $schema"
	else
		ERR="$ERR
$msg"
		not_ok "  JSON valid against $schema"
	fi
}
finish() {
	echo "1..$N"
	if [ "$FAILED" -gt 0 ]; then
		echo "# $FAILED of $N failed"
		return 1
	fi
	echo "# all $N passed"
}
