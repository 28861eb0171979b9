#!/bin/sh
# lint-packages.sh OUT_DIR
#
# lintian on the .changes and rpmlint (with rpm/hyperv-vss.rpmlintrc, whose
# every filter is justified there) on the .rpm files that make-packages.sh
# left in OUT_DIR. The reports go to OUT_DIR/lintian.txt and rpmlint.txt
# and to stdout; any error or warning fails.
set -eu
[ $# -eq 1 ] || { echo "usage: lint-packages.sh OUT_DIR" >&2; exit 2; }
src=$(cd "$(dirname "$0")/../.." && pwd)
out=$1
set -- "$out"/hyperv-vss_*.changes
[ -f "$1" ] || { echo "lint-packages: no .changes in $out (make packages)" >&2; exit 1; }

rc=0
# lintian warns when run as root; that line is not a finding.
lintian --fail-on error,warning -I --pedantic "$1" 2>&1 |
	grep -v '^running with root privileges is not recommended!$' >"$out/lintian.txt" || true
lintian --fail-on error,warning "$1" >/dev/null 2>&1 || rc=1
rpmlint -r "$src/rpm/hyperv-vss.rpmlintrc" "$out"/*.rpm >"$out/rpmlint.txt" 2>&1 || rc=1
echo "lintian (errors, warnings, info, pedantic):"
sed 's/^/  /' "$out/lintian.txt"
echo "rpmlint:"
sed 's/^/  /' "$out/rpmlint.txt"
[ "$rc" -eq 0 ] || { echo "lint-packages: lintian or rpmlint found errors or warnings" >&2; exit 1; }
