#!/bin/sh
# Negative VM harness self-test: a clean TAP run whose kernel log has a
# warning and whose taint has the W bit must still fail, on the kernel log.
# /dev/kmsg and /proc/sys/kernel/tainted let userspace inject both.
echo "1..1"
echo "WARNING: injected by the harness self-test" >/dev/kmsg
echo 512 >/proc/sys/kernel/tainted
echo "ok 1 - injected a kernel log warning and taint W"
