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

die() {
	echo "freezer-loopfs: FAIL: $*" >&2
	exit 1
}

BIN=${1:-}
[ -n "$BIN" ] && [ -x "$BIN" ] || die "usage: $0 path/to/test-freezer-loopfs"
[ "$(id -u)" = 0 ] || die "needs root (losetup, mount, FIFREEZE); run it as root: sudo ctest -L integration"
for tool in losetup mount umount mountpoint mkfs.ext4 mkfs.xfs mkfs.btrfs truncate fsfreeze; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found (install util-linux e2fsprogs xfsprogs btrfs-progs)"
done
losetup -f >/dev/null 2>&1 || die "losetup cannot find a free loop device (is the loop module loaded?)"

WORK=$(mktemp -d /tmp/hvvss-freezer.XXXXXX) || die "mktemp"
case "$WORK" in
/tmp/hvvss-freezer.??????) ;;
*) die "unexpected work dir $WORK" ;;
esac

MOUNTS=()   # in mount order: thaw in this order, unmount in reverse
LOOPS=()    # LOOPS[i]: the loop device under MOUNTS[i], or ""
TEST_PID=

# Only ever touch what this script mounted, below $WORK.
ours() {
	case "$1" in "$WORK"/*) mountpoint -q -- "$1" ;; *) return 1 ;; esac
}

cleanup() {
	local rc=$? i m
	trap - EXIT INT TERM
	set +e
	if [ -n "$TEST_PID" ] && kill -0 "$TEST_PID" 2>/dev/null; then
		kill -TERM "$TEST_PID" 2>/dev/null
		wait "$TEST_PID" 2>/dev/null
	fi
	# Thaw: the ext4 holding the inner image was mounted before the inner.
	for m in "${MOUNTS[@]}"; do
		ours "$m" && fsfreeze -u "$m" >/dev/null 2>&1
	done
	for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
		m=${MOUNTS[i]}
		ours "$m" || continue
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			umount -- "$m" 2>/dev/null && break
			sleep 0.5
		done
		ours "$m" && { echo "freezer-loopfs: lazy unmount of $m" >&2; umount -l -- "$m"; }
		# detach now: the inner loop device keeps its image on ext4 busy
		[ -n "${LOOPS[i]}" ] && losetup -d "${LOOPS[i]}" 2>/dev/null
	done
	rm -rf --one-file-system -- "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# mkloop IMAGE SIZE MKFS... -> mounts IMAGE on $WORK/mnt/NAME
mkloop() {
	local name=$1 image=$2 size=$3 dev
	shift 3
	truncate -s "$size" "$image" || die "truncate $image"
	"$@" "$image" >/dev/null 2>&1 || die "$* $image"
	dev=$(losetup --find --show -- "$image") || die "losetup $image"
	mkdir -p "$WORK/mnt/$name"
	if ! mount -- "$dev" "$WORK/mnt/$name"; then
		losetup -d "$dev"
		die "mount $dev"
	fi
	MOUNTS+=("$WORK/mnt/$name")
	LOOPS+=("$dev")
}

mkdir -p "$WORK/img" "$WORK/mnt"
mkloop ext4 "$WORK/img/ext4.img" 256M mkfs.ext4 -q -F
mkloop xfs "$WORK/img/xfs.img" 320M mkfs.xfs -q -f
mkloop btrfs "$WORK/img/btrfs.img" 256M mkfs.btrfs -q -f
# loop-on-loop: the inner image is a file on the ext4 filesystem above
mkloop inner "$WORK/mnt/ext4/inner.img" 64M mkfs.ext4 -q -F

mkdir -p "$WORK/mnt/tmpfs" "$WORK/mnt/state"
mount -t tmpfs -o size=16m,mode=0700 hvvss-test "$WORK/mnt/tmpfs" || die "mount tmpfs"
MOUNTS+=("$WORK/mnt/tmpfs")
LOOPS+=("")
mount -t tmpfs -o size=4m,mode=0700 hvvss-state "$WORK/mnt/state" || die "mount state tmpfs"
MOUNTS+=("$WORK/mnt/state")
LOOPS+=("")

# a regular file bind-mounted on a file; the source is on the test tmpfs so
# that the path is not on the root filesystem (the root guard would refuse it)
: >"$WORK/mnt/tmpfs/file"
: >"$WORK/bindfile"
mount --bind -- "$WORK/mnt/tmpfs/file" "$WORK/bindfile" || die "bind mount a file"
MOUNTS+=("$WORK/bindfile")
LOOPS+=("")

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
echo "freezer-loopfs: PASS"
