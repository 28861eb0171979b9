#!/bin/bash
# The kernel end goes away while a FREEZE is held: hvvssd thaws everything
# at once (a blocked write goes through, ListFrozen is empty) and records
# the backup as aborted because the channel broke. It then reopens by itself
# with a growing delay: a socket that accepts and drops each connection sees
# few attempts, further and further apart (no busy loop). When a fake
# kernel listens on the same path again, the daemon registers and serves a
# full HOT_BACKUP/FREEZE/THAW cycle.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null 2>&1 || die "python3 not found (the flapping socket)"
mkext4 ext4; mkxfs xfs
start_fk
start_daemon --scope "$WORK/mnt/ext4" --scope "$WORK/mnt/xfs"

registered() { call GetStatus | jq -e '.device_state == "registered"' >/dev/null; }
not_running() { ! running "$1"; }

# A device path that accepts and drops every connection, for SECS s and then
# until it has seen MIN connections or MAX_SECS s have passed (a slow
# machine still gets enough attempts to measure the delays between them).
cat >"$RUN/flap.py" <<'EOF'
import os, socket, sys, time
path, secs, n_min, max_secs, out = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(path)
s.listen(4)
s.settimeout(0.05)
start = time.monotonic()
n = 0
with open(out, "w", buffering=1) as f:
    f.write("listening %.3f\n" % start)
    while True:
        now = time.monotonic()
        if now >= start + max_secs or (now >= start + secs and n >= n_min):
            break
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        n += 1
        f.write("accept %.3f\n" % time.monotonic())
        c.close()
s.close()
os.unlink(path)
EOF

fk_expect freeze 60000 ok
probe_blocked "$WORK/mnt/ext4" || die "ext4: a write went through while frozen"
probe=${PIDS[-1]}
call ListFrozen | jq -e '.frozen | length == 2' >/dev/null || die "ListFrozen while frozen: $(call ListFrozen)"

# A socket that accepts and drops every connection takes over the device
# path (the fake kernel keeps its unlinked listener and the daemon's
# connection); then the kernel end drops the connection and goes away.
python3 "$RUN/flap.py" "$RUN/fk.sock" 5.5 4 20 "$RUN/flap.out" 2>"$RUN/flap.err" &
flap=$!
PIDS+=($flap)
wait_for grep -q listening "$RUN/flap.out" 2>/dev/null || die "the flapping socket did not start: $(cat "$RUN/flap.err")"
fk close
wait_for grep -q "the VSS channel broke" "$RUN/daemon.log" || die "the daemon did not notice the closed channel within 5 s"
# It never sees the end of its input (the daemon inherited the write end of
# its FIFO): SIGTERM, which also leaves the path alone.
exec 7>&-
kill -TERM "$FK_PID"
wait "$FK_PID" 2>/dev/null
FK_PID=
rm -f "$RUN/fk.in"

# Thawed at once, while the channel is down.
wait_for not_running "$probe" || die "the blocked write did not go through within 5 s of the channel closing"
assert_thawed "$WORK/mnt/ext4" "$WORK/mnt/xfs"
call ListFrozen | jq -e '.frozen | length == 0' >/dev/null || die "ListFrozen after the channel closed: $(call ListFrozen)"
op=$(last_op)
echo "$op" | jq -e '(.result == "aborted" or .result == "failed") and (.error | test("channel"))' >/dev/null ||
	die "history does not record the backup as ended by the broken channel: $op"
echo "$op" | jq -e '[.targets[] | select(.result == "frozen-thawed")] | length == 2' >/dev/null ||
	die "not both targets thawed: $op"
call GetStatus | jq -e '.state == "idle" and .device_state != "registered"' >/dev/null ||
	die "GetStatus with the channel down: $(call GetStatus)"

# Reopen attempts: some, but spaced out by a growing delay.
wait "$flap" || die "the flapping socket failed: $(cat "$RUN/flap.err")"
awk '$1 == "accept" {print $2}' "$RUN/flap.out" >"$RUN/flap.times"
n=$(wc -l <"$RUN/flap.times")
start=$(awk '$1 == "listening" {print $2}' "$RUN/flap.out")
n5=$(awk -v s="$start" '$1 < s + 5.5' "$RUN/flap.times" | wc -l)
note "reopen attempts: $n at $(tr '\n' ' ' <"$RUN/flap.times")(listening since $start)"
[ "$n" -ge 4 ] || die "only $n reopen attempt(s) in 20 s: the daemon does not retry by itself"
[ "$n5" -le 8 ] || die "$n5 reopen attempts in 5.5 s: no backoff"
# The delays double (the gaps between accepts here are nominally 0.5, 1,
# 2 s), but each gap also holds the daemon's and this socket's latencies,
# which a slow machine stretches by some 100 ms. So: no gap may shrink by
# more than a latency explains (each >= 0.8 x the one before), and the last
# must be at least twice the first. A constant delay fails; a doubling one
# passes even with the first gap 0.5 s late. (The daemon does not log the
# delays it schedules, so they are measured here.)
awk 'NR > 1 { g[NR - 1] = $1 - p } { p = $1 }
     END { for (i = 2; i < NR; i++) if (g[i] < 0.8 * g[i - 1]) exit 1
           if (g[NR - 1] < 2 * g[1]) exit 1 }' "$RUN/flap.times" ||
	die "the delay between reopen attempts does not grow: $(tr '\n' ' ' <"$RUN/flap.times")"

# A kernel end on the same path again: the daemon registers by itself and serves.
start_fk
fk_register 20000
wait_for registered || die "not registered again: $(call GetStatus)"
fk_expect hot_backup 30000 ok "after the reopen"
host_cycle "after the reopen" "$WORK/mnt/xfs" "$WORK/mnt/ext4" "$WORK/mnt/xfs"
stop_clean
note PASS
