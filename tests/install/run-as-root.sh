#!/bin/sh
# run-as-root.sh COMMAND [ARGS...]: run COMMAND, or exit 77 (CTest's skip
# code for the install tests) when not root.
if [ "$(id -u)" -ne 0 ]; then
	echo "skipped: the install tests need root (debootstrap, chroot, mount)"
	exit 77
fi
exec "$@"
