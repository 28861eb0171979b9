#!/bin/sh
# fc-test.sh SRCDIR BUILDDIR LINKED_DIR: hvvss.fc parses and packages, its
# contexts are valid in the policy link-policy.sh linked it into, and the
# paths it must label get their types. TAP output.
set -u

src=$1
build=$2
linked=$3
work=$build/fc-test
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }

rm -rf "$work"
mkdir -p "$work"

# 1. The package: unpack module and file contexts, package them again
#    (semodule_package rejects file contexts it cannot parse).
if semodule_unpackage "$build/hvvss.pp" "$work/hvvss.mod" "$work/hvvss.fc.out" 2>"$work/err"; then
        ok "hvvss.pp unpacks (module + file contexts)"
else
        notok "hvvss.pp unpacks"; sed 's/^/#   /' "$work/err"
fi
if semodule_package -o "$work/repack.pp" -m "$work/hvvss.mod" -f "$work/hvvss.fc.out" 2>"$work/err"; then
        ok "semodule_package accepts the file contexts"
else
        notok "semodule_package accepts the file contexts"; sed 's/^/#   /' "$work/err"
fi
if cmp -s "$work/hvvss.fc.out" /dev/null; then
        notok "file contexts not empty"
else
        ok "file contexts not empty ($(grep -v '^#' "$work/hvvss.fc.out" | grep -c .) entries)"
fi
# Every entry of the source is in the package.
missing=$(grep -v '^\s*#' "$src/hvvss.fc" | awk 'NF { print $1 }' | while read -r re; do
        grep -qF "$re" "$work/hvvss.fc.out" || echo "$re"
done)
if [ -z "$missing" ]; then ok "every hvvss.fc entry packaged"; else notok "entries missing: $missing"; fi

# 2. Linked into the full policy: contexts valid, paths labelled.
if [ -f "$linked/skip" ]; then
        echo "# not linked: $(cat "$linked/skip")"
        echo "1..$n"
        exit "$fail"
fi
pol=$(cat "$linked/policy-path")
fcdir=$(dirname "$(dirname "$pol")")/contexts/files
fc=$fcdir/file_contexts
if grep -v '^\s*#' "$fc" | grep hvvss > "$work/ours" && setfiles -c "$pol" "$work/ours" 2>"$work/err"; then
        ok "setfiles -c: every hvvss context is valid in the linked policy"
else
        notok "setfiles -c"; sed 's/^/#   /' "$work/err"
fi

check() {   # PATH MODE TYPE
        got=$(matchpathcon -m "$2" -f "$fc" "$1" 2>&1 | awk '{ print $2 }')
        case $got in
        *:"$3":*) ok "$1 ($2) -> $3" ;;
        *) notok "$1 ($2) -> $3, got '$got'" ;;
        esac
}
# matchpathcon -f needs the .subs files beside file_contexts (they are).
check /usr/sbin/hvvssd file hvvssd_exec_t
check /etc/hyperv-vss dir hvvssd_conf_t
check /etc/hyperv-vss/hvvssd.conf file hvvssd_conf_t
check /etc/hyperv-vss/hooks.d dir hvvssd_hook_exec_t
check /etc/hyperv-vss/hooks.d/10-database file hvvssd_hook_exec_t
check /run/hyperv-vss dir hvvssd_runtime_t
check /run/hyperv-vss/control socket hvvssd_runtime_t
check /var/run/hyperv-vss/control socket hvvssd_runtime_t
check /usr/lib/systemd/system/hvvssd.service file hvvssd_unit_file_t
check /lib/systemd/system/hvvssd.service file hvvssd_unit_file_t
check /usr/sbin/hvvssctl file bin_t
check /dev/vmbus/hv_vss chr_file hyperv_vss_device_t
check /etc/hyperv-vssX file etc_t

echo "1..$n"
exit "$fail"
