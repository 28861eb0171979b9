# Sourced by the scripts that download Debian packages into the per-user
# cache once (tests/vm/fetch-kernel.sh, tools/fetch-headers.sh).
#
# cache_enter NAME [SUFFIX]: sets CACHE_DIR to $HVVSS_CACHE/NAME (default
# cache root ${XDG_CACHE_HOME:-$HOME/.cache}/hyperv-vss). If that entry is
# complete, prints its path (plus SUFFIX, a path inside it) and exits 0. Otherwise takes the entry's lock (fd 9; two callers
# at once are safe), checks again, and returns with CACHE_WORK (a scratch
# directory apt's _apt user can write) and CACHE_STAGE (where to build the
# entry) set, both removed on exit. cache_commit moves the stage into place
# and writes the stamp last, so a half-built entry is never used.

cache_enter() {
	CACHE_ROOT=${HVVSS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hyperv-vss}
	CACHE_DIR=$CACHE_ROOT/$1
	CACHE_STAMP=$CACHE_DIR/.complete
	CACHE_SUFFIX=${2:-}
	# Fast path without the lock: the stamp is written only after everything.
	if [ -f "$CACHE_STAMP" ]; then
		printf '%s%s\n' "$CACHE_DIR" "$CACHE_SUFFIX"
		exit 0
	fi
	mkdir -p "$CACHE_ROOT" || {
		echo "$prog: cannot create cache directory $CACHE_ROOT; set HVVSS_CACHE to a writable directory" >&2
		exit 1
	}
	exec 9>"$CACHE_ROOT/.$1.lock"
	if ! flock -w 900 9; then
		echo "$prog: timed out waiting for the lock $CACHE_ROOT/.$1.lock held by another fetch; remove it if no fetch is running" >&2
		exit 1
	fi
	# Someone else may have finished while we waited.
	if [ -f "$CACHE_STAMP" ]; then
		printf '%s%s\n' "$CACHE_DIR" "$CACHE_SUFFIX"
		exit 0
	fi
	CACHE_WORK=$(mktemp -d "${TMPDIR:-/tmp}/hvvss-$1.XXXXXX")
	# apt drops privileges to _apt for the download: give it a directory it
	# can write, or it falls back to an unsandboxed download with a warning.
	chmod 777 "$CACHE_WORK"
	CACHE_STAGE=$CACHE_ROOT/.$1.stage.$$
	rm -rf "$CACHE_STAGE"
	trap 'rm -rf "$CACHE_WORK" "$CACHE_STAGE"' EXIT
	trap 'exit 1' INT TERM HUP
}

# cache_download PKG...: apt-get download each package into CACHE_WORK.
cache_download() {
	for p in "$@"; do
		echo "$prog: downloading $p (first use only)" >&2
		if ! (cd "$CACHE_WORK" && apt-get download -q "$p") >"$CACHE_WORK/apt.log" 2>&1; then
			cat "$CACHE_WORK/apt.log" >&2
			echo "$prog: cannot download $p with apt-get download; this needs a Debian mirror once (try 'apt-get update')" >&2
			return 1
		fi
	done
}

# cache_commit DIR: DIR (inside CACHE_STAGE) becomes the entry; prints its
# path (plus SUFFIX).
cache_commit() {
	rm -rf "$CACHE_DIR"
	mv "$1" "$CACHE_DIR"
	date -u +%Y-%m-%dT%H:%M:%SZ >"$CACHE_STAMP"
	printf '%s%s\n' "$CACHE_DIR" "$CACHE_SUFFIX"
}
