#!/usr/bin/env bash
# The robustness run of issue #19 (docs/probe.md, "Robustness"): `rampart up` with its
# default policy and the plain listener on, then every storm `rampart probe` has against each
# of its three interfaces, while the essential function — holding register 0 of unit 1,
# read through the Modbus/TCP Security port with the `operator` certificate (the HMI) — is
# polled every 100 ms. The storms come from 127.0.0.2 with the `viewer` certificate (another
# source, another identity), so the gateway's per-source and per-client limits see them
# apart from the HMI, as they would see an attacker on the plant network.
#
#     bench/robustness.sh [OUT.json]   (builds target/release/rampart if missing)
#
# Prints one line per storm and target: outcome, missed polls, p50/p99 unloaded and under
# load, recovery time, and writes the evidence to OUT.json (default bench/out/robustness.json).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/out/robustness.json}
bin=target/release/rampart
[ -x "$bin" ] || cargo build --release -p rampart
mkdir -p "$(dirname "$out")"
work=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
cat >"$work/gw.toml" <<'TOML'
[secure]
listen = "127.0.0.1:0"
[management]
listen = "127.0.0.1:0"
[plain]
enabled = true
listen = "127.0.0.1:0"
role = "viewer"
TOML
"$bin" up --data "$work/data" --config "$work/gw.toml" >"$work/up.log" 2>&1 &
pid=$!
for _ in $(seq 600); do
    grep -q "SIGHUP reloads the policy" "$work/up.log" && break
    sleep 0.1
done
addr() { grep "$1" "$work/up.log" | head -1 | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^(https:\/\/)?127\.0\.0\.1:[0-9]+\/?$/) { sub("https://", "", $i); sub("/$", "", $i); print $i; exit } }'; }
secure=$(addr "Modbus/TCP Security")
plain=$(addr "plain Modbus/TCP")
management=$(addr "management (HTTPS)")
clients="$work/data/pki/clients"
storms=storm-connections,storm-tls-handshakes,storm-slow-requests,storm-malformed-frames,storm-pipelined-requests
status=0
"$bin" probe "modbus-tls://$secure" "https://$management" "modbus://$plain" \
    --intrusive --checks "$storms" \
    --client-cert "$clients/viewer.crt" --client-key "$clients/viewer.key" \
    --monitor "modbus-tls://$secure" --monitor-register 1/0 \
    --monitor-cert "$clients/operator.crt" --monitor-key "$clients/operator.key" \
    --storm-from 127.0.0.2 --format json --out "$out" >/dev/null || status=$?
python3 - "$out" <<'PY'
import json, sys
evidence = json.load(open(sys.argv[1]))
print(f"{'storm':26} {'target':8} {'outcome':8} {'missed':>6} {'p50 idle':>9} {'p99 idle':>9} {'p50 load':>9} {'p99 load':>9} {'recovery':>9}")
for c in evidence["checks"]:
    d = c["details"]
    scheme = c["target"].split(":")[0]
    b, u = d.get("baseline", {}), d.get("under_load", {})
    f = lambda v: "-" if v is None else f"{v:.2f}"
    print(f"{c['id']:26} {scheme:8} {c['outcome']:8} {d.get('missed_polls', '-'):>6} "
          f"{f(b.get('p50_ms')):>9} {f(b.get('p99_ms')):>9} {f(u.get('p50_ms')):>9} "
          f"{f(u.get('p99_ms')):>9} {f(d.get('recovery_ms')):>9}")
PY
echo "exit status of rampart probe: $status (0: every storm met)"
