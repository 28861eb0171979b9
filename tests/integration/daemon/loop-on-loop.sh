#!/bin/bash
# b) Loop-on-loop (failure mode 2): an ext4 image file inside the mounted
# "outer" ext4, loop-mounted as "inner". The inner filesystem must be frozen
# first and thawed last: level 0 < outer's level in GetHistory, and the
# FIFREEZE/FITHAW order in the daemon's per-target log lines.
. "$(dirname "$0")/lib.sh"

mkext4 outer 256M
IMG=$WORK/mnt/outer/inner.img mkext4 inner 64M
start_fk
start_daemon --scope "$WORK/mnt/outer" --scope "$WORK/mnt/inner"
call ListMounts | jq -e --arg i "$WORK/mnt/inner" --arg o "$WORK/mnt/outer" \
	'[.mounts[] | select(.mount_point == $i)][0].level < [.mounts[] | select(.mount_point == $o)][0].level' >/dev/null ||
	die "ListMounts levels: $(call ListMounts)"
start_writer "$WORK/mnt/inner" inner
sleep 0.5
fk freeze
[ "$(fk_reply 60000)" = ok ] || die "FREEZE not ok"
# The window starts after the probe (0.5 s after the reply): the writer
# stamps its ack after fsync returns, so an fsync completed just before the
# freeze by a writer descheduled before stamping would read as acknowledged
# while frozen.
probe_blocked "$WORK/mnt/inner" || die "inner: a write went through while frozen"
t1=$(now_ns); sleep 1; t2=$(now_ns)
fk thaw
[ "$(fk_reply 30000)" = ok ] || die "THAW not ok"
sleep 0.5
stop_writers
[ "$(acks_between inner "$t1" "$t2")" = 0 ] || die "inner: writes acknowledged while frozen"
"$WRITER" --verify "$WORK/mnt/inner/writer-inner.dat" "$RUN/ack-inner.log" || die "inner: writes lost"
assert_thawed "$WORK/mnt/outer" "$WORK/mnt/inner"

op=$(last_op)
echo "$op" | jq -e '.result == "ok"' >/dev/null || die "history: $op"
li=$(echo "$op" | jq --arg m "$WORK/mnt/inner" '.targets[] | select(.mount_point == $m) | .level')
lo=$(echo "$op" | jq --arg m "$WORK/mnt/outer" '.targets[] | select(.mount_point == $m) | .level')
[ -n "$li" ] && [ -n "$lo" ] && [ "$li" -lt "$lo" ] || die "levels inner=$li outer=$lo: $op"
[ "$(echo "$op" | jq -r '.targets[0].mount_point')" = "$WORK/mnt/inner" ] || die "inner is not the first target"
# The freeze/thaw sequence numbers the daemon logs after thaw.
seq_of() { grep -o "$1 (ext4, level [0-9]*): frozen-thawed (freeze #[0-9]*, thaw #[0-9]*" "$RUN/daemon.log" | tail -1 | sed 's/.*freeze #\([0-9]*\), thaw #\([0-9]*\)/\1 \2/'; }
read -r fi ti <<<"$(seq_of "$WORK/mnt/inner")"
read -r fo to <<<"$(seq_of "$WORK/mnt/outer")"
[ "$fi" = 1 ] && [ "$fo" = 2 ] || die "freeze order: inner #$fi outer #$fo"
[ "$to" = 1 ] && [ "$ti" = 2 ] || die "thaw order: outer #$to inner #$ti"
note "inner frozen #$fi thawed #$ti, outer frozen #$fo thawed #$to"
note "$(timings "$op")"
note PASS
