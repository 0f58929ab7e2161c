#!/usr/bin/env bash
# One benchmark sitting (issue #7): builds stirgate in Release, starts it on loopback with a local
# HTTPS certificate repository and a test application, and measures with wrk:
#   verify   POST /stir/v1/verification, cached certificate      ceiling: verifies/s
#   sign     POST /stir/v1/signing                                ceiling: signs/s
#   forward  POST .../Calls.json with a CallToken (201, durable)  ceiling: 1/(1/sign + 1/verify)
#   webhook  POST /webhooks/incoming-call, signed by the edge,    ceiling: 1/(1/sign + 1/verify)
#            SHAKEN Identity verified, CallToken minted, call stored, app (bench/app_stub) answers
# Ceilings come from `openssl speed -seconds 3 ecdsap256` on the gateway's core, run here.
#
# Per scenario, on a fresh gateway and database:
#   one-core  gateway pinned to CPU 0 (taskset) with 1 I/O thread, wrk (1 thread) on CPU 1:
#             requests/s, p50/p99, peak RSS (VmHWM), ratio to the one-core ceiling;
#   paced     the same gateway at PACED_SHARE (0.8) of that peak: wrk's delay() holds each request
#             for its slot of a fixed schedule (bench/wrk_report.lua), p99 at that load;
#   two-core  gateway unpinned with 2 I/O threads (wrk shares the two cores with it), beside
#             twice the one-core ceiling.
# Then RSS per idle keep-alive connection: VmRSS before and after IDLE_CONNECTIONS connections
# that each made one request (bench/idle_conns.py).
#
# Environment: DURATION (15s per measured run), WARMUP (3s), CONNECTIONS (32),
#   PACED_SHARE (0.8), IDLE_CONNECTIONS (10000), SCENARIOS ("verify sign forward webhook"),
#   TWO_CORE (1; 0 skips the two-core runs), OUT_DIR (bench: RESULTS.md, results.png,
#   results.txt), BUILD_DIR (build/release), STORAGE_SYNC ("" = the gateway's default, FULL;
#   "normal" opens every scenario's database with ?synchronous=normal), PRELIMINARY (a note
#   printed at the top of RESULTS.md). The scenario forward_normal (in the default list) is the
#   forward with ?synchronous=normal, one core only, beside the durable default; forward_pg is
#   the forward on a PostgreSQL 15 server started here on CPU 1 (synchronous_commit=on), one
#   core only: its ratio to forward is issue #13's target (>= 80 %), and with TWO_CORE=1 also one
#   instance on both cores; forward_pg_cluster is two instances (one I/O thread each) on one
#   PostgreSQL database behind haproxy, everything sharing both cores (its figures are in the
#   two-core columns too).
# Results are written to OUT_DIR and their paths printed at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
source bench/fixtures.sh

# ---- crypto ceiling, first, with the machine otherwise idle -----------------------------------
log "openssl speed -seconds 3 ecdsap256 on CPU 0"
speed1=$(taskset -c 0 openssl speed -seconds 3 ecdsap256 2>/dev/null | awk '/256 bits ecdsa/ {print $7, $8}')
sign_s=${speed1% *}; verify_s=${speed1#* }
# Two cores: twice one core's figure (openssl speed counts CPU time per operation, and its -multi
# summary line for ECDSA is not usable in OpenSSL 3.0).
sign2_s=""; verify2_s=""
if [ "$two_core" = 1 ]; then
  sign2_s=$(awk -v v="$sign_s" 'BEGIN {printf "%.1f", 2 * v}')
  verify2_s=$(awk -v v="$verify_s" 'BEGIN {printf "%.1f", 2 * v}')
fi
log "one core: sign/s=$sign_s verify/s=$verify_s; two cores: sign/s=${sign2_s:--} verify/s=${verify2_s:--}"

raw=$work/results.txt
{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ) commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1) cpus=$(nproc) kernel=$(uname -r)"
  echo "openssl=$(openssl version | cut -d' ' -f1-2) sign1=$sign_s verify1=$verify_s sign2=$sign2_s verify2=$verify2_s"
  echo "duration=$duration warmup=$warmup connections=$connections paced_share=$paced_share storage_sync=${storage_sync:-default}"
} > "$raw"

for s in $scenarios; do
  [ -n "${lua[$s]:-}" ] || { echo "bench: unknown scenario $s" >&2; exit 1; }
  gw_sync=$storage_sync
  [ "$s" = forward_normal ] && gw_sync=normal
  gw_store=sqlite
  [ "$s" = forward_pg ] || [ "$s" = forward_pg_cluster ] && gw_store=postgres && gw_sync=""

  wrk_cpus=1
  if [ "$s" = forward_pg_cluster ]; then
    # Both cores shared by the two instances, haproxy, wrk and PostgreSQL (on CPU 1): compare
    # with forward_pg's two-core run, one instance on the same database server.
    log "$s: two instances (1 I/O thread each) behind haproxy, unpinned; wrk unpinned"
    start_cluster
    wrk_cpus=""
  else
    log "$s: one core (gateway CPU 0, 1 I/O thread; wrk CPU 1, -c$connections, $duration)"
    start_gateway 1 0
  fi
  first_request "$s"
  run_wrk "$s" "$wrk_cpus" "$warmup" >/dev/null
  peak=$(run_wrk "$s" "$wrk_cpus" "$duration")
  rss=$(awk '/VmHWM/ {print $2}' "/proc/$gw_pid/status")
  rps=$(field rps "$peak")
  rate=$(awk -v r="$rps" -v f="$paced_share" 'BEGIN {printf "%.0f", r * f}')
  log "$s: $peak peak_rss_kib=$rss; paced at $rate/s"
  paced=$(run_wrk "$s" "$wrk_cpus" "$duration" "$rate")
  log "$s: paced $paced"
  stop_gateway
  two=""
  [ "$s" = forward_pg_cluster ] && two=$peak
  if [ "$two_core" = 1 ] && [ "$s" != forward_normal ] && [ "$s" != forward_pg_cluster ]; then
    log "$s: two cores (gateway unpinned, 2 I/O threads; wrk unpinned)"
    start_gateway 2 ""
    first_request "$s"
    run_wrk "$s" "" "$warmup" >/dev/null
    two=$(run_wrk "$s" "" "$duration")
    log "$s: two cores $two"
    stop_gateway
  fi
  c1=$(ceiling_of "${ceiling[$s]}" "$sign_s" "$verify_s")
  [ "$s" = forward_pg_cluster ] && c1=""  # not a one-core figure
  c2=$(ceiling_of "${ceiling[$s]}" "$sign2_s" "$verify2_s")
  echo "scenario=$s ceiling1=$c1 ceiling2=${c2:-} rps=$rps p50_ms=$(field p50_ms "$peak") p99_ms=$(field p99_ms "$peak") peak_rss_kib=$rss paced_target=$rate paced_rps=$(field rps "$paced") paced_p50_ms=$(field p50_ms "$paced") paced_p99_ms=$(field p99_ms "$paced") two_rps=$(field rps "$two") two_p99_ms=$(field p99_ms "$two")" >> "$raw"
done

# ---- RSS per idle keep-alive connection -------------------------------------------------------
if [ "$idle_n" -gt 0 ]; then
  log "idle: $idle_n keep-alive connections (gateway CPU 0, 1 I/O thread)"
  start_gateway 1 0
  curl -sf "http://127.0.0.1:$gw_port/healthz" >/dev/null
  before=$(awk '/VmRSS/ {print $2}' "/proc/$gw_pid/status")
  coproc idle { taskset -c 1 python3 bench/idle_conns.py 127.0.0.1 "$gw_port" "$idle_n"; }
  idle_pid=$idle_PID
  ready=""
  read -r -t 60 ready <&"${idle[0]}" || true
  after=$(awk '/VmRSS/ {print $2}' "/proc/$gw_pid/status")
  kill "$idle_pid" 2>/dev/null || true; wait "$idle_pid" 2>/dev/null || true
  stop_gateway
  case "$ready" in "ready $idle_n") ;; *) echo "bench: idle connections failed ($ready)" >&2; exit 1;; esac
  per=$(awk -v a="$after" -v b="$before" -v n="$idle_n" 'BEGIN {printf "%.2f", (a - b) / n}')
  log "idle: VmRSS $before KiB -> $after KiB: $per KiB per connection"
  echo "idle_connections=$idle_n rss_before_kib=$before rss_after_kib=$after kib_per_connection=$per" >> "$raw"
fi

elapsed=$(( $(date +%s) - started ))
echo "elapsed_s=$elapsed" >> "$raw"

# ---- report --------------------------------------------------------------------------------
mkdir -p "$out_dir"
cp "$raw" "$out_dir/results.txt"
python3 bench/report.py "$out_dir/results.txt" "$out_dir/RESULTS.md" "$work/plot.dat" "${PRELIMINARY:-}"
gnuplot -e "datafile='$work/plot.dat'; outfile='$out_dir/results.png'" bench/plot.gp
cat "$out_dir/RESULTS.md"
echo
echo "bench: done in ${elapsed}s; results: $out_dir/RESULTS.md, $out_dir/results.png, $out_dir/results.txt"
