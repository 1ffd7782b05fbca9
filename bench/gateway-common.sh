# Shared by bench/gateway.sh and bench/gateway-idle.sh (sourced, not run): building, a
# scratch directory cleaned up on exit, the register bank, and `rampart up` in front of it.
# Everything listens on loopback; every process started here is stopped on exit.

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# RAMPART_BIN and LOADGEN_BIN run other builds (an A/B); NO_BUILD=1 skips the build.
rampart=${RAMPART_BIN:-target/release/rampart}
loadgen=${LOADGEN_BIN:-target/release/examples/loadgen}

build() {
  [ -z "${NO_BUILD:-}" ] || return 0
  cargo build --release --locked -p rampart >/dev/null
  cargo build --release --locked --example loadgen -p rampart-gateway >/dev/null
}

work=$(mktemp -d "${TMPDIR:-/tmp}/rampart-bench.XXXXXX")
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for FILE PATTERN SECONDS: waits until FILE holds a line matching PATTERN.
wait_for() {
  local file=$1 pattern=$2 limit=$3 waited=0
  until grep -q -- "$pattern" "$file" 2>/dev/null; do
    sleep 0.1
    waited=$((waited + 1))
    if [ "$waited" -ge $((limit * 10)) ]; then
      echo "timed out waiting for '$pattern' in $file:" >&2
      cat "$file" >&2 || true
      exit 1
    fi
  done
}

# wait_listening PORT SECONDS: waits until something listens on 127.0.0.1:PORT.
wait_listening() {
  local port=$1 limit=$2 waited=0
  until ss -Hltn "sport = :$port" | grep -q .; do
    sleep 0.1
    waited=$((waited + 1))
    if [ "$waited" -ge $((limit * 10)) ]; then
      echo "nothing listens on port $port after ${limit}s" >&2
      exit 1
    fi
  done
}

# start_bank: the register bank on a free port; sets bank_port and bank_pid.
start_bank() {
  bank_port=$(free_port)
  "$loadgen" serve --listen "127.0.0.1:$bank_port" >"$work/bank.log" 2>&1 &
  bank_pid=$!
  pids+=("$bank_pid")
  wait_for "$work/bank.log" '^listening' 10
}

# start_rampart [CONFIG LINES...]: `rampart up` with the bank as upstream over
# UPSTREAM_CONNECTIONS (default 4) connections of UPSTREAM_PIPELINE (default 8) requests in
# flight each, the default policy with the request rate raised (see below), and DATA in
# $work/data$RAMPART_NAME (RAMPART_NAME, default empty, tells several instances apart);
# extra lines are appended to the [limits] section. Sets rampart_port, rampart_pid and data.
start_rampart() {
  local name=${RAMPART_NAME:-}
  data=$work/data$name
  rampart_port=$(free_port)
  local management_port
  management_port=$(free_port)
  # The default policy (viewer reads everything) with the per-client token bucket raised
  # from 200 to 1,000,000 requests/s: this measures throughput, not the rate limit. All K
  # connections use one certificate, i.e. one client and one bucket.
  sed -e 's/^requests_per_second = .*/requests_per_second = 1000000/' \
      -e 's/^burst = .*/burst = 1000000/' \
      crates/conduit/policies/default.toml >"$work/policy$name.toml"
  grep -q '^requests_per_second = 1000000' "$work/policy$name.toml"
  {
    echo '[secure]'
    echo "listen = \"127.0.0.1:$rampart_port\""
    echo '[policy]'
    echo "file = \"policy$name.toml\""
    echo '[upstream]'
    echo "address = \"127.0.0.1:$bank_port\""
    echo "connections = ${UPSTREAM_CONNECTIONS:-4}"
    echo "pipeline = ${UPSTREAM_PIPELINE:-8}"
    echo '[limits]'
    printf '%s\n' "$@"
    echo '[management]'
    echo "listen = \"127.0.0.1:$management_port\""
  } >"$work/gateway$name.toml"
  "${RAMPART_BIN:-$rampart}" up --config "$work/gateway$name.toml" --data "$data" >"$work/rampart$name.log" 2>&1 &
  rampart_pid=$!
  pids+=("$rampart_pid")
  wait_for "$work/rampart$name.log" "Modbus/TCP Security  127.0.0.1:$rampart_port" 60
}

# The demo client certificate with the `viewer` role (may read everything on unit 1).
tls_args() {
  echo --ca "$data/pki/ca.crt" --cert "$data/pki/clients/viewer.crt" --key "$data/pki/clients/viewer.key"
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# CPU time of a process (all its threads), in clock ticks (1/100 s).
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
# Busy CPU time of the whole machine (user, nice, system, irq, softirq, steal), in ticks.
machine_busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

# wait_quiet: the machine is shared; before a measurement, wait (up to QUIET_WAIT seconds,
# default 180; 0 disables) until the rest of the machine uses under 10 % of one core over a
# one-second sample (our servers are idle between runs).
wait_quiet() {
  local limit=${QUIET_WAIT:-180} waited=0 b0 b1
  [ "$limit" -gt 0 ] || return 0
  while [ "$waited" -lt "$limit" ]; do
    b0=$(machine_busy_ticks); sleep 1; b1=$(machine_busy_ticks)
    [ $((b1 - b0)) -lt 10 ] && return 0
    waited=$((waited + 1))
  done
  echo "  (the machine stayed busy for ${limit}s; measuring anyway)" >&2
}
