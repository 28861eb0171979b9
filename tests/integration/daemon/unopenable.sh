#!/bin/bash
# k) Failure mode 9: a mount point that cannot be opened as a directory (a
# regular file bind-mounted from a test ext4) in scope: skipped with a
# note, the backup succeeds and the other filesystem is frozen and thawed.
. "$(dirname "$0")/lib.sh"

mkext4 ext4
mkext4 src 64M
: >"$WORK/mnt/src/file"
: >"$WORK/bindfile"
mount --bind "$WORK/mnt/src/file" "$WORK/bindfile" || die "bind mount a file"
loopfs_add "$WORK/bindfile"
start_fk
start_daemon --scope "$WORK/mnt/ext4" --scope "$WORK/bindfile"
fk freeze
[ "$(fk_reply 60000)" = ok ] || die "FREEZE not ok with a bind-mounted file in scope"
fk thaw
[ "$(fk_reply 30000)" = ok ] || die "THAW not ok"
op=$(last_op)
echo "$op" | jq -e --arg b "$WORK/bindfile" '.result == "ok" and ([.targets[] | select(.mount_point == $b)][0] | .result == "skipped" and (.note | test("not a directory")))' >/dev/null ||
	die "bind-mounted file not skipped: $op"
echo "$op" | jq -e --arg e "$WORK/mnt/ext4" '[.targets[] | select(.mount_point == $e)][0].result == "frozen-thawed"' >/dev/null || die "ext4: $op"
assert_thawed "$WORK/mnt/ext4" "$WORK/mnt/src"
note PASS
