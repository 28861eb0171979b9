#!/bin/sh
# VM harness self-test: disks of every type, kernel modules, --bin/--file
# delivery, the TAP helpers.  Registered by tests/vm/CMakeLists.txt with
#   --disk ext4:64 --disk xfs:300 --disk btrfs:120 --disk raw:32
#   --bin /usr/sbin/mkfs.ext4 --file harness-selftest.data:/etc/hvvss/selftest.data
# shellcheck source=../tap.sh disable=SC1091 # the VM path
. "$HVVSS_KMOD/tap.sh"

tap_plan 27

# --- environment init.sh promises -------------------------------------------
check_eq "HVVSS_KMOD is /lib/hvvss" /lib/hvvss "$HVVSS_KMOD"
check_eq "HVVSS_DISKS lists the disks in order" "vda:ext4 vdb:xfs vdc:btrfs vdd:raw" "$HVVSS_DISKS"
for m in /proc /sys /dev /dev/pts /run /tmp; do
	check "$m is mounted" grep -q " $m " /proc/mounts
done
root_line=$(grep ' / ' /proc/mounts | head -n 1)
diag "root in /proc/mounts: $root_line"
check_eq "the root is the initramfs, listed as 'rootfs'" "rootfs rootfs" \
	"$(echo "$root_line" | awk '{ print $1, $3 }')"

# --- disks: mount, write, read back on each filesystem -----------------------
mnt_rw() { # DEV FSTYPE
	mkdir -p "/mnt/$1" &&
		mount -t "$2" "/dev/$1" "/mnt/$1" &&
		echo "written on $2" >"/mnt/$1/probe" &&
		sync &&
		umount "/mnt/$1" &&
		mount -t "$2" -o ro "/dev/$1" "/mnt/$1" &&
		grep -qx "written on $2" "/mnt/$1/probe" &&
		umount "/mnt/$1"
}
check "ext4 disk /dev/vda: write, remount, read back" mnt_rw vda ext4
check "xfs disk /dev/vdb: write, remount, read back" mnt_rw vdb xfs
check "btrfs disk /dev/vdc: write, remount, read back" mnt_rw vdc btrfs
check "raw disk /dev/vdd exists" test -b /dev/vdd
check_fail "raw disk /dev/vdd is not formatted" mount -t ext4 /dev/vdd /mnt
# --bin of a system binary keeps its path and brings its libraries.
check "--bin /usr/sbin/mkfs.ext4 runs (shared libraries present)" mkfs.ext4 -F -q /dev/vdd
check "ext4 made in the VM mounts" mnt_rw vdd ext4

# --- modules -------------------------------------------------------------------
check_fail "loop is not loaded before modprobe" test -d /sys/module/loop
check "modprobe loop" modprobe loop
check "loop is loaded after modprobe" test -d /sys/module/loop
check "loop device works" sh -c 'truncate -s 8M /tmp/img && losetup -f /tmp/img && losetup -a | grep -q /tmp/img'
# Kernel-initiated loading (request_module -> /sbin/modprobe) by alias.
check "mount -t vfat autoloads vfat" sh -c 'mkdosfs /dev/loop0 >/dev/null && mount -t vfat /dev/loop0 /mnt && umount /mnt && test -d /sys/module/vfat'

# --- --file --------------------------------------------------------------------
check "--file arrived with its content" grep -qx 'hvvss harness selftest payload 7f3a' /etc/hvvss/selftest.data

# --- the TAP helpers themselves (in a subshell: its results are not ours) ----
inner=$(
	# shellcheck source=../tap.sh disable=SC1091 # the VM path
	. "$HVVSS_KMOD/tap.sh"
	ok "first"
	check "true passes" true
	check "false fails" sh -c 'echo some output; exit 3'
	check_fail "false passes check_fail" false
	check_eq "equal" a a
	check_eq "unequal" a b
	wait_until 1 false || diag "wait_until gave up"
	tap_done
	echo "tap_done=$?"
)
diag "inner TAP stream:" "$inner"
check_eq "helpers numbered and judged the results" \
	"ok 1 - first|ok 2 - true passes|not ok 3 - false fails|ok 4 - false passes check_fail|ok 5 - equal|not ok 6 - unequal|1..6|tap_done=1" \
	"$(printf '%s\n' "$inner" | grep -v '^#' | tr '\n' '|' | sed 's/|$//')"
has_line() { # TEXT LINE
	printf '%s\n' "$1" | grep -qxF -e "$2"
}
check "check shows the failed command's output" has_line "$inner" "# some output"
check "check shows the failed command's exit status" has_line "$inner" "# exit status: 3"
check "wait_until gives up on timeout" has_line "$inner" "# wait_until gave up"
planned=$(
	# shellcheck source=../tap.sh disable=SC1091 # the VM path
	. "$HVVSS_KMOD/tap.sh"
	tap_plan 2
	ok one
	tap_done
	echo "rc=$?"
)
check_eq "tap_done fails on a plan mismatch" "1..2|ok 1 - one|# planned 2 tests but ran 1|rc=1" \
	"$(printf '%s\n' "$planned" | tr '\n' '|' | sed 's/|$//')"

tap_done
