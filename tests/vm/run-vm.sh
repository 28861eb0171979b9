#!/bin/bash
# Run one VM test scenario under QEMU (TCG) on the Debian kernel matching
# our module build, and judge it.
#
# Usage: run-vm.sh --kmod-dir DIR --scenario FILE [--bin PATH]... [--file SRC:DST]...
#                  [--disk FSTYPE:SIZE_MB]... [--timeout SECONDS] [--append KERNEL_ARGS]
#                  [--mem MB] [--log FILE] [--keep] [--module NAME]...
#                  [--kernel-abi ABI]
#
# --kernel-abi picks the Debian kernel to boot (default: the one
# linux-headers-amd64 points at); --kmod-dir must hold modules built for it.
#
# See tests/vm/README.md.  Streams the scenario's output (TAP) to stdout and
# ends with one verdict line, "vm: PASS name (...)" or "vm: FAIL name: why".
# Exit status: 0 pass, 1 fail, 2 usage or setup error.
set -eu
shopt -s lastpipe # the console reader runs in this shell, so it can set variables

here=$(cd "$(dirname "$0")" && pwd)
prog=run-vm

usage_error() {
	echo "$prog: $*" >&2
	echo "$prog: usage: run-vm.sh --kmod-dir DIR --scenario FILE [--bin PATH]... [--file SRC:DST]... [--disk FSTYPE:SIZE_MB]... [--timeout SECONDS] [--append ARGS] [--mem MB] [--log FILE] [--keep] [--module NAME]... [--kernel-abi ABI] (see tests/vm/README.md)" >&2
	exit 2
}
setup_error() {
	echo "$prog: $*" >&2
	exit 2
}

kmod_dir='' scenario='' timeout=180 append='' mem=${MEM:-768} log='' keep=0 abi=''
bins=() files=() disks=() modules=()
while [ $# -gt 0 ]; do
	opt=$1
	case $opt in
	--keep)
		keep=1
		shift
		continue
		;;
	--kmod-dir|--scenario|--bin|--file|--disk|--timeout|--append|--mem|--log|--module|--kernel-abi)
		[ $# -ge 2 ] || usage_error "option $opt needs an argument"
		arg=$2
		shift 2
		;;
	*) usage_error "unknown argument '$opt'" ;;
	esac
	case $opt in
	--kmod-dir) kmod_dir=$arg ;;
	--scenario) scenario=$arg ;;
	--bin) bins+=(--bin "$arg") ;;
	--file) files+=(--file "$arg") ;;
	--disk) disks+=("$arg") ;;
	--timeout) timeout=$arg ;;
	--append) append=$arg ;;
	--mem) mem=$arg ;;
	--log) log=$arg ;;
	--module) modules+=(--module "$arg") ;;
	--kernel-abi) abi=$arg ;;
	esac
done
[ -n "$kmod_dir" ] || usage_error "--kmod-dir is required"
[ -n "$scenario" ] || usage_error "--scenario is required"
[ -f "$scenario" ] || setup_error "scenario $scenario does not exist"
[ -d "$kmod_dir" ] || setup_error "--kmod-dir $kmod_dir is not a directory; build the modules first (cmake --build BUILD --target kmod)"
case $timeout in ''|*[!0-9]*|0) usage_error "--timeout '$timeout' must be a positive number of seconds" ;; esac
case $mem in ''|*[!0-9]*) usage_error "--mem '$mem' must be a number of MB" ;; esac
command -v qemu-system-x86_64 >/dev/null ||
	setup_error "qemu-system-x86_64 not found: apt-get install qemu-system-x86"

name=$(basename "$scenario" .sh)
t_start=$EPOCHREALTIME

kdir=$("$here/fetch-kernel.sh" $abi) || setup_error "cannot get the test kernel (see the fetch-kernel message above)"
release=$(cat "$kdir/release")
# Modules built for another kernel fail to load in the VM with a terse
# "Invalid module format": say so here, with both releases.
for ko in "$kmod_dir"/*.ko; do
	[ -e "$ko" ] || continue
	vermagic=$(modinfo -F vermagic "$ko" 2>/dev/null) || setup_error "modinfo cannot read $ko"
	[ "${vermagic%% *}" = "$release" ] ||
		setup_error "$ko is built for ${vermagic%% *}, the VM boots $release: pass the matching --kmod-dir or --kernel-abi"
done

# A TCG vCPU starved by a loaded host looks stalled to the guest: RCU stall
# and soft-lockup reports after the default 21 and 20 s would fail the
# kernel log check with no bug of ours. Raised to 2 minutes, they still
# catch a real lockup.
stall_args="rcupdate.rcu_cpu_stall_timeout=120 watchdog_thresh=60"

work=$(mktemp -d "${TMPDIR:-/tmp}/hvvss-vm-$name.XXXXXX")
own_log=0
if [ -z "$log" ]; then
	log=$(mktemp "${TMPDIR:-/tmp}/hvvss-vm-$name.XXXXXX.log")
	own_log=1
fi
: >"$log" || setup_error "cannot write the log file $log"
cleanup() { # shellcheck disable=SC2317 # called by the EXIT trap
	if [ "$keep" = 1 ]; then
		echo "$prog: kept $work (initramfs, disk images)" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

# --- disks: sparse raw images, formatted on the host -------------------------
drive_args=()
disk_list=
letters=abcdefghijklmnopqrstuvwxyz
i=0
for spec in ${disks[@]+"${disks[@]}"}; do
	fs=${spec%%:*}
	mb=${spec#*:}
	[ "$fs" != "$spec" ] || usage_error "--disk '$spec' must be FSTYPE:SIZE_MB"
	case $mb in ''|*[!0-9]*|0) usage_error "--disk '$spec': size must be a positive number of MB" ;; esac
	[ $i -lt 26 ] || usage_error "at most 26 disks"
	dev=vd${letters:$i:1}
	img=$work/disk$i-$fs.img
	truncate -s "${mb}M" "$img"
	case $fs in
	ext4) mkfs_cmd=(mkfs.ext4 -F -q "$img") ;;
	xfs)
		[ "$mb" -ge 300 ] || usage_error "--disk '$spec': xfs needs at least 300 MB"
		mkfs_cmd=(mkfs.xfs -f -q "$img")
		;;
	btrfs)
		[ "$mb" -ge 114 ] || usage_error "--disk '$spec': btrfs needs at least 114 MB"
		mkfs_cmd=(mkfs.btrfs -f -q "$img")
		;;
	raw) mkfs_cmd=() ;;
	*) usage_error "--disk '$spec': unknown type '$fs' (ext4, xfs, btrfs or raw)" ;;
	esac
	if [ ${#mkfs_cmd[@]} -gt 0 ]; then
		out=$("${mkfs_cmd[@]}" 2>&1) ||
			setup_error "formatting $img ($spec) with ${mkfs_cmd[0]} failed: $out (install e2fsprogs/xfsprogs/btrfs-progs?)"
	fi
	drive_args+=(-drive "file=$img,if=virtio,format=raw,cache=unsafe")
	disk_list="$disk_list${disk_list:+ }$dev:$fs"
	i=$((i + 1))
done

# --- initramfs ---------------------------------------------------------------
# The in-VM watchdog fires before ours, so a hung scenario still prints its
# blocked tasks and kernel log.  Its deadline is in guest uptime, which
# under TCG follows the host clock from about when QEMU starts; leave
# margin for the dump and the power-off.
if [ "$timeout" -ge 40 ]; then
	vm_deadline=$((timeout - 10))
else
	vm_deadline=$((timeout * 3 / 4))
fi
cat >"$work/vm.conf" <<EOF
HVVSS_NAME='$name'
HVVSS_DISKS='$disk_list'
HVVSS_SCENARIO_DEADLINE=$vm_deadline
EOF
"$here/mkinitramfs.sh" --kernel-dir "$kdir" --out "$work/initrd.gz" \
	--scenario "$scenario" --kmod-dir "$kmod_dir" --conf "$work/vm.conf" \
	${bins[@]+"${bins[@]}"} ${files[@]+"${files[@]}"} ${modules[@]+"${modules[@]}"} ||
	setup_error "building the initramfs failed (see above)"

# --- boot --------------------------------------------------------------------
# -machine pc boots faster than q35 under TCG here; -nodefaults drops the
# NIC, VGA and CD-ROM nobody needs.  stdin is /dev/null so QEMU never puts
# a terminal into raw mode.
# vmlinux (PVH entry) when fetch-kernel.sh could extract it: ~5 s faster.
kernel=$kdir/vmlinuz
[ ! -f "$kdir/vmlinux" ] || kernel=$kdir/vmlinux
qemu=(qemu-system-x86_64 -machine pc -accel tcg -cpu max -m "$mem" -smp 1
	-nodefaults -no-user-config -nographic -no-reboot -serial stdio -monitor none
	-kernel "$kernel" -initrd "$work/initrd.gz"
	-append "console=ttyS0 panic=-1 quiet loglevel=4 $stall_args $append"
	${drive_args[@]+"${drive_args[@]}"})
printf '%s\n' "# $prog: ${qemu[*]}" >>"$log"

t_qemu=$EPOCHREALTIME
t_begin=
section=boot
scenario_rc=
vm_timed_out=0
saw_done=0
n_ok=0 n_notok=0 plans=() notok_lines=()
set +e
timeout -s KILL "$timeout" "${qemu[@]}" </dev/null 2>&1 |
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line%$'\r'}
		printf '%s\n' "$line" >>"$log"
		case $line in
		"==hvvss-vm== scenario-begin")
			section=scenario
			t_begin=$EPOCHREALTIME
			continue
			;;
		"==hvvss-vm== scenario-end rc="*)
			section=after
			scenario_rc=${line#*rc=}
			continue
			;;
		"==hvvss-vm== scenario-timeout"*)
			vm_timed_out=1
			echo "$line"
			continue
			;;
		"==hvvss-vm== done") saw_done=1 ;;
		esac
		[ "$section" = scenario ] || continue
		echo "$line"
		case $line in
		"ok "*|ok) n_ok=$((n_ok + 1)) ;;
		"not ok"*)
			n_notok=$((n_notok + 1))
			notok_lines+=("$line")
			;;
		1..[0-9]*) plans+=("${line#1..}") ;;
		esac
	done
qemu_rc=${PIPESTATUS[0]}
set -e
t_end=$EPOCHREALTIME

# --- verdict -----------------------------------------------------------------
secs() { # START END -> seconds with one decimal
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'
}
reasons=()
if [ "$qemu_rc" = 137 ] || [ "$qemu_rc" = 124 ]; then
	reasons+=("timed out after $timeout s (QEMU killed)")
elif [ "$qemu_rc" != 0 ]; then
	reasons+=("QEMU exited with status $qemu_rc")
fi
if [ -z "$t_begin" ]; then
	reasons+=("the scenario never started (boot failed; see the log)")
elif [ -z "$scenario_rc" ]; then
	reasons+=("no scenario end marker (kernel panic or VM died during the scenario)")
else
	[ "$vm_timed_out" = 0 ] || reasons+=("scenario killed by the in-VM watchdog at uptime $vm_deadline s (--timeout $timeout)")
	[ "$scenario_rc" = 0 ] || reasons+=("scenario exited with status $scenario_rc")
	[ "$n_notok" = 0 ] || reasons+=("$n_notok TAP result(s) 'not ok': ${notok_lines[*]}")
	total_results=$((n_ok + n_notok))
	[ "$total_results" -gt 0 ] || reasons+=("no TAP result (no 'ok'/'not ok' line)")
	if [ ${#plans[@]} -gt 1 ]; then
		reasons+=("${#plans[@]} TAP plan lines")
	elif [ ${#plans[@]} = 1 ] && [ "${plans[0]}" != "$total_results" ]; then
		reasons+=("TAP plan 1..${plans[0]} but $total_results result(s)")
	fi
fi
if [ "$saw_done" = 1 ]; then
	if ! klog_out=$("$here/check-kernel-log.sh" "$log" 2>&1); then
		printf '%s\n' "$klog_out" | grep -v '^check-kernel-log: kernel log check FAILED' >&2 || true
		reasons+=("kernel log check failed (lines above)")
	fi
else
	[ -z "$scenario_rc" ] || reasons+=("the VM did not finish printing its kernel log")
fi

boot=${t_begin:+$(secs "$t_qemu" "$t_begin")}
total=$(secs "$t_start" "$t_end")
setup=$(secs "$t_start" "$t_qemu")
times="setup $setup s, boot ${boot:-?} s, total $total s"
if [ ${#reasons[@]} = 0 ]; then
	[ "$own_log" = 0 ] || rm -f "$log"
	echo "vm: PASS $name ($times)"
	exit 0
fi
echo "vm: console log: $log"
if [ -z "$t_begin" ] || [ -z "$scenario_rc" ]; then
	# Boot failures and panics happen outside the streamed section.
	echo "vm: last console lines:"
	tail -n 15 "$log" | sed 's/^/vm: | /'
fi
for r in "${reasons[@]}"; do
	echo "vm: - $r"
done
echo "vm: FAIL $name: ${reasons[0]} ($times)"
exit 1
