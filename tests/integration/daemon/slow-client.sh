#!/bin/bash
# n) Slow and malformed control clients never delay the host: with clients
# stalled half-way through a message and one that sent garbage, a FREEZE
# and a THAW are answered at once (well before the server's 10 s idle
# timeout would have dropped the stalled clients).
. "$(dirname "$0")/lib.sh"

mkext4 ext4
start_fk
start_daemon --scope "$WORK/mnt/ext4"
for i in 1 2 3; do "$CALL" "$RUN/control" --stall 30 >"$RUN/stall$i.out" & PIDS+=($!); done
"$CALL" "$RUN/control" --garbage 30 >"$RUN/garbage.out" & PIDS+=($!)
for _ in $(seq 50); do [ "$(cat "$RUN"/stall*.out "$RUN/garbage.out" | grep -c connected)" = 4 ] && break; sleep 0.1; done
[ "$(cat "$RUN"/stall*.out "$RUN/garbage.out" | grep -c connected)" = 4 ] || die "the misbehaving clients did not connect"
t0=$(date +%s%N)
fk freeze
r=$(fk_reply 5000)
t1=$(date +%s%N)
[ "$r" = ok ] || die "FREEZE answered '$r' with stalled clients connected"
fk thaw
r=$(fk_reply 5000)
[ "$r" = ok ] || die "THAW answered '$r' with stalled clients connected"
call GetStatus >/dev/null || die "a well-behaved client is not served"
stop_writers
assert_thawed "$WORK/mnt/ext4"
note "FREEZE answered in $(( (t1 - t0) / 1000000 )) ms with 4 misbehaving clients connected"
note PASS
