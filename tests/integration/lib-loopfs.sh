# shellcheck shell=bash
# lib-loopfs.sh: loop filesystems for the integration tests (sourced, bash),
# by tests/integration/daemon/lib.sh and freezer/run-freezer-loopfs.sh.
#
# The caller defines die MESSAGE (prints, exits non-zero) and T (its name,
# for messages), then calls loopfs_init NAME: it checks for root and the
# tools and makes $WORK, a fresh /tmp/hvvss-NAME.XXXXXX. Every mount a test
# makes is below $WORK and is recorded in MOUNTS, in mount order, with the
# loop device under it (or "") at the same index of LOOPS: loopfs_mount makes
# loop filesystems, loopfs_add records the rest (tmpfs, bind mounts).
#
# The caller's EXIT trap (set before its first mount) tears down in two
# steps, so that it can stop its own processes in between: loopfs_thaw
# (FITHAW on every mount, in mount order: the filesystem holding a loop
# image before the one in it; errors ignored), then loopfs_teardown
# (unmount in reverse order, detach the loop devices, remove $WORK). Both
# only ever touch mount points below $WORK (ours).

MOUNTS=()       # in mount order: thaw in this order, unmount in reverse
LOOPS=()        # LOOPS[i]: the loop device under MOUNTS[i], or ""

# loopfs_init NAME: without root or a tool the test FAILS; it never skips.
loopfs_init() {
	local tool
	[ "$(id -u)" = 0 ] || die "needs root (losetup, mount, FIFREEZE): run it as root (sudo ctest -L integration)"
	for tool in losetup mount umount mountpoint mkfs.ext4 mkfs.xfs mkfs.btrfs truncate fsfreeze; do
		command -v "$tool" >/dev/null 2>&1 || die "$tool not found (install util-linux e2fsprogs xfsprogs btrfs-progs)"
	done
	losetup -f >/dev/null 2>&1 || die "no free loop device (is the loop module loaded?)"
	WORK=$(mktemp -d "/tmp/hvvss-$1.XXXXXX") || die "mktemp"
	case "$WORK" in "/tmp/hvvss-$1".??????) ;; *) die "unexpected work dir $WORK" ;; esac
	mkdir -p "$WORK/img" "$WORK/mnt"
}

# ours MP: MP is a mount point below $WORK.
ours() {
	case "$1" in "$WORK"/*) mountpoint -q -- "$1" ;; *) return 1 ;; esac
}

# loopfs_add MP [LOOP_DEVICE]: record a mount the caller made on MP.
loopfs_add() {
	MOUNTS+=("$1")
	LOOPS+=("${2:-}")
}

# loopfs_mount NAME IMAGE SIZE MKFS...: IMAGE (SIZE, made by MKFS... IMAGE)
# on a loop device, mounted on $WORK/mnt/NAME.
loopfs_mount() {
	local name=$1 image=$2 size=$3 dev
	shift 3
	truncate -s "$size" "$image" || die "truncate $image"
	"$@" "$image" >/dev/null 2>&1 || die "$* $image"
	dev=$(losetup --find --show -- "$image") || die "losetup $image"
	mkdir -p "$WORK/mnt/$name"
	mount -- "$dev" "$WORK/mnt/$name" || { losetup -d "$dev"; die "mount $dev"; }
	loopfs_add "$WORK/mnt/$name" "$dev"
}

loopfs_thaw() {
	local m
	for m in "${MOUNTS[@]}"; do ours "$m" && fsfreeze -u "$m" >/dev/null 2>&1; done
	return 0
}

loopfs_teardown() {
	local i m
	for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
		m=${MOUNTS[i]}
		if ours "$m"; then
			for _ in 1 2 3 4 5 6 7 8 9 10; do umount -- "$m" 2>/dev/null && break; sleep 0.5; done
			ours "$m" && { echo "$T: lazy unmount of $m" >&2; umount -l -- "$m"; }
		fi
		# detach now: an inner loop device keeps its image on the outer filesystem busy
		[ -n "${LOOPS[i]}" ] && losetup -d "${LOOPS[i]}" 2>/dev/null
	done
	rm -rf --one-file-system -- "$WORK"
}
