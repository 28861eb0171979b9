#!/bin/bash
# vm-enforcing.sh BUILD_DIR [WORK_DIR]
#
# Boot a Debian 12 root with SELinux enforcing (selinux-policy-default plus
# our hvvss module, labelled offline with setfiles) under QEMU TCG, with our
# modules, hvvssd started by systemd through its unit and udev rule, one
# simulated host backup (hvvssctl test-freeze --kernel through
# hv_vss_hostsim, with a hook), and count the AVC denials: none may come
# from or concern hvvssd_t or hvvssd_hook_t. TAP output; exit 77 (skip)
# when the build lacks what the VM needs.
#
# The root comes from tests/install/mkroot.sh (cached); the build's
# binaries, kernel modules and policy package are copied into a copy of it,
# so no .deb is needed. Everything freezes inside the VM, on its own disk.
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: vm-enforcing.sh BUILD_DIR [WORK_DIR]" >&2; exit 2; }
build=$(cd "$1" && pwd)
work=${2:-$build/selinux/vm-enforcing}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
abi=${HVVSS_KERNEL_ABI:-$("$src/tools/kernel-abi.sh")}
kver=$abi-amd64
timeout=${HVVSS_VM_TIMEOUT:-600}
# Diagnosis knobs: HVVSS_SELINUX_ENFORCING=0 boots permissive (the same
# denials are logged but nothing is refused); HVVSS_SELINUX_NODONTAUDIT=1
# rebuilds the policy without dontaudit rules (semodule -DB) in the VM.
enforcing=${HVVSS_SELINUX_ENFORCING:-1}
nodontaudit=${HVVSS_SELINUX_NODONTAUDIT:-0}

skip() { echo "1..0 # SKIP $*"; exit 77; }
hvvssd=$build/vssd/hvvssd
hvvssctl=$build/hvvssctl/hvvssctl
kmods=${HVVSS_KMOD_DIR:-$build/kmod-build}
pp=$build/selinux/hvvss.pp
for f in "$hvvssd" "$hvvssctl" "$pp" "$kmods/hv_vss.ko" "$kmods/hv_vss_hostsim.ko" \
	"$src/systemd/hvvssd.service" "$src/udev/90-hyperv-vss.rules" "$src/tests/install/mkroot.sh"; do
	[ -e "$f" ] || skip "$f missing (build everything first)"
done
[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, setfiles)"
for c in qemu-system-x86_64 setfiles semodule mkfs.ext4 debootstrap; do
	command -v "$c" >/dev/null || skip "$c not found (make deps)"
done

# A sanitizer build cannot run under the policy: ASan and LSan need
# process getsched and ptrace on themselves, which hvvssd_t rightly lacks.
# Such a build gets plain copies of the two binaries, made here, so the
# VM runs what a package would ship. The check reads the binary itself,
# not a pipe: under pipefail, `ldd | grep -q` fails whenever grep exits
# before ldd finishes writing (SIGPIPE), which once let a sanitizer build
# into the VM. The symbols also catch clang's statically linked runtime.
if grep -qa -e __asan_init -e __ubsan_handle "$hvvssd"; then
	plain=$work.plain-build
	echo "# $hvvssd is a sanitizer build: building plain hvvssd and hvvssctl in $plain"
	cmake -S "$src" -B "$plain" -DHVVSS_SANITIZE=OFF -DHVVSS_BUILD_KMOD=OFF \
		-DHVVSS_VM_TESTS=OFF -DHVVSS_FUZZ=OFF -DHVVSS_SELINUX=OFF >"$plain.log" 2>&1 &&
	cmake --build "$plain" --target hvvssd hvvssctl -j"$(nproc)" >>"$plain.log" 2>&1 || {
		cat "$plain.log" >&2
		echo "vm-enforcing: building plain binaries failed (log above)" >&2
		exit 1
	}
	hvvssd=$plain/vssd/hvvssd
	hvvssctl=$plain/hvvssctl/hvvssctl
fi

root=$("$src/tests/install/mkroot.sh" "selinux-$abi" "linux-image-$kver" initramfs-tools \
	selinux-policy-default policycoreutils selinux-utils libpopt0 libjson-c5 libmount1 \
	libsystemd0 adduser kmod)

rm -rf "$work"
mkdir -p "$work"
st=$work/stage
cp -a "$root" "$st"
rm -f "$st/usr/sbin/policy-rc.d"

# --- our files, as the package would install them
install -D -m 0755 "$hvvssd" "$st/usr/sbin/hvvssd"
install -D -m 0755 "$hvvssctl" "$st/usr/sbin/hvvssctl"
# Libraries the root lacks (e.g. libasan for a sanitizer build).
for b in "$hvvssd" "$hvvssctl"; do
	ldd "$b" | awk '/=> \// { print $3 }' | while read -r lib; do
		[ -e "$st$lib" ] || [ -e "$st/usr$lib" ] || install -D -m 0644 "$lib" "$st$lib"
	done
done
install -D -m 0644 "$src/systemd/hvvssd.service" "$st/lib/systemd/system/hvvssd.service"
install -D -m 0644 "$src/udev/90-hyperv-vss.rules" "$st/lib/udev/rules.d/90-hyperv-vss.rules"
[ -f "$src/vssd/hvvssd.conf" ] && install -D -m 0644 "$src/vssd/hvvssd.conf" "$st/etc/hyperv-vss/hvvssd.conf"
mkdir -p "$st/etc/hyperv-vss/hooks.d"
chroot "$st" groupadd -r hyperv-vss 2>/dev/null || true
mkdir -p "$st/lib/modules/$kver/updates/hvvss"
cp "$kmods"/*.ko "$st/lib/modules/$kver/updates/hvvss/"
depmod -b "$st" "$kver"
echo hv_vss_hostsim >"$st/etc/modules-load.d/hv_vss_hostsim.conf"
echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" >"$st/etc/fstab"

# A hook, to see the transition to hvvssd_hook_t.
cat >"$st/etc/hyperv-vss/hooks.d/10-selinux-test" <<'HOOK'
#!/bin/sh
echo "$1 $(cat /proc/self/attr/current)" >>/run/hvvss-hook.log
HOOK
chmod 0755 "$st/etc/hyperv-vss/hooks.d/10-selinux-test"

# --- SELinux: our module in the root's store, enforcing.
cp "$pp" "$work/hvvss.pp"
semodule -p "$st" -s default -n -i "$work/hvvss.pp" 2>"$work/semodule.log" ||
	{ cat "$work/semodule.log" >&2; echo "not ok 1 - semodule -i hvvss.pp in the root"; echo "1..1"; exit 1; }
if [ "$enforcing" = 1 ]; then mode=enforcing; else mode=permissive; fi
sed -i "s/^SELINUX=.*/SELINUX=$mode/" "$st/etc/selinux/config"

# --- the test unit: runs unconfined (initrc_t), reports on the console.
cat >"$st/etc/systemd/system/hvvss-selinux-test.service" <<'UNIT'
[Unit]
Description=hyperv-vss SELinux enforcing test
After=multi-user.target
[Service]
Type=oneshot
SELinuxContext=system_u:system_r:initrc_t:s0
ExecStart=/usr/local/sbin/hvvss-selinux-test
StandardOutput=journal+console
StandardError=journal+console
[Install]
WantedBy=multi-user.target
UNIT
mkdir -p "$st/etc/systemd/system/multi-user.target.wants"
ln -sf ../hvvss-selinux-test.service "$st/etc/systemd/system/multi-user.target.wants/"
cat >"$st/usr/local/sbin/hvvss-selinux-test" <<'SCRIPT'
#!/bin/sh
say() { echo "HVVSS-SELINUX: $*" >/dev/console; }
check() { d=$1; shift; if "$@" >/run/hvvss-out 2>&1; then say "ok $d"; else say "not ok $d"; sed 's/^/HVVSS-SELINUX: # /' /run/hvvss-out >/dev/console; fi; }

if [ -e /etc/hvvss-nodontaudit ]; then
	check "semodule -DB (dontaudit rules off)" semodule -DB
	systemctl restart hvvssd
fi
check "SELinux is $(cat /etc/hvvss-expect-mode)" sh -c '[ "$(getenforce)" = "$(cat /etc/hvvss-expect-mode)" ]'
for i in $(seq 1 120); do
	systemctl -q is-active hvvssd && [ -S /run/hyperv-vss/control ] && break
	sleep 1
done
check "hvvssd started by systemd" systemctl -q is-active hvvssd
check "hvvssd runs in hvvssd_t" sh -c 'grep -q ":hvvssd_t:" /proc/$(systemctl show -p MainPID --value hvvssd)/attr/current'
check "/run/hyperv-vss/control is hvvssd_runtime_t" sh -c 'ls -Z /run/hyperv-vss/control | grep -q hvvssd_runtime_t'
check "/dev/vmbus/hv_vss is hyperv_vss_device_t" sh -c 'ls -Z /dev/vmbus/hv_vss | grep -q hyperv_vss_device_t'
check "hvvssctl test-freeze --kernel" hvvssctl test-freeze --kernel
check "hvvssctl status" hvvssctl status
check "freeze hook ran in hvvssd_hook_t" grep -q "^freeze .*:hvvssd_hook_t:" /run/hvvss-hook.log
check "thaw hook ran in hvvssd_hook_t" grep -q "^thaw .*:hvvssd_hook_t:" /run/hvvss-hook.log
say "# journal of hvvssd:"
journalctl -b -u hvvssd --no-pager -o cat | tail -n 60 | sed 's/^/HVVSS-SELINUX: #   /' >/dev/console
check "systemctl restart hvvssd" systemctl restart hvvssd
sleep 3
check "hvvssd active after restart" systemctl -q is-active hvvssd
check "systemctl stop hvvssd" systemctl stop hvvssd

# The kernel log straight from /dev/kmsg in this (unconfined) domain:
# dmesg(1) would run in dmesg_t, which may not write our files.
dd if=/dev/kmsg of=/run/hvvss-kmsg iflag=nonblock bs=16k 2>/dev/null || true
check "kernel log captured (SELinux initialised)" grep -q "SELinux:  Initializing" /run/hvvss-kmsg
grep 'avc:  denied' /run/hvvss-kmsg | sed 's/^\[[^]]*\] //' >/run/hvvss-avc || true
ours=$(grep -c -E 'hvvssd_(t|hook_t|runtime_t|conf_t|hook_exec_t|exec_t|unit_file_t)' /run/hvvss-avc || true)
say "# AVC denials in total: $(wc -l </run/hvvss-avc), concerning hvvssd types: $ours"
grep -E 'hvvssd_' /run/hvvss-avc | sed 's/^/HVVSS-SELINUX: # /' >/dev/console || true
grep -v -E 'hvvssd_' /run/hvvss-avc | head -n 40 | sed 's/^/HVVSS-SELINUX: # other: /' >/dev/console || true
grep -E 'audit_lost|audit: backlog|callbacks suppressed' /run/hvvss-kmsg | sed 's/^/HVVSS-SELINUX: # lost: /' >/dev/console || true
lost=$(grep -c -E 'audit_lost|audit: backlog|callbacks suppressed' /run/hvvss-kmsg || true)
check "no audit messages lost (the count is complete)" [ "$lost" -eq 0 ]
check "zero AVC denials concerning hvvssd types" [ "$ours" -eq 0 ]
say END
sync
echo o >/proc/sysrq-trigger
SCRIPT
chmod 0755 "$st/usr/local/sbin/hvvss-selinux-test"
if [ "$enforcing" = 1 ]; then echo Enforcing; else echo Permissive; fi >"$st/etc/hvvss-expect-mode"
[ "$nodontaudit" = 1 ] && touch "$st/etc/hvvss-nodontaudit"

# --- label offline, against the root's own file_contexts.
fc=$st/etc/selinux/default/contexts/files/file_contexts
setfiles -r "$st" -c "$(ls "$st"/etc/selinux/default/policy/policy.* | tail -n 1)" "$fc" "$st" \
	>"$work/setfiles.log" 2>&1 || { tail "$work/setfiles.log" >&2; echo "not ok 1 - setfiles"; echo "1..1"; exit 1; }

size=$(du -sm "$st" | awk '{ print int($1 * 1.3) + 256 }')
mkfs.ext4 -q -F -L hvvss-root -d "$st" "$work/root.img" "${size}M"
cp "$st/boot/vmlinuz-$kver" "$work/vmlinuz"
cp "$st/boot/initrd.img-$kver" "$work/initrd.img"
rm -rf "$st"

log=$work/console.log
: >"$log"
qemu=(qemu-system-x86_64 -machine pc -accel tcg -cpu max -m 1024 -smp 1
	-nodefaults -no-user-config -nographic -no-reboot -serial stdio -monitor none
	-kernel "$work/vmlinuz" -initrd "$work/initrd.img"
	-drive "file=$work/root.img,format=raw,if=virtio,cache=unsafe"
	-append "root=/dev/vda rw console=ttyS0 panic=-1 loglevel=4 security=selinux selinux=1 enforcing=$enforcing")
echo "# ${qemu[*]}"
n=0 bad=0 end=0
while IFS= read -r line || [ -n "$line" ]; do
	line=${line%$'\r'}
	printf '%s\n' "$line" >>"$log"
	case $line in
	*"HVVSS-SELINUX: ok "*) n=$((n + 1)); echo "ok $n - ${line#*HVVSS-SELINUX: ok }" ;;
	*"HVVSS-SELINUX: not ok "*) n=$((n + 1)); bad=$((bad + 1)); echo "not ok $n - ${line#*HVVSS-SELINUX: not ok }" ;;
	*"HVVSS-SELINUX: END"*) end=1 ;;
	*"HVVSS-SELINUX: "*) echo "${line#*HVVSS-SELINUX: }" ;;
	esac
done < <(timeout -s KILL "$timeout" "${qemu[@]}" </dev/null 2>&1)
if [ "$end" -ne 1 ]; then
	n=$((n + 1)); bad=$((bad + 1))
	echo "not ok $n - the VM did not finish within $timeout s; last console lines:"
	tail -n 40 "$log" | sed 's/^/# /'
fi
echo "1..$n"
[ "$bad" -eq 0 ] && [ "$n" -gt 0 ]
