#!/usr/bin/env bash
# Memory of `rampart up` holding COUNT idle TLS client connections (issue goal: RSS < 100 MiB
# with 1,000). The gateway runs with its defaults (TLS, policy, audit trail in DATA/audit)
# except the connection limits, raised for this run: max_connections COUNT + 100 and
# max_connections_per_ip 128; the clients spread over the source addresses 127.0.0.1 ..
# 127.0.0.N, 100 per address. Each client completes the mutual-TLS handshake (the `viewer`
# demo certificate), sends one read (so the gateway has accepted it and runs its session),
# then holds the connection open; after the measurement every connection must still answer.
# VmRSS of the gateway process (/proc/PID/status) before, with the connections open, and
# after they close. Loopback only; everything is stopped on exit.
#
# usage: bench/gateway-idle.sh [COUNT]     (default 1000)
set -euo pipefail
source "$(dirname "$0")/gateway-common.sh"
count=${1:-1000}
sources=$(( (count + 99) / 100 ))
[ "$sources" -le 254 ] || { echo "at most 25400 connections"; exit 2; }
# Two descriptors per connection on this host (client and gateway end), plus headroom.
ulimit -n $(( 2 * count + 1024 ))

build
start_bank
start_rampart "max_connections = $((count + 100))" "max_connections_per_ip = 128"
read -r -a tls <<<"$(tls_args)"
sleep 2
rss_start=$(rss_kib "$rampart_pid")
hwm_start=$(awk '/^VmHWM:/ { print $2 }' "/proc/$rampart_pid/status")

"$loadgen" idle --target "127.0.0.1:$rampart_port" --count "$count" --sources "$sources" \
  --hold 15 "${tls[@]}" >"$work/idle.log" 2>&1 &
idle_pid=$!
pids+=("$idle_pid")
wait_for "$work/idle.log" '^ready' 180
sleep 5
rss_open=$(rss_kib "$rampart_pid")
hwm_open=$(awk '/^VmHWM:/ { print $2 }' "/proc/$rampart_pid/status")
threads=$(awk '/^Threads:/ { print $2 }' "/proc/$rampart_pid/status")
established=$(ss -Htn state established "( sport = :$rampart_port )" | wc -l)
timeout 60 tail --pid="$idle_pid" -f /dev/null
sleep 3
rss_closed=$(rss_kib "$rampart_pid")

cat "$work/idle.log"
awk -v n="$count" -v e="$established" -v t="$threads" -v a="$rss_start" -v b="$rss_open" \
    -v h0="$hwm_start" -v h="$hwm_open" -v c="$rss_closed" 'BEGIN {
  printf "gateway RSS, idle:                          %7.1f MiB  (peak so far %.1f MiB: start-up)\n", a / 1024, h0 / 1024
  printf "gateway RSS, %d TLS connections open:     %7.1f MiB  (peak %.1f MiB; %d established; %d threads)\n", n, b / 1024, h / 1024, e, t
  printf "gateway RSS, after they closed:             %7.1f MiB\n", c / 1024
  printf "per connection:                             %7.1f KiB\n", (b - a) / n
  printf "goal: < 100 MiB with 1,000 connections: %s\n", (b / 1024 < 100 ? "met" : "NOT met")
}'
