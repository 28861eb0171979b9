#!/bin/bash
# m) Failure mode 10: hvvssd started in its own mount namespace (unshare -m)
# where the test filesystem is not mounted (unmounted lazily in there). It
# reads the host namespace's mount table and opens the mount point through
# /proc/PID/root, so the host's filesystem is still frozen: a writer in the
# host namespace blocks, and the history names the host's mount point.
# In production the table is /proc/1/mountinfo; here the "host" namespace is
# this test shell's (--mountinfo /proc/$$/mountinfo): PID 1 may live in a
# namespace the test cannot enter (a container's init), and the mechanism
# is the same for any PID.
. "$(dirname "$0")/lib.sh"

mkext4 ext4
MP=$WORK/mnt/ext4
start_fk
start_writer "$MP" ext4
# start_daemon's checks, then the namespace: unshare execs sh, sh execs hvvssd (same pid).
HVVSSD_REAL=$HVVSSD
HVVSSD=$RUN/hvvssd-in-ns
cat >"$HVVSSD" <<SH
#!/bin/sh
exec unshare -m --propagation private sh -c 'umount -l "$MP" && ! mountpoint -q "$MP" && exec "$HVVSSD_REAL" "\$@"' hvvssd "\$@"
SH
chmod 0755 "$HVVSSD"
start_daemon --scope "$MP" --mountinfo "/proc/$$/mountinfo"
ns_self=$(readlink /proc/$$/ns/mnt)
for _ in $(seq 20); do
	ns_d=$(readlink "/proc/$DAEMON_PID/ns/mnt")
	[ "$(cat /proc/$DAEMON_PID/comm)" = hvvssd ] && break
	sleep 0.1
done
[ "$ns_d" != "$ns_self" ] || die "hvvssd is not in its own mount namespace"
grep -q " $MP " "/proc/$DAEMON_PID/mountinfo" && die "the test mount is visible in the daemon's namespace"
grep -q "opened through /proc/$$/root" "$RUN/daemon.log" || die "the daemon did not notice the other namespace"
fk freeze
[ "$(fk_reply 60000)" = ok ] || die "FREEZE not ok"
probe_blocked "$MP" || die "the host's filesystem was not frozen"
# The window starts after the probe (0.5 s after the reply): the writer
# stamps its ack after fsync returns, so an fsync completed just before the
# freeze by a writer descheduled before stamping would read as acknowledged
# while frozen.
t1=$(now_ns)
sleep 1
t2=$(now_ns)
fk thaw
[ "$(fk_reply 30000)" = ok ] || die "THAW not ok"
sleep 0.5
stop_writers
[ "$(acks_between ext4 "$t1" "$t2")" = 0 ] || die "writes acknowledged while frozen"
"$WRITER" --verify "$MP/writer-ext4.dat" "$RUN/ack-ext4.log" || die "writes lost"
assert_thawed "$MP"
op=$(last_op)
echo "$op" | jq -e --arg m "$MP" '.result == "ok" and .targets[0].mount_point == $m and .targets[0].result == "frozen-thawed"' >/dev/null ||
	die "history: $op"
note "$(timings "$op")"
note PASS
