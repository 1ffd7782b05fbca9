#!/usr/bin/env bash
# End-to-end throughput of `rampart inspect` against tshark's Modbus dissector on the same
# captures, and rampart alone on a capture over 100 MB, without and with an IDS baseline
# (`--learn-for 60`: learning, then the anomaly detectors). Medians of 3 runs; the runs
# compared are made side by side in the same invocation so machine noise affects both alike.
#
# usage: bench/inspect.sh [SMALL_MB] [LARGE_MB]     (defaults 20 and 120)
set -euo pipefail
cd "$(dirname "$0")/.."
small_mb=${1:-20}
large_mb=${2:-120}
out=bench/out
mkdir -p "$out"
sources=(testdata/pcaps/zeek_modbusBig.pcap testdata/pcaps/iti_modbus_test.pcap testdata/pcaps/zeek_modbusSmall.pcap)

cargo build --release --locked -p rampart >/dev/null
rampart=target/release/rampart
command -v tshark >/dev/null || { echo "tshark is not installed (scripts/test installs it)"; exit 2; }

small=$out/modbus-${small_mb}MB.pcap
large=$out/modbus-${large_mb}MB.pcap
[ -f "$small" ] || python3 bench/make_capture.py "$small" "$small_mb" "${sources[@]}"
[ -f "$large" ] || python3 bench/make_capture.py "$large" "$large_mb" "${sources[@]}"

# Prints the median wall time in seconds of running "$@" three times, output discarded.
median() {
  local times=()
  for _ in 1 2 3; do
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    end=$(date +%s%N)
    times+=("$(( end - start ))")
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n 2p | awk '{printf "%.3f", $1 / 1e9}'
}

mb() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f", b / 1048576 }'; }

fields=(-e frame.number -e mbtcp.trans_id -e mbtcp.unit_id -e modbus.func_code
        -e modbus.reference_num -e modbus.word_cnt -e modbus.bit_cnt -e modbus.byte_cnt
        -e modbus.exception_code)

small_size=$(mb "$small")
large_size=$(mb "$large")
t_rampart_small=$(median "$rampart" inspect --pcap "$small")
t_tshark_small=$(median tshark -n -r "$small" -Y modbus -T fields "${fields[@]}")
t_rampart_large=$(median "$rampart" inspect --pcap "$large")
t_rampart_large_baseline=$(median "$rampart" inspect --pcap "$large" --learn-for 60)

awk -v s="$small_size" -v l="$large_size" -v rs="$t_rampart_small" -v ts="$t_tshark_small" -v rl="$t_rampart_large" -v rb="$t_rampart_large_baseline" 'BEGIN {
  printf "capture                 size MB   tool      median s   MB/s\n"
  printf "%-22s %8.1f   rampart   %8.3f   %7.1f\n", "small", s, rs, s / rs
  printf "%-22s %8.1f   tshark    %8.3f   %7.1f\n", "small", s, ts, s / ts
  printf "%-22s %8.1f   rampart   %8.3f   %7.1f\n", "large", l, rl, l / rl
  printf "%-22s %8.1f   rampart --learn-for 60 %8.3f   %7.1f\n", "large", l, rb, l / rb
  printf "rampart / tshark on the same capture: %.0fx\n", ts / rs
  printf "baseline cost: %.2fx the time without (target <= 1.5x)\n", rb / rl
}'
