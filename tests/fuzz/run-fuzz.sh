#!/bin/sh
# Run the libFuzzer target for a fixed time on a copy of the seed corpus in
# a temporary directory (the source and build trees are never written,
# except crash artifacts, kept in ARTIFACT_DIR for fuzz-replay).
# Usage: run-fuzz.sh FUZZER SEED_DIR ARTIFACT_DIR SECONDS
set -eu
fuzzer=$1 seeds=$2 artifacts=$3 secs=$4
[ -x "$fuzzer" ] || { echo "run-fuzz: $fuzzer is not built" >&2; exit 1; }
[ -n "$(ls -A "$seeds" 2>/dev/null)" ] || {
	echo "run-fuzz: no seeds in $seeds" >&2; exit 1; }
corpus=$(mktemp -d "${TMPDIR:-/tmp}/hvvss-fuzz.XXXXXX")
trap 'rm -rf "$corpus"' EXIT INT TERM
cp "$seeds"/* "$corpus"/
mkdir -p "$artifacts"
# -max_len above HVVSS_MAX_PKT_LEN so the too-long path is explored too.
"$fuzzer" -max_total_time="$secs" -max_len=20000 -timeout=10 \
	-print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus"
