#!/bin/bash
# n) Slow and malformed control clients never delay the host: with clients
# stalled half-way through a message and one that sent garbage, a FREEZE
# and a THAW are answered at once (well before the server's 10 s idle
# timeout would have dropped the stalled clients).
. "$(dirname "$0")/lib.sh"

mkext4 ext4
start_fk
start_daemon --scope "$WORK/mnt/ext4"
# No stalled client can be dropped for idleness before tc + 10 s.
tc=$(date +%s%N)
for i in 1 2 3; do "$CALL" "$RUN/control" --stall 30 >"$RUN/stall$i.out" & PIDS+=($!); done
"$CALL" "$RUN/control" --garbage 30 >"$RUN/garbage.out" & PIDS+=($!)
for _ in $(seq 50); do [ "$(cat "$RUN"/stall*.out "$RUN/garbage.out" | grep -c connected)" = 4 ] && break; sleep 0.1; done
[ "$(cat "$RUN"/stall*.out "$RUN/garbage.out" | grep -c connected)" = 4 ] || die "the misbehaving clients did not connect"
t0=$(date +%s%N)
# The fake kernel waits up to 9 s for each answer (a slow machine may need
# more than a few), still less than the 10 s idle timeout; and both answers
# must come before tc + 10 s, while the stalled clients are surely still
# connected: a daemon that only answers once they are dropped fails.
fk freeze
r=$(fk_reply 9000)
t1=$(date +%s%N)
[ "$r" = ok ] || die "FREEZE answered '$r' with stalled clients connected"
fk thaw
r=$(fk_reply 9000)
t2=$(date +%s%N)
[ "$r" = ok ] || die "THAW answered '$r' with stalled clients connected"
[ $(( (t2 - tc) / 1000000 )) -lt 10000 ] ||
	die "FREEZE and THAW answered only $(( (t2 - tc) / 1000000 )) ms after the stalled clients connected: maybe after the idle timeout dropped them"
call GetStatus >/dev/null || die "a well-behaved client is not served"
stop_writers
assert_thawed "$WORK/mnt/ext4"
note "FREEZE answered in $(( (t1 - t0) / 1000000 )) ms with 4 misbehaving clients connected"
note PASS
