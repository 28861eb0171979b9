#!/bin/bash
# c) Bind mounts (failure mode 8): ext4 and a bind mount of it, both in
# scope: one freeze target, the bind mount skipped as same-filesystem, and
# the freeze succeeds (no EBUSY from freezing one superblock twice).
. "$(dirname "$0")/lib.sh"

mkext4 ext4
mkdir -p "$WORK/mnt/bind"
mount --bind "$WORK/mnt/ext4" "$WORK/mnt/bind" || die "bind mount"
loopfs_add "$WORK/mnt/bind"
start_fk
start_daemon --scope "$WORK/mnt/ext4" --scope "$WORK/mnt/bind"
m=$(call ListMounts)
echo "$m" | jq -e '[.mounts[] | select(.decision == "freeze")] | length == 1' >/dev/null || die "not one target: $m"
echo "$m" | jq -e '[.mounts[] | select(.reason == "same-filesystem")] | length == 1' >/dev/null || die "no same-filesystem skip: $m"
fk freeze
[ "$(fk_reply 60000)" = ok ] || die "FREEZE not ok"
probe_blocked "$WORK/mnt/bind" || die "the bind mount is writable while frozen"
fk thaw
[ "$(fk_reply 30000)" = ok ] || die "THAW not ok"
assert_thawed "$WORK/mnt/ext4"
op=$(last_op)
echo "$op" | jq -e '.result == "ok" and ([.targets[] | select(.result == "frozen-thawed")] | length == 1) and ([.targets[] | select(.result == "failed")] | length == 0)' >/dev/null ||
	die "history: $op"
note "$(timings "$op")"
note PASS
