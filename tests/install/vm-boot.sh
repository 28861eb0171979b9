#!/bin/bash
# vm-boot.sh WORK_DIR [TIMEOUT_S]
#
# Boot the installed root that deb-install.sh left in WORK_DIR (root.img,
# vmlinuz, initrd.img) under QEMU TCG with systemd as init, and judge the
# "HVVSS-INSTALL:" lines its one-shot test unit prints on the serial console
# (see vm-files.sh): every "ok" counts, any "not ok" or a missing END fails.
# The console goes to WORK_DIR/console.log. Prints the boot-to-backup time:
# from QEMU's start to the line saying the simulated host backup succeeded.
#
# The guest runs hvvssd as the system service (--system, unscoped): it
# freezes the VM's own root ext4 on its virtio disk, a file of ours on the
# host, never a host filesystem.
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: vm-boot.sh WORK_DIR [TIMEOUT_S]" >&2; exit 2; }
work=$1
timeout=${2:-300}
for f in root.img vmlinuz initrd.img; do
	[ -f "$work/$f" ] || { echo "vm-boot: $work/$f is missing (run deb-install.sh first)" >&2; exit 1; }
done
command -v qemu-system-x86_64 >/dev/null ||
	{ echo "vm-boot: qemu-system-x86_64 not found: apt-get install qemu-system-x86" >&2; exit 1; }

log=$work/console.log
: >"$log"
qemu=(qemu-system-x86_64 -machine pc -accel tcg -cpu max -m 1024 -smp 2
	-nodefaults -no-user-config -nographic -no-reboot -serial stdio -monitor none
	-kernel "$work/vmlinuz" -initrd "$work/initrd.img"
	-drive "file=$work/root.img,format=raw,if=virtio,cache=unsafe"
	-append "root=/dev/vda rw console=ttyS0 panic=-1 loglevel=4 systemd.show_status=auto")
echo "# ${qemu[*]}"

t0=$EPOCHREALTIME
n_ok=0 n_notok=0 saw_end=0 backup_s=
while IFS= read -r line || [ -n "$line" ]; do
	line=${line%$'\r'}
	printf '%s\n' "$line" >>"$log"
	case $line in
	*"HVVSS-INSTALL: ok "*)
		n_ok=$((n_ok + 1))
		echo "ok $((n_ok + n_notok)) - ${line#*HVVSS-INSTALL: ok }"
		case $line in
		*"simulated host backup"*"succeeded"*)
			backup_s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') ;;
		esac
		;;
	*"HVVSS-INSTALL: not ok "*)
		n_notok=$((n_notok + 1))
		echo "not ok $((n_ok + n_notok)) - ${line#*HVVSS-INSTALL: not ok }"
		;;
	*"HVVSS-INSTALL: END"*) saw_end=1 ;;
	*"HVVSS-INSTALL: "*) echo "# ${line#*HVVSS-INSTALL: }" ;;
	esac
done < <(timeout -s KILL "$timeout" "${qemu[@]}" </dev/null 2>&1)
total=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')

if [ "$saw_end" -ne 1 ]; then
	n_notok=$((n_notok + 1))
	echo "not ok $((n_ok + n_notok)) - the VM did not finish its test unit within ${timeout} s; last console lines:"
	tail -n 40 "$log" | sed 's/^/# /'
fi
[ -n "$backup_s" ] && echo "# boot-to-backup: ${backup_s} s from QEMU start to the backup's success (VM ran ${total} s)"
echo "1..$((n_ok + n_notok))"
[ "$n_notok" -eq 0 ] && [ "$n_ok" -gt 0 ]
