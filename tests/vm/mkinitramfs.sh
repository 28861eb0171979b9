#!/bin/bash
# Build the initramfs of one VM test run (cpio newc + gzip).
#
# Usage: mkinitramfs.sh --kernel-dir DIR --out FILE --scenario FILE
#                       [--kmod-dir DIR] [--bin PATH[:DST]]... [--file SRC:DST]...
#                       [--module NAME]... [--conf FILE]
#
#   --kernel-dir  the cache directory fetch-kernel.sh printed
#   --kmod-dir    our *.ko files, copied to /lib/hvvss/ (not loaded: scenarios
#                 insmod them, since loading is what many scenarios test)
#   --bin         an executable plus its shared libraries (ldd) and loader.
#                 System paths (/usr, /bin, /sbin, /lib...) keep their path;
#                 anything else (a build directory) goes to /usr/bin/NAME.
#   --file        any file, to DST (absolute) in the image; no libraries
#   --module      an extra kernel module (with dependencies) beyond the
#                 default set; loadable in the VM with modprobe
#   --conf        shell variables for init.sh, installed as /etc/hvvss-vm.conf
#
# Runs in well under 2 s: only the modules we need are copied, depmod is run
# over that subset so /sbin/modprobe in the VM sees a consistent index, and
# gzip runs at level 1 (the VM decompresses it; size barely matters).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
prog=mkinitramfs

die() {
	echo "$prog: $*" >&2
	exit 1
}

kdir='' out='' scenario='' kmod_dir='' conf=''
bins=() files=()
# Loaded at boot by init.sh: the disk drivers, and the filesystems of the
# --disk types of this run (all are in the image; mount autoloads the rest).
boot_modules=(virtio_pci virtio_blk ext4 xfs btrfs)
# Shipped but loaded on demand (modprobe, or the kernel's request_module):
# loop devices, and unfreezable or stacking filesystems scenarios need.
extra_modules=(loop vfat nls_cp437 nls_ascii nls_utf8 squashfs dm_mod)

while [ $# -gt 0 ]; do
	opt=$1
	case $opt in
	--kernel-dir|--out|--scenario|--kmod-dir|--bin|--file|--module|--conf)
		[ $# -ge 2 ] || die "option $opt needs an argument (see the header of $0)"
		arg=$2
		shift 2
		;;
	*)
		die "unknown argument '$opt' (see the header of $0 for usage)"
		;;
	esac
	case $opt in
	--kernel-dir) kdir=$arg ;;
	--out) out=$arg ;;
	--scenario) scenario=$arg ;;
	--kmod-dir) kmod_dir=$arg ;;
	--bin) bins+=("$arg") ;;
	--file) files+=("$arg") ;;
	--module) extra_modules+=("$arg") ;;
	--conf) conf=$arg ;;
	esac
done
[ -n "$kdir" ] || die "--kernel-dir is required (run fetch-kernel.sh to get one)"
[ -n "$out" ] || die "--out is required"
[ -n "$scenario" ] || die "--scenario is required"
[ -f "$scenario" ] || die "scenario $scenario does not exist"
[ -f "$kdir/release" ] || die "$kdir is not a kernel cache made by fetch-kernel.sh (no 'release' file); delete it and rerun fetch-kernel.sh"
release=$(cat "$kdir/release")
moddir="lib/modules/$release"

root=$(mktemp -d "${TMPDIR:-/tmp}/hvvss-initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT

mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,etc,proc,sys,dev,run,tmp,mnt,root,var/log} \
	"$root/lib/hvvss" "$root/$moddir"
chmod 1777 "$root/tmp"
ln -s ../run "$root/var/run"

# --- busybox and its applets -------------------------------------------------
bb=$(command -v busybox) || die "busybox not found: apt-get install busybox-static"
if ldd "$bb" >/dev/null 2>&1; then
	die "$bb is dynamically linked; install busybox-static (apt-get install busybox-static)"
fi
cp "$bb" "$root/bin/busybox"
while read -r applet; do
	[ -n "$applet" ] || continue
	[ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done < <("$root/bin/busybox" --list-full)

# --- kernel modules ----------------------------------------------------------
# modprobe prints "insmod /abs/path.ko [params]" in load order, softdeps
# included (ext4 pulls crc32c this way).
declare -A seen=()
boot_list=()
add_module_tree() { # MODULE ON_BOOT(0|1)
	local deps line path rel
	deps=$(modprobe --show-depends -d "$kdir" -S "$release" "$1" 2>&1) ||
		die "kernel module '$1' not found for $release in $kdir: $deps"
	while read -r line; do
		case $line in
		insmod\ *) ;;
		*) continue ;; # "builtin NAME": nothing to copy
		esac
		path=${line#insmod }
		path=${path%% *}
		rel=${path#"$kdir"/}
		# 6.12 ships modules xz-compressed: unpack them, so busybox's
		# insmod (init.sh) needs no decompressor.
		case $rel in
		*.ko.xz) rel=${rel%.xz} ;;
		esac
		if [ -z "${seen[$rel]:-}" ]; then
			seen[$rel]=1
			mkdir -p "$root/$(dirname "$rel")"
			case $path in
			*.ko.xz) xz -dc "$path" >"$root/$rel" || die "cannot decompress $path (xz-utils)" ;;
			*) cp "$path" "$root/$rel" ;;
			esac
		fi
		# Each group lists all its dependencies, shared ones included:
		# init.sh loads only the groups it needs and skips loaded modules.
		[ "$2" = 0 ] || boot_list+=("$1 /$rel")
	done <<<"$deps"
}
for m in "${boot_modules[@]}"; do
	add_module_tree "$m" 1
done
for m in "${extra_modules[@]}"; do
	add_module_tree "$m" 0
done
printf '%s\n' "${boot_list[@]}" >"$root/lib/hvvss/boot-modules"
for f in modules.builtin modules.builtin.modinfo modules.order; do
	cp "$kdir/$moddir/$f" "$root/$moddir/"
done
depmod -b "$root" "$release" || die "depmod failed on the initramfs tree $root"

# --- our modules -------------------------------------------------------------
if [ -n "$kmod_dir" ]; then
	[ -d "$kmod_dir" ] || die "--kmod-dir $kmod_dir is not a directory (build the modules first: cmake --build BUILD --target kmod)"
	for ko in "$kmod_dir"/*.ko; do
		[ -e "$ko" ] || continue
		cp "$ko" "$root/lib/hvvss/"
	done
fi

# --- binaries and their libraries --------------------------------------------
# init.sh mounts over these: anything put there in the image is hidden.
check_dst() { # OPTION SPEC DST
	case $3 in
	/*) ;;
	*) die "$1 $2: the destination must be an absolute path in the VM" ;;
	esac
	case $3 in
	/tmp/*|/run/*|/dev/*|/proc/*|/sys/*|/var/run/*)
		die "$1 $2: $3 would be hidden by the VM's mounts on /tmp, /run, /dev, /proc and /sys; put it elsewhere (e.g. /opt) and copy it at run time"
		;;
	esac
}
is_system_path() {
	case $1 in
	/usr/*|/bin/*|/sbin/*|/lib/*|/lib64/*) return 0 ;;
	*) return 1 ;;
	esac
}
copy_libs() { # BINARY
	local libs line lib
	# Not dynamic (static binary, script): nothing to copy.
	libs=$(ldd "$1" 2>/dev/null) || return 0
	while read -r line; do
		case $line in
		*"=> not found"*)
			die "--bin $1: shared library ${line%% *} not found on the host (ldd)"
			;;
		*"=> /"*) lib=${line#*=> } ;;
		/*) lib=$line ;; # the dynamic loader
		*) continue ;;   # linux-vdso.so.1
		esac
		lib=${lib%% (*}
		if [ ! -e "$root$lib" ]; then
			mkdir -p "$root$(dirname "$lib")"
			cp -L "$lib" "$root$lib"
		fi
	done <<<"$libs"
}
for spec in ${bins[@]+"${bins[@]}"}; do
	src=${spec%:*} # the last colon: build paths may contain one, DST does not
	if [ "$src" != "$spec" ]; then
		dst=${spec##*:}
	elif is_system_path "$src"; then
		dst=$src
	else
		dst=/usr/bin/$(basename "$src")
	fi
	[ -f "$src" ] || die "--bin $src does not exist (not built yet?)"
	[ -x "$src" ] || die "--bin $src is not executable"
	check_dst --bin "$spec" "$dst"
	mkdir -p "$root$(dirname "$dst")"
	rm -f "$root$dst" # may be a busybox applet link of the same name
	cp -L "$src" "$root$dst"
	copy_libs "$src"
done

for spec in ${files[@]+"${files[@]}"}; do
	src=${spec%:*}
	dst=${spec##*:}
	if [ "$src" = "$spec" ] || [ -z "$dst" ]; then
		die "--file '$spec' must be SRC:DST"
	fi
	check_dst --file "$spec" "$dst"
	[ -e "$src" ] || die "--file $src does not exist"
	mkdir -p "$root$(dirname "$dst")"
	rm -f "$root$dst"
	cp -LR "$src" "$root$dst"
done

# --- harness files -----------------------------------------------------------
cp "$here/init.sh" "$root/init"
chmod 755 "$root/init"
cp "$here/tap.sh" "$root/lib/hvvss/tap.sh"
cp "$scenario" "$root/scenario.sh"
if [ -n "$conf" ]; then
	cp "$conf" "$root/etc/hvvss-vm.conf"
else
	: >"$root/etc/hvvss-vm.conf"
fi
# Tools that look up users or the mount table expect these.
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
ln -s /proc/self/mounts "$root/etc/mtab"

(cd "$root" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --quiet -R 0:0) | gzip -1 >"$out" ||
	die "cannot write the initramfs to $out"
