#!/bin/sh
# install-deps.sh PKG... [--known PKG...]
#
# Install the Debian packages named before --known that are missing. Those
# after --known are only downloaded by the tests (the 6.12 headers and
# kernel, fetched into the cache): they need not be installed, but apt's
# package lists must know them, so apt-get update runs when they do not.
# Used by `make deps` (and so by `make check` / `make demo`): a fresh Debian 12
# machine needs nothing else.
set -eu

missing=
unknown=
mode=install
for pkg in "$@"; do
	if [ "$pkg" = --known ]; then
		mode=known
		continue
	fi
	if [ "$mode" = known ]; then
		apt-cache show --no-all-versions "$pkg" >/dev/null 2>&1 || unknown="$unknown $pkg"
		continue
	fi
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	case "$status" in
	*" installed") ;;
	*) missing="$missing $pkg" ;;
	esac
done
[ -z "$missing$unknown" ] && exit 0

[ -z "$missing" ] || echo "install-deps: missing Debian packages:$missing"
[ -z "$unknown" ] || echo "install-deps: not in apt's package lists (downloaded by the tests):$unknown"
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: not root; run: sudo apt-get update${missing:+ && sudo apt-get install$missing}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q || {
	echo "install-deps: apt-get update failed; check the network and /etc/apt/sources.list" >&2
	exit 1
}
for pkg in $unknown; do
	apt-cache show --no-all-versions "$pkg" >/dev/null 2>&1 || {
		echo "install-deps: $pkg is not in Debian 12's archive after apt-get update; check /etc/apt/sources.list (bookworm main)" >&2
		exit 1
	}
done
[ -z "$missing" ] && exit 0
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -q --no-install-recommends $missing
