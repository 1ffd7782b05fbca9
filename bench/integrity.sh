#!/usr/bin/env bash
# The cost of the start-up integrity check (docs/integrity.md, docs/benchmarks.md) for the
# release binary: a data directory sealed on a first start, then `rampart integrity verify`
# RUNS times — the check `rampart up` runs before any listener opens (read and verify the
# signed manifest, read the sequence floor from the audit trail, measure the binary, the
# configuration, the policy, the trust anchors and pki/).
#
#     bench/integrity.sh [RUNS]     (default 21; builds target/release/rampart if missing)
#
# Prints the release binary's size, the in-process time of the check (as `verify` reports
# it) and the wall time of the whole command (process start, opening the data directory and
# the audit trail, unsealing the device key), each as a median.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-21}
bin=target/release/rampart
[ -x "$bin" ] || cargo build --release -p rampart
work=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
printf '[secure]\nlisten = "127.0.0.1:0"\n[management]\nlisten = "127.0.0.1:0"\n' >"$work/gw.toml"
"$bin" up --data "$work/data" --config "$work/gw.toml" >"$work/up.log" 2>&1 &
pid=$!
for _ in $(seq 600); do
    grep -q "SIGHUP reloads the policy" "$work/up.log" && break
    sleep 0.1
done
grep -q "trust on first use" "$work/up.log" || { cat "$work/up.log"; exit 1; }
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "binary: $(stat -c %s "$bin") bytes ($bin)"
: >"$work/inproc"
: >"$work/wall"
for _ in $(seq "$runs"); do
    t0=$(date +%s%N)
    out=$("$bin" integrity verify --data "$work/data" --config "$work/gw.toml")
    t1=$(date +%s%N)
    echo "$out" | sed -n 's/.* in \([0-9.]*\) ms$/\1/p' >>"$work/inproc"
    echo "scale=1; ($t1 - $t0) / 1000000" | bc >>"$work/wall"
done
echo "runs: $runs"
echo "check in process (median): $(median <"$work/inproc") ms"
echo "whole command, wall (median): $(median <"$work/wall") ms"
