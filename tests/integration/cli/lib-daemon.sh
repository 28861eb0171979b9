# Runs the real hvvssd, scoped to loop filesystems this script creates, with
# the fake kernel end as its device. Sourced (bash) by run-cli-daemon.sh and
# tools/demo.sh --quick. Needs root, losetup, mkfs.ext4, mkfs.xfs.
#
#   daemon_setup HVVSSD FAKE_KERNEL    sets WORK, M_EXT4, M_XFS, SOCK, STATE,
#                                      HOOKS, RUNDIR; starts the fake kernel
#                                      end and hvvssd; waits for its socket
#   fk COMMAND...                      one command to the fake kernel end
#   fk_wait_reply TIMEOUT_MS           sets FK_REPLY to the reply line ("reply ok", ...)
#   writer_start / writer_count        the demo application (see writer.sh)
#   daemon_teardown                    always: thaw OUR mounts, stop, unmount
#
# SAFETY: only mounts below $WORK (a fresh mktemp dir) are ever created,
# scoped, frozen or thawed; hvvssd always gets --scope for exactly those two.
# daemon_teardown runs from an EXIT/INT/TERM trap and thaws them first.

LIBDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=
DAEMON_PID=
FK_PID=
WRITER_PID=
LOOPS=()
MOUNTED=()

_ours() { case "$1" in "$WORK"/*) mountpoint -q -- "$1" ;; *) return 1 ;; esac; }

daemon_teardown() {
	local m i
	set +e
	[ -n "$WORK" ] || return 0
	# Thaw first, whatever state things are in (EINVAL when not frozen is fine).
	for m in "${MOUNTED[@]}"; do _ours "$m" && fsfreeze -u "$m" 2>/dev/null; done
	[ -n "$WRITER_PID" ] && kill "$WRITER_PID" 2>/dev/null && wait "$WRITER_PID" 2>/dev/null
	if [ -n "$DAEMON_PID" ]; then
		kill -TERM "$DAEMON_PID" 2>/dev/null
		for i in $(seq 50); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
	fi
	for m in "${MOUNTED[@]}"; do _ours "$m" && fsfreeze -u "$m" 2>/dev/null; done
	exec 7>&- 2>/dev/null
	[ -n "$FK_PID" ] && kill "$FK_PID" 2>/dev/null && wait "$FK_PID" 2>/dev/null
	for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
		_ours "${MOUNTED[i]}" && umount "${MOUNTED[i]}"
	done
	for m in "${LOOPS[@]}"; do losetup -d "$m" 2>/dev/null; done
	case "$WORK" in /tmp/hvvss-*.??????) rm -rf "$WORK" ;; esac
	WORK= DAEMON_PID= FK_PID= WRITER_PID= LOOPS=() MOUNTED=()
}

_mkfs_mount() { # TYPE SIZE_MB MOUNTPOINT
	local img=$WORK/$1.img dev
	truncate -s "${2}M" "$img" || return 1
	if [ "$1" = xfs ]; then mkfs.xfs -q "$img"; else mkfs.ext4 -q -F "$img"; fi || return 1
	dev=$(losetup -f --show "$img") || return 1
	LOOPS+=("$dev")
	mkdir -p "$3"
	mount -t "$1" "$dev" "$3" || return 1
	MOUNTED+=("$3")
}

daemon_setup() { # HVVSSD FAKE_KERNEL [WORK_PREFIX]
	local hvvssd=$1 fake_kernel=$2 i
	[ "$(id -u)" = 0 ] || { echo "needs root (loop mounts, FIFREEZE)" >&2; return 1; }
	for t in losetup mkfs.ext4 mkfs.xfs fsfreeze mountpoint truncate; do
		command -v "$t" >/dev/null || { echo "$t not found: apt-get install util-linux e2fsprogs xfsprogs" >&2; return 1; }
	done
	WORK=$(mktemp -d "/tmp/hvvss-${3:-cli}.XXXXXX") || return 1
	chmod 0755 "$WORK"
	M_EXT4=$WORK/mnt/ext4 M_XFS=$WORK/mnt/xfs
	SOCK=$WORK/control STATE=$WORK/state HOOKS=$WORK/hooks.d RUNDIR=$WORK/run
	mkdir -p "$STATE" "$HOOKS" "$RUNDIR"
	_mkfs_mount ext4 64 "$M_EXT4" && _mkfs_mount xfs 300 "$M_XFS" || { echo "cannot create loop filesystems" >&2; return 1; }
	# The frozen-state records must live on tmpfs (never frozen).
	mount -t tmpfs -o size=1m,mode=0755 hvvss-state "$STATE" && MOUNTED+=("$STATE") || return 1
	cat >"$WORK/hvvssd.conf" <<CONF
hooks_dir = $HOOKS
hook_timeout = 10s
max_frozen_time = 60s
CONF

	mkfifo "$WORK/fk.in"
	exec 7<>"$WORK/fk.in"
	"$fake_kernel" "$WORK/device" <"$WORK/fk.in" >"$WORK/fk.out" 2>&1 &
	FK_PID=$!
	for i in $(seq 50); do grep -q listening "$WORK/fk.out" 2>/dev/null && break; sleep 0.1; done
	fk register 30000

	"$hvvssd" --foreground --config "$WORK/hvvssd.conf" --scope "$M_EXT4" --scope "$M_XFS" \
		--device "$WORK/device" --socket "$SOCK" --state-dir "$STATE" >"$WORK/hvvssd.log" 2>&1 &
	DAEMON_PID=$!
	for i in $(seq 100); do
		[ -S "$SOCK" ] && grep -q registered "$WORK/fk.out" && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "hvvssd did not come up; its log:" >&2
	sed 's/^/  /' "$WORK/hvvssd.log" >&2
	return 1
}

fk() { echo "$*" >&7; }

# Waits for the next "reply ..." line of the fake kernel end after the last
# one seen; sets FK_REPLY ("reply ok", "reply fail", ..., "reply none").
# Not in a subshell: it counts the replies seen.
FK_SEEN=0
FK_REPLY=
fk_wait_reply() { # TIMEOUT_MS
	local i line
	fk wait-reply "$1"
	for i in $(seq $(($1 / 100 + 20))); do
		line=$(grep '^reply' "$WORK/fk.out" | sed -n "$((FK_SEEN + 1))p")
		if [ -n "$line" ]; then
			FK_SEEN=$((FK_SEEN + 1))
			FK_REPLY=$line
			return 0
		fi
		sleep 0.1
	done
	FK_REPLY="reply none"
	return 1
}

# The demo application: appends a numbered line to app.log on both
# filesystems every 0.1 s, and pauses while $RUNDIR/writer.pause exists.
install_writer_hook() {
	cat >"$HOOKS/10-writer" <<HOOK
#!/bin/sh
# Quiesce the demo writer: pause it before the freeze, resume it after the thaw.
case "\$1" in
freeze)
	touch $RUNDIR/writer.pause
	i=0
	while [ ! -e $RUNDIR/writer.paused ] && [ \$i -lt 50 ]; do sleep 0.1; i=\$((i + 1)); done
	echo "writer paused after \$(cat $RUNDIR/writer.count 2>/dev/null || echo 0) writes"
	;;
thaw)
	rm -f $RUNDIR/writer.pause
	echo "writer resumed"
	;;
esac
HOOK
	chmod 0755 "$HOOKS/10-writer"
}

writer_start() {
	(
		n=0
		while :; do
			if [ -e "$RUNDIR/writer.pause" ]; then
				touch "$RUNDIR/writer.paused"
				sleep 0.05
				continue
			fi
			rm -f "$RUNDIR/writer.paused"
			n=$((n + 1))
			echo "write $n" >>"$M_EXT4/app.log"
			echo "write $n" >>"$M_XFS/app.log"
			# Readers poll the count: write it whole (rename), never truncated.
			echo "$n" >"$RUNDIR/writer.count.new" && mv -f "$RUNDIR/writer.count.new" "$RUNDIR/writer.count"
			sleep 0.1
		done
	) &
	WRITER_PID=$!
}
writer_count() { cat "$RUNDIR/writer.count" 2>/dev/null || echo 0; }
