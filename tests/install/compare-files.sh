#!/bin/sh
# compare-files.sh OUT_DIR
#
# The .rpm packages must install the same files as the .deb packages
# (make-packages.sh output in OUT_DIR), package by package, apart from
# these documented differences:
#   - Debian 12 installs systemd and udev files under /lib, Fedora under
#     /usr/lib: /lib/ is read as /usr/lib/;
#   - Debian ships /usr/share/doc/PKG/copyright and changelog.gz (policy),
#     the RPM has its changelog in the header: both are ignored;
#   - dh_compress gzips larger docs (README.md.gz), rpm does not: a .gz
#     suffix under /usr/share/doc is ignored;
#   - Debian's lintian overrides (/usr/share/lintian/overrides/) and rpm's
#     build-id links (/usr/lib/.build-id/) belong to one format only;
#   - the RPM also ships the drop-in that keeps the distribution's VSS
#     daemon off the device under Fedora's unit name,
#     hypervvssd.service.d/hyperv-vss.conf (Debian's is hv-vss-daemon);
#   - each follows its distribution's place for a packaged policy module:
#     Debian /usr/share/selinux/default/ (its policy store "default", as
#     selinux-policy-default), Fedora /usr/share/selinux/packages/targeted/
#     (store "targeted"); the interface file under devel/include/contrib/
#     (Debian's selinux-policy-dev has no directory for it) and
#     devel/include/distributed/ (the Fedora guidelines' place): both are
#     read as /usr/share/selinux/STORE/ and devel/include/THIRD-PARTY/.
# Directories are not compared (dpkg lists every one, rpm only owned ones).
set -eu
[ $# -eq 1 ] || { echo "usage: compare-files.sh OUT_DIR" >&2; exit 2; }
out=$1
rc=0

normalize() {
	sed -e 's|^/lib/|/usr/lib/|' \
		-e '\|^/usr/share/doc/[^/]*/copyright$|d' \
		-e '\|^/usr/share/doc/[^/]*/changelog\.gz$|d' \
		-e '\|^/usr/share/doc/.*\.gz$|s|\.gz$||' \
		-e '\|^/usr/share/lintian/overrides/|d' \
		-e '\|^/usr/lib/\.build-id/|d' \
		-e '\|^/usr/lib/systemd/system/hypervvssd\.service\.d/hyperv-vss\.conf$|d' \
		-e 's|^/usr/share/selinux/default/|/usr/share/selinux/STORE/|' \
		-e 's|^/usr/share/selinux/packages/targeted/|/usr/share/selinux/STORE/|' \
		-e 's|^/usr/share/selinux/devel/include/contrib/|/usr/share/selinux/devel/include/THIRD-PARTY/|' \
		-e 's|^/usr/share/selinux/devel/include/distributed/|/usr/share/selinux/devel/include/THIRD-PARTY/|' |
		LC_ALL=C sort
}

for pkg in hyperv-vss hyperv-vss-dkms hyperv-vss-selinux; do
	set -- "$out/${pkg}_"*.deb
	deb=$1
	set -- "$out/$pkg-"[0-9]*.rpm
	rpm=$1
	[ -f "$deb" ] && [ -f "$rpm" ] || { echo "not ok - $pkg: .deb or .rpm missing in $out"; rc=1; continue; }
	dpkg-deb --fsys-tarfile "$deb" | tar -tvf - | awk '$1 !~ /^d/ { print $6 }' |
		sed 's|^\./|/|' | normalize >"$out/$pkg.deb-files"
	rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$rpm" 2>/dev/null |
		awk '$1 !~ /^d/ { print $2 }' | normalize >"$out/$pkg.rpm-files"
	if diff -u "$out/$pkg.deb-files" "$out/$pkg.rpm-files" >"$out/$pkg.files.diff"; then
		echo "ok - $pkg: the .rpm installs the same $(wc -l <"$out/$pkg.deb-files") files as the .deb"
	else
		echo "not ok - $pkg: file lists differ (- deb, + rpm):"
		sed 's/^/# /' "$out/$pkg.files.diff"
		rc=1
	fi
done
exit $rc
