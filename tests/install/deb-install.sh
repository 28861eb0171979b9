#!/bin/sh
# deb-install.sh DEB_DIR WORK_DIR [KERNEL_ABI]
#
# Install test of the Debian packages in a Debian 12 root (tests/install/
# mkroot.sh, cached): in a copy-on-write copy of the cached root (overlayfs),
# `apt-get install ./hyperv-vss_*.deb ./hyperv-vss-dkms_*.deb` must succeed,
# DKMS must build and install the modules for the root's kernel, the files,
# the group and the unit links must be where expected; then the installed
# root is written to WORK_DIR/root.img (ext4, with the test-only VM files of
# vm-files.sh) with the root's kernel and initrd beside it, for vm-boot.sh;
# finally `apt-get purge` must leave exactly the files that were there
# before (volatile package-manager state aside, listed below).
#
# Output is TAP-like ("ok N - ...", "not ok N - ..."); exit 0 when all passed.
set -eu

[ $# -ge 2 ] || { echo "usage: deb-install.sh DEB_DIR WORK_DIR [KERNEL_ABI]" >&2; exit 2; }
debs=$(cd "$1" && pwd)
work=$2
here=$(cd "$(dirname "$0")" && pwd)
abi=${3:-$("$here/../../tools/kernel-abi.sh")}
kver=$abi-amd64

set -- "$debs"/hyperv-vss_*.deb
main_deb=$1
set -- "$debs"/hyperv-vss-dkms_*.deb
dkms_deb=$1
[ -f "$main_deb" ] && [ -f "$dkms_deb" ] || {
	echo "deb-install: no hyperv-vss_*.deb and hyperv-vss-dkms_*.deb in $debs (make packages)" >&2
	exit 1
}

# Everything the packages need is in the cached root already, so the
# install itself needs no network and takes seconds. hyperv-daemons is
# there so the VM test sees our hvvssd and the distro's hv_vss_daemon meet.
root=$("$here/mkroot.sh" "install-$abi" "linux-image-$kver" "linux-headers-$kver" \
	initramfs-tools dkms adduser libpopt0 libjson-c5 libmount1 libsystemd0 \
	hyperv-daemons)

# shellcheck source=SCRIPTDIR/lib-chroot.sh
. "$here/lib-chroot.sh"
chroot_setup "$root"
bind_api proc sys dev

# The file list of the root, volatile package-manager state left out:
#   /var/lib/dpkg, /var/lib/apt, /var/cache, /var/log: dpkg's and apt's own
#     databases, caches and logs (they record that something was installed);
#   /var/lib/dkms: dkms's own state, checked separately below;
#   /etc/{passwd,group,shadow,gshadow}-: backups written by systemd-sysusers
#     when it adds the hyperv-vss group (which stays on purge on purpose);
#   /etc/ld.so.cache, /tmp, /run, /root/.*history: not ours.
file_list() {
	(cd "$mnt" && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./run \
		-o -path ./tmp -o -path ./var/lib/dpkg -o -path ./var/lib/apt -o -path ./var/cache \
		-o -path ./var/log -o -path ./var/lib/dkms \) -prune -o -print) |
		grep -Ev '^\./etc/(passwd|group|shadow|gshadow)-$' | LC_ALL=C sort
}
file_list >"$work/files.before"

mkdir -p "$mnt/tmp/debs"
cp "$main_deb" "$dkms_deb" "$mnt/tmp/debs/"
t0=$(date +%s)
if in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	"/tmp/debs/$(basename "$main_deb")" "/tmp/debs/$(basename "$dkms_deb")" >"$work/install.log" 2>&1; then
	ok "apt-get install ./hyperv-vss_*.deb ./hyperv-vss-dkms_*.deb ($(($(date +%s) - t0)) s)"
else
	not_ok "apt-get install ./hyperv-vss_*.deb ./hyperv-vss-dkms_*.deb"
	sed 's/^/# /' "$work/install.log"
	exit 1
fi
rm -rf "$mnt/tmp/debs"

# --- DKMS ---
check "dkms status: hyperv-vss/0.1.0 installed for $kver" \
	sh -c "chroot '$mnt' dkms status -m hyperv-vss -v 0.1.0 -k '$kver' | grep -q ': installed'"
for m in hv_vss hv_vss_vmbus hv_vss_hostsim; do
	check "$m.ko is in /lib/modules/$kver/updates/dkms" \
		sh -c "ls '$mnt/lib/modules/$kver/updates/dkms/$m.ko'*"
done
check "modprobe resolves hv_vss_hostsim to our module (with hv_vss)" \
	sh -c "chroot '$mnt' modprobe -n -v -S '$kver' hv_vss_hostsim | grep -q 'updates/dkms/hv_vss.ko'"
check "modinfo hv_vss_vmbus has the VSS channel's vmbus alias" \
	sh -c "chroot '$mnt' modinfo -k '$kver' -F alias hv_vss_vmbus | grep -qx 'vmbus:292efa3523ea364296ae3a6ebacba440'"
check "the modprobe.d file puts hv_vss_vmbus before hv_utils" \
	sh -c "chroot '$mnt' modprobe -c -S '$kver' | grep -q '^softdep hv_utils pre: hv_vss_vmbus'"

# --- Files ---
for f in /usr/sbin/hvvssd /usr/sbin/hvvssctl; do
	check "$f is an executable" test -x "$mnt$f"
done
for f in /etc/hyperv-vss/hvvssd.conf /lib/systemd/system/hvvssd.service \
	/lib/systemd/system/hv-vss-daemon.service.d/hyperv-vss.conf \
	/lib/udev/rules.d/90-hyperv-vss.rules /usr/lib/sysusers.d/hyperv-vss.conf \
	/etc/modprobe.d/hyperv-vss.conf /usr/share/man/man8/hvvssd.8.gz \
	/usr/share/man/man8/hvvssctl.8.gz /usr/share/man/man5/hvvssd.conf.5.gz \
	/usr/share/bash-completion/completions/hvvssctl \
	/usr/share/doc/hyperv-vss/examples/hooks.d/10-template \
	/usr/src/hyperv-vss-0.1.0/dkms.conf; do
	check "$f is installed" test -f "$mnt$f"
done
check "/etc/hyperv-vss/hooks.d is a directory, root:root 0755" \
	sh -c "test \"\$(stat -c '%U:%G %a' '$mnt/etc/hyperv-vss/hooks.d')\" = 'root:root 755'"
check "the group hyperv-vss exists" in_root getent group hyperv-vss
check "hvvssd.service is enabled (wanted by its device)" \
	test -L "$mnt/etc/systemd/system/sys-devices-virtual-misc-vmbus\\x21hv_vss.device.wants/hvvssd.service"
check "hvvssctl runs (its libraries are there)" in_root hvvssctl --help
check "systemd-analyze verify hvvssd.service" \
	sh -c "chroot '$mnt' systemd-analyze verify hvvssd.service 2>&1 | grep -v 'man ' | grep . && exit 1 || exit 0"

# --- The VM image (vm-boot.sh boots it) ---
unbind_api
cp "$mnt/boot/vmlinuz-$kver" "$work/vmlinuz"
cp "$mnt/boot/initrd.img-$kver" "$work/initrd.img"
"$here/vm-files.sh" add "$mnt"
size_mb=$(du -sxm "$mnt" | cut -f1)
size_mb=$((size_mb + size_mb / 3 + 256))
rm -f "$work/root.img"
if mkfs.ext4 -q -F -L hvvss-root -d "$mnt" "$work/root.img" "${size_mb}M" >"$work/mkfs.log" 2>&1; then
	ok "root filesystem written to root.img (${size_mb} MB) for the VM test"
else
	not_ok "mkfs.ext4 -d"
	sed 's/^/# /' "$work/mkfs.log"
fi
"$here/vm-files.sh" remove "$mnt"
bind_api proc sys dev

# --- Purge ---
check_logged "$work/purge.log" "apt-get purge hyperv-vss hyperv-vss-dkms" \
	in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q hyperv-vss hyperv-vss-dkms
check "dkms knows nothing of hyperv-vss any more" \
	sh -c "test ! -e '$mnt/var/lib/dkms/hyperv-vss' && test -z \"\$(chroot '$mnt' dkms status -m hyperv-vss)\""
file_list >"$work/files.after"
check_logged "$work/files.diff" "purge leaves the file list as it was before the install" \
	diff -u "$work/files.before" "$work/files.after"

chroot_done
