#!/usr/bin/env bash
# Instructions per request, by function, for one scenario of bench/run.sh: the gateway (1 I/O
# thread) runs under `valgrind --tool=callgrind`; counting starts after the first request (so
# start-up and the certificate fetch are left out) and stops after a bounded wrk run. Callgrind
# counts user-space instructions, so the figure is repeatable on a busy machine (the kernel's
# loopback work is not in it). Use it to compare builds; bench/run.sh measures time.
#   bench/callgrind.sh [SCENARIO]   (verify, sign, forward or webhook; default verify)
#   CG_SECONDS (20: wrk run under valgrind), CG_CONNECTIONS (4), CG_OUT (build/callgrind)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
scenario=${1:-verify}
cg_seconds=${CG_SECONDS:-20}
cg_out=${CG_OUT:-build/callgrind}
command -v valgrind >/dev/null || {
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends valgrind >/dev/null
}
IDLE_CONNECTIONS=0
FETCH_TIMEOUT_MS=30000  # TLS under valgrind is slow
source bench/fixtures.sh
[ -n "${lua[$scenario]:-}" ] || { echo "bench: unknown scenario $scenario" >&2; exit 1; }

mkdir -p "$cg_out"
out_file=$root/$cg_out/callgrind.$scenario.out
rm -f "$out_file"*
gateway_wrapper=${CG_WRAPPER:-valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=$out_file}
start_gateway 1 ""
first_request "$scenario"
callgrind_control -i on "$gw_pid" >/dev/null 2>&1 || true
connections=${CG_CONNECTIONS:-4}
result=$(STIRGATE_BENCH_BODY="${body[$scenario]}" STIRGATE_BENCH_AUTH="$auth" \
  STIRGATE_BENCH_SIGNATURE="$webhook_signature" \
  wrk -t1 -c"$connections" -d"${cg_seconds}s" --timeout 30s -s "${lua[$scenario]}" \
  "http://127.0.0.1:$gw_port${path[$scenario]}" | grep '^RESULT')
callgrind_control -i off "$gw_pid" >/dev/null 2>&1 || true
callgrind_control -d "$gw_pid" >/dev/null 2>&1 || true
stop_gateway
cp "$work/gw.log" "$cg_out/gateway.$scenario.log"
case "$result" in *" socket_errors=0 unexpected=0"*) ;; *) echo "bench: $result" >&2; exit 1;; esac
if [ -n "${CG_WRAPPER:-}" ]; then  # another tool (memcheck, strace): its output is in the log
  echo "$result"; echo "gateway log: $cg_out/gateway.$scenario.log"; exit 0
fi
requests=$(sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<<"$result")
dump=$(ls -t "$out_file"* | grep -v "^$out_file\$" | head -n1)
total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ && !t {gsub(",", "", $1); t = $1} END {print t}')
callgrind_annotate --inclusive=no "$dump" 2>/dev/null | sed -n '/file:function/,$p' | head -n 40 \
  > "$cg_out/callgrind.$scenario.top.txt" || true  # head closes the pipe early
awk -v t="$total" -v n="$requests" -v s="$scenario" \
  'BEGIN {printf "callgrind %s: %d requests, %.0f instructions per request\n", s, n, t / n}' |
  tee "$cg_out/callgrind.$scenario.txt"
echo "profile: $dump (callgrind_annotate / kcachegrind); top functions: $cg_out/callgrind.$scenario.top.txt"
