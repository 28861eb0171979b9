#!/bin/bash
# SIGHUP reloads the configuration: a mount excluded by exclude_mounts is
# skipped (excluded-mount) until the exclusion is removed and SIGHUP sent,
# then both are freeze targets. A file with an error on SIGHUP is reported
# as FILE:LINE and ignored as a whole: the running configuration stays,
# and the daemon keeps serving the host.
. "$(dirname "$0")/lib.sh"

mkext4 a; mkext4 b
A=$WORK/mnt/a B=$WORK/mnt/b
conf exclude_mounts "$B"
start_fk
start_daemon --scope "$A" --scope "$B"

# mount_is MP DECISION [REASON]: ListMounts says so for MP.
mount_is() {
	call ListMounts | jq -e --arg m "$1" --arg d "$2" --arg r "${3:-}" \
		'[.mounts[] | select(.mount_point == $m and .decision == $d and ($r == "" or .reason == $r))] | length == 1' >/dev/null
}
# ours_listed: ListMounts reduced to our two mounts, for the failure messages.
ours_listed() {
	call ListMounts | jq -c --arg a "$A" --arg b "$B" \
		'[.mounts[] | select(.mount_point == $a or .mount_point == $b) | {mount_point, decision, reason}]'
}

mount_is "$A" freeze || die "a is not a freeze target: $(ours_listed)"
mount_is "$B" skip excluded-mount || die "b is not skipped as excluded-mount: $(ours_listed)"
call GetStatus | jq -e '.max_frozen_time_s == 60' >/dev/null || die "default max_frozen_time: $(call GetStatus)"

# Without the exclusion (and another max_frozen_time): both are targets after SIGHUP.
echo "hooks_dir = $HOOKS" >"$CONF"
conf max_frozen_time 30s
kill -HUP "$DAEMON_PID"
wait_for mount_is "$B" freeze || die "b is not a freeze target after SIGHUP: $(ours_listed)"
mount_is "$A" freeze || die "a is no longer a freeze target after SIGHUP: $(ours_listed)"
call GetStatus | jq -e '.max_frozen_time_s == 30' >/dev/null || die "max_frozen_time not reloaded: $(call GetStatus)"
grep -q "configuration reloaded" "$RUN/daemon.log" || die "the reload is not logged"

# A file with an error on line 3: reported with file:line, ignored as a whole
# (the exclusion on line 2 must not take effect either).
echo "hooks_dir = $HOOKS" >"$CONF"
conf exclude_mounts "$B"
conf max_frozen_time banana
kill -HUP "$DAEMON_PID"
wait_for grep -q "not reloaded, keeping the running configuration" "$RUN/daemon.log" ||
	die "the bad configuration is not reported as ignored"
grep -E "error: $CONF:3: .*max_frozen_time" "$RUN/daemon.log" >/dev/null ||
	die "no error line naming $CONF:3 and the key"
kill -0 "$DAEMON_PID" 2>/dev/null || die "hvvssd died on a bad configuration"
mount_is "$B" freeze || die "b is skipped after a rejected reload (partly applied): $(ours_listed)"
mount_is "$A" freeze || die "a is not a freeze target after a rejected reload: $(ours_listed)"
call GetStatus | jq -e '.max_frozen_time_s == 30 and .device_state == "registered"' >/dev/null ||
	die "the running configuration was not kept: $(call GetStatus)"

# And it still serves the host, with both filesystems.
host_cycle "after the rejected reload" "$B" "$A" "$B"
stop_clean
note PASS
