#!/bin/bash
# h) Peer-credential authorization. The daemon's read group is "nogroup"
# here (--control-group: the test must not create system groups).
#  - nobody without the group cannot even connect (socket 0660);
#  - with the socket opened up (0666) it is refused by the daemon: NotPermitted;
#  - a member of the group may GetStatus/ListMounts/GetHistory but not TestFreeze or Thaw;
#  - root may TestFreeze.
. "$(dirname "$0")/lib.sh"

mkext4 ext4
start_fk
start_daemon --scope "$WORK/mnt/ext4" --control-group nogroup
gid=$(getent group nogroup | cut -d: -f3)
[ -n "$gid" ] || die "group nogroup missing"
stat -c '%a %g' "$RUN/control" | grep -q "^660 $gid$" || die "socket mode/group: $(stat -c '%a %g' "$RUN/control")"
as_stranger() { setpriv --reuid=65534 --regid=54321 --clear-groups "$CALL" "$RUN/control" "$@"; }
as_member() { setpriv --reuid=65534 --regid="$gid" --clear-groups "$CALL" "$RUN/control" "$@"; }

out=$(as_stranger GetStatus 2>/dev/null); [ $? = 2 ] && echo "$out" | grep -q "Permission denied" ||
	die "a stranger could connect: $out"
chmod 0666 "$RUN/control"
out=$(as_stranger GetStatus); [ $? = 3 ] && echo "$out" | grep -q "^error io.hypervvss.NotPermitted" ||
	die "a stranger was not refused: $out"
out=$(as_stranger TestFreeze); echo "$out" | grep -q "^error io.hypervvss.NotPermitted" || die "stranger TestFreeze: $out"
chmod 0660 "$RUN/control"

for m in GetStatus ListMounts ListFrozen GetHistory ListHooks; do
	out=$(as_member "$m") || die "group member $m refused: $out"
done
out=$(as_member TestFreeze '{"hold_s":0}'); echo "$out" | grep -q "^error io.hypervvss.NotPermitted" || die "member TestFreeze: $out"
out=$(as_member Thaw); echo "$out" | grep -q "^error io.hypervvss.NotPermitted" || die "member Thaw: $out"
call GetHistory | jq -e '[.operations[] | select(.kind == "test-freeze")] | length == 0' >/dev/null || die "a refused test freeze ran"

out=$(call TestFreeze '{"hold_s":0.5,"hooks":false}') || die "root TestFreeze: $out"
echo "$out" | jq -e '.event == "done" and .operation.result == "ok"' >/dev/null || die "root TestFreeze: $out"
assert_thawed "$WORK/mnt/ext4"
note PASS
