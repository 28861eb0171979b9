#!/bin/bash
# Integration test of the freezer on real loop filesystems.
#
#   run-freezer-loopfs.sh path/to/test-freezer-loopfs
#
# Creates, under a fresh mktemp dir in /tmp: ext4, xfs and btrfs loop
# filesystems, an ext4 loop filesystem whose image lives inside the ext4 one
# (loop-on-loop), a tmpfs to test EOPNOTSUPP, a tmpfs for the frozen-state
# records and a bind-mounted regular file; runs the test program on them;
# and on every exit (success, failure, INT, TERM) thaws them (host of the
# inner image first), unmounts, detaches and removes everything.
#
# Needs root and losetup. Without them it FAILS, it does not skip.
set -u

T=freezer-loopfs
die() {
	echo "$T: FAIL: $*" >&2
	exit 1
}

BIN=${1:-}
[ -n "$BIN" ] && [ -x "$BIN" ] || die "usage: $0 path/to/test-freezer-loopfs"
# shellcheck source=SCRIPTDIR/../lib-loopfs.sh
. "$(dirname "$0")/../lib-loopfs.sh"
loopfs_init freezer  # $WORK, with $WORK/img and $WORK/mnt
TEST_PID=

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	if [ -n "$TEST_PID" ] && kill -0 "$TEST_PID" 2>/dev/null; then
		kill -TERM "$TEST_PID" 2>/dev/null
		wait "$TEST_PID" 2>/dev/null
	fi
	loopfs_thaw
	loopfs_teardown
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

loopfs_mount ext4 "$WORK/img/ext4.img" 256M mkfs.ext4 -q -F
loopfs_mount xfs "$WORK/img/xfs.img" 320M mkfs.xfs -q -f
loopfs_mount btrfs "$WORK/img/btrfs.img" 256M mkfs.btrfs -q -f
# loop-on-loop: the inner image is a file on the ext4 filesystem above
loopfs_mount inner "$WORK/mnt/ext4/inner.img" 64M mkfs.ext4 -q -F

mkdir -p "$WORK/mnt/tmpfs" "$WORK/mnt/state"
mount -t tmpfs -o size=16m,mode=0700 hvvss-test "$WORK/mnt/tmpfs" || die "mount tmpfs"
loopfs_add "$WORK/mnt/tmpfs"
mount -t tmpfs -o size=4m,mode=0700 hvvss-state "$WORK/mnt/state" || die "mount state tmpfs"
loopfs_add "$WORK/mnt/state"

# a regular file bind-mounted on a file; the source is on the test tmpfs so
# that the path is not on the root filesystem (the root guard would refuse it)
: >"$WORK/mnt/tmpfs/file"
: >"$WORK/bindfile"
mount --bind -- "$WORK/mnt/tmpfs/file" "$WORK/bindfile" || die "bind mount a file"
loopfs_add "$WORK/bindfile"

for m in "${MOUNTS[@]}"; do
	ours "$m" || die "$m is not mounted"
done

FZ_EXT4=$WORK/mnt/ext4 FZ_XFS=$WORK/mnt/xfs FZ_BTRFS=$WORK/mnt/btrfs \
FZ_INNER=$WORK/mnt/inner FZ_TMPFS=$WORK/mnt/tmpfs FZ_STATE=$WORK/mnt/state \
FZ_BINDFILE=$WORK/bindfile FZ_MISSING=$WORK/missing FZ_WORK=$WORK \
	"$BIN" &
TEST_PID=$!
wait "$TEST_PID"
rc=$?
TEST_PID=
[ "$rc" = 0 ] || die "test program exited with status $rc"
echo "$T: PASS"
