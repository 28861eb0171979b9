#!/bin/bash
# j) Failure mode 3: a filesystem whose FIFREEZE fails with EOPNOTSUPP, of a
# type the plan does not know (a "vendor" filesystem). This kernel has no
# writable block filesystem without freeze support, so a tmpfs (EOPNOTSUPP)
# is shown to the daemon as type "vendorfs" through a copy of the mount
# table (--mountinfo): the freeze is really attempted and fails, the target
# is skipped with a warning, and the backup succeeds.
# Then with the real table: the plan skips tmpfs itself, with a reason.
. "$(dirname "$0")/lib.sh"

mkext4 ext4
mkdir -p "$WORK/mnt/tmpfs"
mount -t tmpfs -o size=8m hvvss-it-tmpfs "$WORK/mnt/tmpfs" || die "mount tmpfs"
loopfs_add "$WORK/mnt/tmpfs"
sed "s| $WORK/mnt/tmpfs \(.*\) - tmpfs hvvss-it-tmpfs | $WORK/mnt/tmpfs \1 - vendorfs /dev/vendor0 |" \
	/proc/1/mountinfo >"$RUN/mountinfo"
grep -q " - vendorfs /dev/vendor0 " "$RUN/mountinfo" || die "could not make the vendorfs mount table"
start_fk
start_daemon --scope "$WORK/mnt/ext4" --scope "$WORK/mnt/tmpfs" --mountinfo "$RUN/mountinfo"
call ListMounts | jq -e --arg t "$WORK/mnt/tmpfs" '[.mounts[] | select(.mount_point == $t)][0].decision == "freeze"' >/dev/null ||
	die "the vendorfs is not planned: $(call ListMounts)"
fk freeze
[ "$(fk_reply 60000)" = ok ] || die "FREEZE not ok with an unfreezable filesystem in scope"
fk thaw
[ "$(fk_reply 30000)" = ok ] || die "THAW not ok"
op=$(last_op)
echo "$op" | jq -e --arg t "$WORK/mnt/tmpfs" '.result == "ok" and ([.targets[] | select(.mount_point == $t)][0] | .result == "skipped" and .note != null)' >/dev/null ||
	die "tmpfs not skipped with a note: $op"
echo "$op" | jq -e --arg e "$WORK/mnt/ext4" '[.targets[] | select(.mount_point == $e)][0].result == "frozen-thawed"' >/dev/null || die "ext4: $op"
grep -q "tmpfs.*skipped" "$RUN/daemon.log" || die "no warning logged for the skipped tmpfs"
note "tmpfs: $(echo "$op" | jq -r --arg t "$WORK/mnt/tmpfs" '.targets[] | select(.mount_point == $t) | .note')"
stop_daemon
# Default configuration: the plan skips tmpfs itself.
echo "hooks_dir = $HOOKS" >"$CONF"
fk close
rm -f "$RUN/control"
start_daemon --scope "$WORK/mnt/ext4" --scope "$WORK/mnt/tmpfs"
call ListMounts | jq -e --arg t "$WORK/mnt/tmpfs" '[.mounts[] | select(.mount_point == $t)][0] | .decision == "skip" and .reason == "never-freeze-type"' >/dev/null ||
	die "ListMounts: $(call ListMounts)"
fk freeze
[ "$(fk_reply 60000)" = ok ] || die "FREEZE not ok (default config)"
fk thaw
[ "$(fk_reply 30000)" = ok ] || die "THAW not ok (default config)"
assert_thawed "$WORK/mnt/ext4"
note PASS
