#!/bin/sh
# Negative VM harness self-test: a scenario that reports "not ok" but exits
# 0 must still make run-vm.sh fail (selftest-expect-fail.sh checks why).
echo "1..2"
echo "ok 1 - fine"
echo "not ok 2 - deliberately failing"
exit 0
