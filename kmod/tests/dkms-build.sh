#!/bin/sh
# Build the DKMS source package with dkms itself, the way a user's machine
# would, but entirely inside a temporary directory: nothing is added to the
# system's DKMS tree, nothing is installed, no signing key is created.
#   dkms-build.sh KMOD_DIR KERNELRELEASE KDIR
# e.g. dkms-build.sh kmod 6.1.0-56-amd64 /usr/src/linux-headers-6.1.0-56-amd64
set -eu

if [ $# -ne 3 ]; then
	echo "usage: dkms-build.sh KMOD_DIR KERNELRELEASE KDIR" >&2
	exit 2
fi
kmod=$1
kver=$2
kdir=$3
name=hyperv-vss
version=0.1.0

command -v dkms >/dev/null || {
	echo "dkms-build: dkms is not installed; run 'apt-get install dkms' (make deps)" >&2
	exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The files the package ships, laid out as under /usr/src.
make -s -C "$kmod" install-dkms DESTDIR="$tmp/root"
src=$tmp/root/usr/src
tree=$tmp/dkms
mkdir -p "$tree"

# An unusable sign_file keeps dkms from generating a MOK key in /var/lib/dkms.
export sign_file=/nonexistent
dkms add -m "$name" -v "$version" --sourcetree "$src" --dkmstree "$tree"
if ! dkms build -m "$name" -v "$version" -k "$kver" --sourcetree "$src" \
	--dkmstree "$tree" --kernelsourcedir "$kdir"; then
	log=$(find "$tree" -name make.log | head -n 1)
	[ -n "$log" ] && cat "$log" >&2
	echo "dkms-build: dkms build failed for $kver against $kdir" >&2
	exit 1
fi

status=0
for m in hv_vss hv_vss_hostsim hv_vss_vmbus; do
	found=$(find "$tree/$name/$version/$kver" -name "$m.ko*" | head -n 1)
	if [ -z "$found" ]; then
		echo "dkms-build: dkms did not produce $m.ko for $kver" >&2
		status=1
	else
		echo "dkms-build: built $found"
	fi
done
exit $status
