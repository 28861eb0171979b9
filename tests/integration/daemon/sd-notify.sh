#!/bin/bash
# sd_notify: with $NOTIFY_SOCKET set, hvvssd sends READY=1 once the control
# socket serves calls, STATUS= lines that follow idle -> frozen -> idle over
# a host FREEZE/THAW, and STOPPING=1 on SIGTERM; no WATCHDOG=1 unless asked.
# With WATCHDOG_USEC and WATCHDOG_PID (set to the daemon's own pid through
# an exec wrapper) it pings WATCHDOG=1 periodically, also while frozen.
# The notify socket is a python3 datagram listener in $RUN (tmpfs).
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null 2>&1 || die "python3 not found (the notify socket listener)"
command -v ldd >/dev/null 2>&1 || die "ldd not found"
ldd "$HVVSSD" | grep -q libsystemd ||
	die "$HVVSSD is built without libsystemd: sd_notify is a no-op (install libsystemd-dev and rebuild)"

# listener.py SOCKET CONTROL OUT: one line per notify assignment ("STATUS=..."),
# in arrival order; on READY=1 it calls GetStatus on CONTROL at once and adds
# "CONTROL ok STATE" or "CONTROL fail WHY".
cat >"$RUN/listener.py" <<'EOF'
import json, os, socket, sys
path, control, out = sys.argv[1:4]
if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)

def get_status():
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(5)
    try:
        c.connect(control)
        c.sendall(b'{"method":"io.hypervvss.GetStatus"}\0')
        buf = b""
        while not buf.endswith(b"\0"):
            b = c.recv(65536)
            if not b:
                return "fail connection closed"
            buf += b
        return "ok " + json.loads(buf[:-1])["parameters"]["state"]
    except Exception as e:
        return "fail %s" % e
    finally:
        c.close()

with open(out, "w", buffering=1) as f:
    f.write("listening\n")
    while True:
        msg = s.recv(4096).decode(errors="replace")
        for line in msg.split("\n"):
            if line:
                f.write(line + "\n")
            if line == "READY=1":
                f.write("CONTROL " + get_status() + "\n")
EOF
# listen NAME: a listener writing $RUN/NAME.log; exports NOTIFY_SOCKET.
listen() {
	python3 "$RUN/listener.py" "$RUN/$1.sock" "$RUN/control" "$RUN/$1.log" 2>"$RUN/$1.err" &
	PIDS+=($!)
	for _ in $(seq 50); do grep -q listening "$RUN/$1.log" 2>/dev/null && break; sleep 0.1; done
	grep -q listening "$RUN/$1.log" 2>/dev/null || die "the notify listener did not start: $(cat "$RUN/$1.err")"
	export NOTIFY_SOCKET=$RUN/$1.sock
}
# wait_line LOG REGEX: up to 5 s for a line matching REGEX.
wait_line() {
	for _ in $(seq 50); do grep -Eq "$2" "$RUN/$1.log" && return 0; sleep 0.1; done
	return 1
}
# states LOG: the STATUS= states in order, repeats folded ("idle frozen idle").
states() {
	sed -n 's/^STATUS=\([a-z]*\).*/\1/p' "$RUN/$1.log" | uniq | tr '\n' ' '
}

mkext4 ext4
start_fk

# 1. READY=1, STATUS=, STOPPING=1; no watchdog without WATCHDOG_USEC.
listen n1
unset WATCHDOG_USEC WATCHDOG_PID
start_daemon --scope "$WORK/mnt/ext4"
wait_line n1 '^CONTROL ' || die "no READY=1 within 5 s: $(cat "$RUN/n1.log")"
[ "$(grep -c '^READY=1$' "$RUN/n1.log")" = 1 ] || die "READY=1 not sent exactly once: $(cat "$RUN/n1.log")"
grep -q '^CONTROL ok idle$' "$RUN/n1.log" ||
	die "the control socket did not serve GetStatus right after READY=1: $(grep '^CONTROL' "$RUN/n1.log")"
wait_line n1 '^STATUS=idle' || die "no idle STATUS= after start-up: $(cat "$RUN/n1.log")"

fk_expect freeze 60000 ok
wait_line n1 '^STATUS=frozen \(host-backup' || die "no frozen STATUS= while frozen: $(states n1)"
fk_expect thaw 30000 ok
assert_thawed "$WORK/mnt/ext4"
wait_line n1 '^STATUS=idle; last: host-backup ok' || die "no idle STATUS= after THAW: $(grep STATUS= "$RUN/n1.log")"
states n1 | grep -Eq '^idle .*frozen .*idle $' || die "STATUS= states not idle -> frozen -> idle: $(states n1)"
grep -q '^STOPPING=1$' "$RUN/n1.log" && die "STOPPING=1 before SIGTERM"
stop_daemon
[ "$DAEMON_STATUS" = 0 ] || die "hvvssd exited with $DAEMON_STATUS after SIGTERM"
wait_line n1 '^STOPPING=1$' || die "no STOPPING=1 on SIGTERM: $(tail -n 5 "$RUN/n1.log")"
grep -q '^WATCHDOG=1$' "$RUN/n1.log" && die "WATCHDOG=1 sent without WATCHDOG_USEC"
note "states: $(states n1)"

# 2. The watchdog: WATCHDOG_USEC=2 s, WATCHDOG_PID = the daemon (exec keeps the pid).
fk close
rm -f "$RUN/control"
listen n2
printf '#!/bin/sh\nexport WATCHDOG_PID=$$\nexec %s "$@"\n' "$BIN_DIR/hvvssd" >"$RUN/hvvssd-wd"
chmod 0755 "$RUN/hvvssd-wd"
HVVSSD=$RUN/hvvssd-wd WATCHDOG_USEC=2000000 start_daemon --scope "$WORK/mnt/ext4"
call GetStatus | jq -e --argjson p "$DAEMON_PID" '.pid == $p' >/dev/null ||
	die "the wrapper did not exec hvvssd (WATCHDOG_PID would be wrong): $(call GetStatus | jq .pid) != $DAEMON_PID"
wait_line n2 '^READY=1$' || die "no READY=1 in the watchdog run"
sleep 3
n=$(grep -c '^WATCHDOG=1$' "$RUN/n2.log")
[ "$n" -ge 2 ] || die "$n WATCHDOG=1 ping(s) in the first 3 s with WATCHDOG_USEC=2 s"

fk_expect freeze 60000 ok
probe_blocked "$WORK/mnt/ext4" || die "not frozen"
sleep 3.5
fk_expect thaw 30000 ok
assert_thawed "$WORK/mnt/ext4"
# Pings between the frozen STATUS= and the thawing one: the daemon's loop is alive while frozen.
n=$(awk '/^STATUS=frozen/ { on = 1 } /^STATUS=thawing/ { on = 0 } on && /^WATCHDOG=1$/ { n++ } END { print n + 0 }' "$RUN/n2.log")
[ "$n" -ge 2 ] || die "$n WATCHDOG=1 ping(s) during a 4 s freeze: $(tr '\n' ' ' <"$RUN/n2.log")"
note "$n watchdog pings while frozen"
sleep 2.5
n2=$(awk '/^STATUS=thawing/ { on = 1 } on && /^WATCHDOG=1$/ { n++ } END { print n + 0 }' "$RUN/n2.log")
[ "$n2" -ge 1 ] || die "no WATCHDOG=1 after the thaw"
stop_daemon
[ "$DAEMON_STATUS" = 0 ] || die "hvvssd exited with $DAEMON_STATUS after SIGTERM"
wait_line n2 '^STOPPING=1$' || die "no STOPPING=1 on SIGTERM in the watchdog run"
stop_writers
note PASS
