#!/usr/bin/env bash
# Throughput and latency of the gateway against stunnel and direct plain Modbus, in one run:
#   rampart  client ─TLS─▶ `rampart up` (TLS, framing, decode, policy, response validation,
#                          audit on) ─TCP (4 shared connections, 8 in flight each; see
#                          UPSTREAM_CONNECTIONS and UPSTREAM_PIPELINE below)─▶ bank
#   stunnel  client ─TLS─▶ stunnel4 (TLS only; one upstream connection per client) ─TCP─▶ bank
#   direct   client ─TCP─▶ bank
# The bank is one register-bank server (`loadgen serve`, rampart_gateway::bank) for all
# three. The load generator (crates/gateway/examples/loadgen.rs) runs a closed loop over K
# connections (1, 8, 32): read holding registers (FC 3, unit 1, 10 registers), wait for the
# answer, repeat; WARMUP s, then DURATION s measured. TLS clients use the `viewer` demo
# certificate; stunnel uses the same server certificate, CA and CRL and requires client
# certificates. Rampart runs the default policy with the per-client request rate raised to
# 1,000,000/s (all K connections share one certificate, hence one token bucket): this
# measures throughput, not the rate limit. Each (setup, K) runs REPEATS times, interleaved so
# that machine noise affects all three alike; before each run the script waits (QUIET_WAIT
# seconds at most, default 180) for the rest of the machine to go quiet, and the table shows
# how much CPU the rest of the machine used during the runs. Medians. Loopback only;
# everything is stopped on exit.
#
# usage: bench/gateway.sh [DURATION_S] [WARMUP_S] [REPEATS]     (defaults 5, 1 and 3)
#        UPSTREAM_CONNECTIONS=1 UPSTREAM_PIPELINE=32 bench/gateway.sh    (other upstream sharing)
set -euo pipefail
source "$(dirname "$0")/gateway-common.sh"
duration=${1:-5}
warmup=${2:-1}
repeats=${3:-3}
command -v stunnel4 >/dev/null || { echo "stunnel4 is not installed (apt-get install -y stunnel4)"; exit 2; }

build
start_bank
start_rampart
read -r -a tls <<<"$(tls_args)"

stunnel_port=$(free_port)
cat >"$work/stunnel.conf" <<EOF
foreground = yes
pid =
debug = warning
[modbus-tls]
accept = 127.0.0.1:$stunnel_port
connect = 127.0.0.1:$bank_port
cert = $data/pki/server.crt
key = $data/pki/server.key
CAfile = $data/pki/ca.crt
CRLfile = $data/pki/ca.crl
verify = 2
sslVersionMin = TLSv1.2
sslVersionMax = TLSv1.3
socket = l:TCP_NODELAY=1
socket = r:TCP_NODELAY=1
EOF
stunnel4 "$work/stunnel.conf" >"$work/stunnel.log" 2>&1 &
stunnel_pid=$!
pids+=("$stunnel_pid")
wait_listening "$stunnel_port" 10

results=$work/results
: >"$results"
# measure SETUP K: one loadgen run; appends "setup K rps p50 p99 proxy% other%" where proxy%
# is the CPU time of the process under test (rampart, stunnel, or the bank for direct) and
# other% that of everything on the machine except the bank, rampart, stunnel and the load
# generator, both over the run's wall time (100 = one core).
measure() {
  local setup=$1 k=$2 target args=() pid=""
  case $setup in
    rampart) target=127.0.0.1:$rampart_port; args=("${tls[@]}"); pid=$rampart_pid ;;
    stunnel) target=127.0.0.1:$stunnel_port; args=("${tls[@]}"); pid=$stunnel_pid ;;
    direct)  target=127.0.0.1:$bank_port; pid=$bank_pid ;;
  esac
  wait_quiet
  local t0 t1 p0 p1 m0 m1 o0 o1 line
  t0=$(date +%s%N)
  p0=$(cpu_ticks "$pid")
  o0=$(( $(cpu_ticks "$bank_pid") + $(cpu_ticks "$rampart_pid") + $(cpu_ticks "$stunnel_pid") ))
  m0=$(machine_busy_ticks)
  line=$(timeout "$(awk -v d="$duration" -v w="$warmup" 'BEGIN { print int(d + w) + 60 }')" "$loadgen" run --label "$setup" --target "$target" \
           --connections "$k" --warmup "$warmup" --duration "$duration" "${args[@]}")
  m1=$(machine_busy_ticks)
  o1=$(( $(cpu_ticks "$bank_pid") + $(cpu_ticks "$rampart_pid") + $(cpu_ticks "$stunnel_pid") ))
  p1=$(cpu_ticks "$pid")
  t1=$(date +%s%N)
  echo "  $line" >&2
  awk -v s="$setup" -v k="$k" -v p="$((p1 - p0))" -v o="$((o1 - o0))" -v m="$((m1 - m0))" \
      -v w="$((t1 - t0))" -v line="$line" 'BEGIN {
    n = split(line, f, " ")
    for (i = 1; i <= n; i++) { split(f[i], kv, "="); v[kv[1]] = kv[2] }
    other = m - o - v["cpu_s"] * 100
    if (other < 0) other = 0
    printf "%s %s %s %s %s %.0f %.0f\n", s, k, v["rps"], v["p50_us"], v["p99_us"], p / (w / 1e9), other / (w / 1e9)
  }' >>"$results"
}

echo "loadgen: ${warmup}s warm-up + ${duration}s measured per run, $repeats runs each; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for ((rep = 1; rep <= repeats; rep++)); do
  for k in 1 8 32; do
    for setup in rampart stunnel direct; do
      measure "$setup" "$k"
    done
  done
done

# Medians per (setup, K) of each column, then the table and the ratios.
sort -k1,1 -k2,2n "$results" | awk '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return a[int((n + 1) / 2)]
  }
  { key = $1 " " $2; rps[key] = rps[key] " " $3; p50[key] = p50[key] " " $4
    p99[key] = p99[key] " " $5; cpu[key] = cpu[key] " " $6; other[key] = other[key] " " $7 }
  END {
    printf "%-8s %3s %10s %10s %10s %10s %10s\n", "setup", "K", "req/s", "p50 us", "p99 us", "server cpu", "other cpu"
    split("rampart stunnel direct", setups, " ")
    split("1 8 32", ks, " ")
    for (i = 1; i <= 3; i++) for (j = 1; j <= 3; j++) {
      key = setups[i] " " ks[j]
      R[key] = median(rps[key]); P50[key] = median(p50[key]); P99[key] = median(p99[key])
      printf "%-8s %3s %10.0f %10.1f %10.1f %9.0f%% %9.0f%%\n", setups[i], ks[j], R[key], P50[key], P99[key], median(cpu[key]), median(other[key])
    }
    print "(medians; server cpu: rampart, stunnel or, for direct, the bank; other cpu: the rest of the machine; 100% = one core)"
    print ""
    for (j = 1; j <= 3; j++) {
      k = ks[j]
      printf "K=%-2s rampart/stunnel req/s %.2fx (goal >= 1.5x at 8 and 32)  p99 rampart %.0f us vs stunnel %.0f us (goal <=)  direct/rampart %.2fx  direct/stunnel %.2fx\n",
        k, R["rampart " k] / R["stunnel " k], P99["rampart " k], P99["stunnel " k],
        R["direct " k] / R["rampart " k], R["direct " k] / R["stunnel " k]
    }
  }'
