# shellcheck shell=sh
# lib-chroot.sh: the chroot of the install tests (sourced, sh) and their
# TAP-like checks.
#
# chroot_setup ROOT mounts a copy-on-write copy of the cached root ROOT
# (tests/install/mkroot.sh: read-only, never written) on $mnt =
# $work/mnt, an overlayfs whose upper and work directories are under $work
# ($work is removed and made afresh first). From then on the EXIT trap
# unmounts whatever is mounted in it, on every exit. bind_api binds the
# host's API filesystems in, unbind_api takes them out again; chroot_done
# unmounts everything, removes the overlay's directories and ends the TAP
# output: the script's last command, its status is the test's.

# chroot_setup ROOT: $work must be set.
chroot_setup() {
	rm -rf "${work:?}"
	mkdir -p "$work/upper" "$work/ovl-work" "$work/mnt"
	mnt=$work/mnt
	mounted=
	bound=
	trap chroot_cleanup EXIT
	trap 'exit 130' INT TERM
	mount -t overlay overlay -o "lowerdir=$1,upperdir=$work/upper,workdir=$work/ovl-work" "$mnt"
	mounted=$mnt
}

# Unmount all of it, newest first; called by the EXIT trap.
chroot_cleanup() {
	for m in $mounted; do umount -R "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
	mounted=
}

# bind_api NAME...: bind /NAME (proc, sys, dev) on $mnt/NAME, as a slave.
bind_api() {
	bound="$*"
	for m in "$@"; do
		mount --rbind "/$m" "$mnt/$m"
		mount --make-rslave "$mnt/$m"
		mounted="$mnt/$m $mounted"
	done
}
unbind_api() {
	for m in $bound; do umount -R "$mnt/$m"; done
	mounted=$mnt
}

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
# check WHAT COMMAND...: ok if COMMAND succeeds, else not ok with its output.
check() { check_logged "$work/check.out" "$@"; }
# check_logged LOG WHAT COMMAND...: check, keeping COMMAND's output in LOG.
check_logged() {
	log=$1 what=$2
	shift 2
	if "$@" >"$log" 2>&1; then
		ok "$what"
	else
		not_ok "$what"
		sed 's/^/# /' "$log"
	fi
}
in_root() { chroot "$mnt" "$@"; }

chroot_done() {
	chroot_cleanup
	rm -rf "$work/upper" "$work/ovl-work" "${mnt:?}"
	echo "1..$n"
	[ "$failed" -eq 0 ]
}
