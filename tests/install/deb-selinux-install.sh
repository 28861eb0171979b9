#!/bin/sh
# deb-selinux-install.sh DEB_DIR WORK_DIR [KERNEL_ABI]
#
# Install test of hyperv-vss-selinux in a Debian 12 root with the reference
# policy (tests/install/mkroot.sh, the cached root selinux/tests/
# vm-enforcing.sh uses: selinux-policy-default, policycoreutils): in a
# copy-on-write copy of it (overlayfs),
#   - `apt-get install ./hyperv-vss_*.deb ./hyperv-vss-selinux_*.deb` must
#     succeed and its postinst load the module: `semodule -l` lists hvvss
#     (priority 200), the store's file_contexts label /usr/sbin/hvvssd;
#   - the module and interface files are where Debian keeps them;
#   - `apt-get purge hyperv-vss-selinux` must unload it (`semodule -l` no
#     longer lists it, its file contexts are gone) and, with hyperv-vss
#     purged as well, leave exactly the files that were there before.
# semodule only needs the policy store (/var/lib/selinux/default and
# /etc/selinux/default), not a running SELinux kernel: it relinks the policy
# and writes the store's files, and it loads nothing into the kernel with
# SELinux off (the postinst passes -n then). /sys is not bound into the
# chroot, so nothing in it can see or touch this host's SELinux state; and
# the test refuses to run on a host with SELinux enabled.
#
# Output is TAP-like ("ok N - ...", "not ok N - ..."); exit 0 when all passed.
set -eu

[ $# -ge 2 ] || { echo "usage: deb-selinux-install.sh DEB_DIR WORK_DIR [KERNEL_ABI]" >&2; exit 2; }
debs=$(cd "$1" && pwd)
work=$2
here=$(cd "$(dirname "$0")" && pwd)
abi=${3:-$("$here/../../tools/kernel-abi.sh")}
kver=$abi-amd64

if command -v selinuxenabled >/dev/null 2>&1 && selinuxenabled; then
	echo "skipped: this host runs SELinux; the package scripts in the chroot must not reach its kernel"
	exit 77
fi

set -- "$debs"/hyperv-vss_*.deb
main_deb=$1
set -- "$debs"/hyperv-vss-selinux_*.deb
se_deb=$1
[ -f "$main_deb" ] && [ -f "$se_deb" ] || {
	echo "deb-selinux-install: no hyperv-vss_*.deb and hyperv-vss-selinux_*.deb in $debs (make packages)" >&2
	exit 1
}

# The same package list as selinux/tests/vm-enforcing.sh, so both share one
# cached root. Everything the packages need is in it: no network.
root=$("$here/mkroot.sh" "selinux-$abi" "linux-image-$kver" initramfs-tools \
	selinux-policy-default policycoreutils selinux-utils libpopt0 libjson-c5 libmount1 \
	libsystemd0 adduser kmod)

# shellcheck source=SCRIPTDIR/lib-chroot.sh
. "$here/lib-chroot.sh"
chroot_setup "$root"
bind_api proc dev # not sys: see above

apt_in_root() {
	in_root env DEBIAN_FRONTEND=noninteractive apt-get -y -q --no-install-recommends "$@"
}
# The store's modules, "PRIORITY NAME" per line.
modules() { in_root semodule -s default --list-modules=full | awk '{ print $1, $2 }'; }
fc=/etc/selinux/default/contexts/files/file_contexts

# The file list of the root, volatile state left out:
#   /var/lib/dpkg, /var/lib/apt, /var/cache, /var/log: dpkg's and apt's own
#     databases, caches and logs;
#   /etc/{passwd,group,shadow,gshadow}-: backups written by systemd-sysusers
#     when it adds the hyperv-vss group (which stays on purge on purpose);
#   /tmp, /run: not ours.
# The policy store's files are listed: semodule rewrites them in place, and
# a module left behind would show as /var/lib/selinux/default/active/
# modules/200/hvvss. Its parent, the store's priority-200 directory, is
# libsemanage's: it creates it for the first module of that priority and
# keeps it, empty, when the last one goes (as on Fedora). It is left out
# only while it is empty.
file_list() {
	(cd "$mnt" && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./run \
		-o -path ./tmp -o -path ./var/lib/dpkg -o -path ./var/lib/apt -o -path ./var/cache \
		-o -path ./var/log \) -prune -o -print) |
		grep -Ev '^\./etc/(passwd|group|shadow|gshadow)-$' | {
		p200=./var/lib/selinux/default/active/modules/200
		if [ -d "$mnt/$p200" ] && [ -z "$(ls -A "$mnt/$p200")" ]; then
			grep -vxF "$p200"
		else
			cat
		fi
	} | LC_ALL=C sort
}
file_list >"$work/files.before"

check "the policy store exists and has no hvvss module yet" \
	sh -c "test -d '$mnt/var/lib/selinux/default' && ! chroot '$mnt' semodule -s default -l | grep -qx hvvss"

mkdir -p "$mnt/tmp/debs"
cp "$main_deb" "$se_deb" "$mnt/tmp/debs/"
t0=$(date +%s)
if apt_in_root install "/tmp/debs/$(basename "$main_deb")" "/tmp/debs/$(basename "$se_deb")" \
	>"$work/install.log" 2>&1; then
	ok "apt-get install ./hyperv-vss_*.deb ./hyperv-vss-selinux_*.deb ($(($(date +%s) - t0)) s)"
else
	not_ok "apt-get install ./hyperv-vss_*.deb ./hyperv-vss-selinux_*.deb"
	sed 's/^/# /' "$work/install.log"
	exit 1
fi
rm -rf "$mnt/tmp/debs"

check "semodule -l lists hvvss" sh -c "chroot '$mnt' semodule -s default -l | grep -qx hvvss"
modules >"$work/modules.after-install"
check "hvvss is installed at priority 200" grep -qx '200 hvvss' "$work/modules.after-install"
check "the linked policy's file_contexts label /usr/sbin/hvvssd hvvssd_exec_t" \
	grep -q '^/usr/sbin/hvvssd[[:space:]].*:hvvssd_exec_t:' "$mnt$fc"
check "matchpathcon /usr/sbin/hvvssd gives hvvssd_exec_t" \
	sh -c "chroot '$mnt' matchpathcon /usr/sbin/hvvssd | grep -q ':hvvssd_exec_t:'"
for f in /usr/share/selinux/default/hvvss.pp.bz2 /usr/share/selinux/devel/include/contrib/hvvss.if \
	/usr/share/doc/hyperv-vss-selinux/README.md.gz; do
	check "$f is installed" test -f "$mnt$f"
done
check "the store's hvvss module declares the hvvssd_t domain (semodule -E)" sh -c "
	chroot '$mnt' sh -c 'cd /tmp && semodule -s default -c -E hvvss' &&
	grep -q '(type hvvssd_t)' '$mnt/tmp/hvvss.cil'"
rm -f "$mnt/tmp/hvvss.cil"

# --- Purge ---
check_logged "$work/purge.log" "apt-get purge hyperv-vss-selinux" apt_in_root purge hyperv-vss-selinux
check "semodule -l no longer lists hvvss" sh -c "! chroot '$mnt' semodule -s default -l | grep -qx hvvss"
check "the store's file_contexts no longer know hvvssd_exec_t" sh -c "! grep -q hvvssd_exec_t '$mnt$fc'"
check "no file of hyperv-vss-selinux is left" sh -c "
	! ls -d '$mnt/usr/share/selinux/default/hvvss.pp.bz2' '$mnt/usr/share/selinux/devel/include/contrib' \
		'$mnt/usr/share/doc/hyperv-vss-selinux' '$mnt/var/lib/selinux/default/active/modules/200/hvvss' 2>/dev/null"
check "hyperv-vss stays installed" sh -c "chroot '$mnt' dpkg-query -W -f '\${db:Status-Status}' hyperv-vss | grep -qx installed"
check_logged "$work/purge2.log" "apt-get purge hyperv-vss" apt_in_root purge hyperv-vss
file_list >"$work/files.after"
check_logged "$work/files.diff" "purge leaves the file list as it was before the install" \
	diff -u "$work/files.before" "$work/files.after"

chroot_done
