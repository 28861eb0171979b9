#!/bin/sh
# link-policy.sh MODULE.pp OUTDIR
#
# Link MODULE.pp into a copy of the installed policy store (Debian:
# selinux-policy-default) and build the binary policy and file_contexts
# from it, without touching the host's store or the running kernel:
#   OUTDIR/root/etc/selinux/$TYPE/policy/policy.NN
#   OUTDIR/root/etc/selinux/$TYPE/contexts/files/file_contexts
# Writes the binary policy's path to OUTDIR/policy-path and prints it.
# Exit 77 (skip) when no store exists (then OUTDIR/skip says why).
set -eu

pp=$1
out=$2
type=${HVVSS_POLICY_TYPE:-default}

skip() { echo "$1" > "$out/skip"; echo "SKIP: $1" >&2; exit 77; }

rm -rf "$out"
mkdir -p "$out"
[ -d "/var/lib/selinux/$type" ] && [ -d "/etc/selinux/$type" ] ||
        skip "no policy store /var/lib/selinux/$type: install selinux-policy-default"
command -v semodule >/dev/null || skip "semodule missing: install policycoreutils"

mkdir -p "$out/root/etc" "$out/root/var/lib/selinux"
cp -a "/etc/selinux" "$out/root/etc/"
cp -a "/var/lib/selinux/$type" "$out/root/var/lib/selinux/"
# -n: no reload (the host need not run SELinux); -p: the copy, not the host.
semodule -p "$out/root" -s "$type" -n -i "$pp" 2>"$out/semodule.log" || {
        cat "$out/semodule.log" >&2
        exit 1
}
pol=$(ls "$out/root/etc/selinux/$type/policy/"policy.* | sort -V | tail -n 1)
echo "$pol" > "$out/policy-path"
echo "$pol"
