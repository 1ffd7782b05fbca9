#!/usr/bin/env bash
# Throughput and latency of the gateway against stunnel and direct plain Modbus, in one run:
#   rampart-CxP  client ─TLS─▶ `rampart up` (TLS, framing, decode, policy, response
#                validation, audit on) ─TCP (C shared connections, P requests in flight
#                each)─▶ bank; one instance per entry of RAMPART_UPSTREAMS (default "8x1 2x1":
#                8 × 1 puts the same load on the PLC as stunnel's 8 connections at K = 8, and
#                2 × 1 is the gateway's default)
#   stunnel      client ─TLS─▶ stunnel4 (TLS only; one upstream connection per client) ─TCP─▶ bank
#   direct       client ─TCP─▶ bank
# The bank is one register-bank server (`loadgen serve`, rampart_gateway::bank) for all
# of them. The load generator (crates/gateway/examples/loadgen.rs) runs a closed loop over K
# connections (KS, default "1 8 32"): read holding registers (FC 3, unit 1, 10 registers),
# wait for the answer, repeat; WARMUP s, then DURATION s measured. TLS clients use the
# `viewer` demo certificate; stunnel uses the first Rampart instance's server certificate,
# CA and CRL and requires client certificates. Rampart runs the default policy with the
# per-client request rate raised to 1,000,000/s (all K connections share one certificate,
# hence one token bucket): this measures throughput, not the rate limit. Each (setup, K)
# runs REPEATS times, interleaved so that machine noise affects all setups alike; before each
# run the script waits (QUIET_WAIT seconds at most, default 180) for the rest of the machine
# to go quiet, and the table shows how much CPU the rest of the machine used during the runs.
# Medians, and the median of the per-round ratios (each round measures every setup side by
# side). RESULTS_COPY=FILE keeps the raw results. Loopback only; everything is stopped on exit.
#
# usage: bench/gateway.sh [DURATION_S] [WARMUP_S] [REPEATS]     (defaults 5, 1 and 3)
#        RAMPART_UPSTREAMS="4x8 1x32" KS="8 32" bench/gateway.sh    (other upstream sharing, K)
#        RAMPART_UPSTREAMS="8x1 8x1@old=/tmp/rampart-old" bench/gateway.sh   (A/B of two builds)
set -euo pipefail
source "$(dirname "$0")/gateway-common.sh"
duration=${1:-5}
warmup=${2:-1}
repeats=${3:-3}
read -r -a upstreams <<<"${RAMPART_UPSTREAMS:-8x1 2x1}"
read -r -a ks <<<"${KS:-1 8 32}"
command -v stunnel4 >/dev/null || { echo "stunnel4 is not installed (apt-get install -y stunnel4)"; exit 2; }

build
start_bank
declare -A setup_port setup_pid setup_tls
setups=()
pki=""
for spec in "${upstreams[@]}"; do
  # CxP, or CxP@NAME=BINARY to run another build of rampart side by side (an A/B).
  [[ $spec =~ ^([0-9]+)x([0-9]+)(@([a-z0-9]+)=(.+))?$ ]] || { echo "bad upstream spec '$spec' (want CxP, e.g. 8x1, or CxP@NAME=BINARY)"; exit 2; }
  name=${BASH_REMATCH[1]}x${BASH_REMATCH[2]}${BASH_REMATCH[4]:+-${BASH_REMATCH[4]}}
  RAMPART_BIN=${BASH_REMATCH[5]:-$rampart} RAMPART_NAME=-$name \
    UPSTREAM_CONNECTIONS=${BASH_REMATCH[1]} UPSTREAM_PIPELINE=${BASH_REMATCH[2]} start_rampart
  setup_port[rampart-$name]=$rampart_port
  setup_pid[rampart-$name]=$rampart_pid
  setup_tls[rampart-$name]="$(tls_args)"
  setups+=("rampart-$name")
  [ -n "$pki" ] || pki=$data/pki
done

stunnel_port=$(free_port)
cat >"$work/stunnel.conf" <<CONF
foreground = yes
pid =
debug = warning
[modbus-tls]
accept = 127.0.0.1:$stunnel_port
connect = 127.0.0.1:$bank_port
cert = $pki/server.crt
key = $pki/server.key
CAfile = $pki/ca.crt
CRLfile = $pki/ca.crl
verify = 2
sslVersionMin = TLSv1.2
sslVersionMax = TLSv1.3
socket = l:TCP_NODELAY=1
socket = r:TCP_NODELAY=1
CONF
stunnel4 "$work/stunnel.conf" >"$work/stunnel.log" 2>&1 &
stunnel_pid=$!
pids+=("$stunnel_pid")
wait_listening "$stunnel_port" 10
setup_port[stunnel]=$stunnel_port
setup_pid[stunnel]=$stunnel_pid
setup_tls[stunnel]=${setup_tls[${setups[0]}]}
setup_port[direct]=$bank_port
setup_pid[direct]=$bank_pid
setup_tls[direct]=""
setups+=(stunnel direct)

# CPU ticks of every server this script started (the rampart instances, stunnel, the bank).
ours() {
  local sum=0 s
  for s in "${setups[@]}"; do sum=$((sum + $(cpu_ticks "${setup_pid[$s]}"))); done
  echo "$sum"
}

results=$work/results
: >"$results"
# measure SETUP K ROUND: one loadgen run; appends "setup K rps p50 p99 p999 proxy% other%
# round" where proxy% is the CPU time of the process under test (a rampart instance, stunnel,
# or the bank for direct) and other% that of everything on the machine except our servers
# and the load generator, both over the run's wall time (100 = one core).
measure() {
  local setup=$1 k=$2 round=$3 target args=() pid
  target=127.0.0.1:${setup_port[$setup]}
  pid=${setup_pid[$setup]}
  read -r -a args <<<"${setup_tls[$setup]}"
  wait_quiet
  local t0 t1 p0 p1 m0 m1 o0 o1 line
  t0=$(date +%s%N)
  p0=$(cpu_ticks "$pid")
  o0=$(ours)
  m0=$(machine_busy_ticks)
  line=$(timeout "$(awk -v d="$duration" -v w="$warmup" 'BEGIN { print int(d + w) + 60 }')" "$loadgen" run --label "$setup" --target "$target" \
           --connections "$k" --warmup "$warmup" --duration "$duration" "${args[@]}")
  m1=$(machine_busy_ticks)
  o1=$(ours)
  p1=$(cpu_ticks "$pid")
  t1=$(date +%s%N)
  echo "  $line" >&2
  awk -v s="$setup" -v k="$k" -v r="$round" -v p="$((p1 - p0))" -v o="$((o1 - o0))" -v m="$((m1 - m0))" \
      -v w="$((t1 - t0))" -v line="$line" 'BEGIN {
    n = split(line, f, " ")
    for (i = 1; i <= n; i++) { split(f[i], kv, "="); v[kv[1]] = kv[2] }
    other = m - o - v["cpu_s"] * 100
    if (other < 0) other = 0
    printf "%s %s %s %s %s %s %.0f %.0f %s\n", s, k, v["rps"], v["p50_us"], v["p99_us"], v["p999_us"], p / (w / 1e9), other / (w / 1e9), r
  }' >>"$results"
}

echo "loadgen: ${warmup}s warm-up + ${duration}s measured per run, $repeats runs each; setups ${setups[*]}; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for ((rep = 1; rep <= repeats; rep++)); do
  for k in "${ks[@]}"; do
    for setup in "${setups[@]}"; do
      measure "$setup" "$k" "$rep"
    done
  done
done
if [ -n "${RESULTS_COPY:-}" ]; then cp "$results" "$RESULTS_COPY"; fi

# Medians per (setup, K) of each column, then the table; then, per round, each Rampart
# instance's ratio to stunnel measured in that round, and the median of those ratios.
awk -v setups="${setups[*]}" -v ks="${ks[*]}" '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return a[int((n + 1) / 2)]
  }
  { key = $1 " " $2; rps[key] = rps[key] " " $3; p50[key] = p50[key] " " $4
    p99[key] = p99[key] " " $5; p999[key] = p999[key] " " $6; cpu[key] = cpu[key] " " $7
    other[key] = other[key] " " $8; R1[key " " $9] = $3; P1[key " " $9] = $6
    if (!($9 in seen)) { seen[$9] = 1; nr++; round[nr] = $9 } }
  END {
    ns = split(setups, S, " "); nk = split(ks, K, " ")
    printf "%-17s %3s %10s %9s %9s %10s %10s %10s\n", "setup", "K", "req/s", "p50 us", "p99 us", "p99.9 us", "server cpu", "other cpu"
    for (i = 1; i <= ns; i++) for (j = 1; j <= nk; j++) {
      key = S[i] " " K[j]
      R[key] = median(rps[key]); P999[key] = median(p999[key])
      printf "%-17s %3s %10.0f %9.1f %9.1f %10.1f %9.0f%% %9.0f%%\n", S[i], K[j], R[key], median(p50[key]), median(p99[key]), P999[key], median(cpu[key]), median(other[key])
    }
    print "(medians; server cpu: the rampart instance, stunnel or, for direct, the bank; other cpu: the rest of the machine; 100% = one core)"
    print ""
    for (i = 1; i <= ns; i++) {
      if (S[i] !~ /^rampart/) continue
      for (j = 1; j <= nk; j++) {
        k = K[j]; a = S[i] " " k; b = "stunnel " k; list = ""; plist = ""
        for (x = 1; x <= nr; x++) {
          r = round[x]
          if (!((a " " r) in R1) || !((b " " r) in R1)) continue
          list = list sprintf(" %.2f", R1[a " " r] / R1[b " " r])
          plist = plist sprintf(" %.0f/%.0f", P1[a " " r], P1[b " " r])
        }
        printf "K=%-2s %s / stunnel req/s: median %.2fx of the rounds [%s ] (goal >= 1.5x at 8 and 32 for 8x1); p99.9 %.0f vs %.0f us (goal <=), per round [%s ]\n",
          k, S[i], median(list), list, P999[a], P999["stunnel " k], plist
      }
    }
  }' "$results"
