#!/bin/sh
# Check the module metadata udev and modprobe rely on:
#   modinfo-check.sh KO_DIR
# hv_vss_vmbus must carry the VSS channel's vmbus alias and depend on
# hv_vmbus and hv_vss; hv_vss_hostsim must depend on hv_vss; hv_vss must
# not depend on hv_vmbus (it loads on any kernel).
set -eu

if [ $# -ne 1 ]; then
	echo "usage: modinfo-check.sh KO_DIR" >&2
	exit 2
fi
dir=$1
status=0

field() {
	modinfo -F "$2" "$dir/$1.ko"
}

expect() {
	# expect MODULE FIELD WORD: FIELD of MODULE contains WORD
	if ! field "$1" "$2" | tr ',' '\n' | grep -qx "$3"; then
		echo "modinfo-check: $1.ko: $2 lacks '$3' (has: $(field "$1" "$2" | tr '\n' ' '))" >&2
		status=1
	fi
}

for m in hv_vss hv_vss_hostsim hv_vss_vmbus; do
	if [ ! -f "$dir/$m.ko" ]; then
		echo "modinfo-check: $dir/$m.ko is missing; build the 'kmod' target first" >&2
		exit 1
	fi
done

expect hv_vss_vmbus alias vmbus:292efa3523ea364296ae3a6ebacba440
expect hv_vss_vmbus depends hv_vmbus
expect hv_vss_vmbus depends hv_vss
expect hv_vss_hostsim depends hv_vss
if field hv_vss depends | tr ',' '\n' | grep -qx hv_vmbus; then
	echo "modinfo-check: hv_vss.ko depends on hv_vmbus; the core must load without Hyper-V" >&2
	status=1
fi
for p in freeze_timeout thaw_timeout hot_backup_timeout; do
	if ! field hv_vss parm | grep -q "^$p:"; then
		echo "modinfo-check: hv_vss.ko lacks the module parameter $p" >&2
		status=1
	fi
done
[ $status -eq 0 ] && echo "modinfo-check: metadata as expected"
exit $status
