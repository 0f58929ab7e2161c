#!/usr/bin/env bash
# The SIP face's throughput (issue #15 "Measure"): one sitting on the Release build, with the
# fixtures of bench/run.sh (bench/fixtures.sh). The gateway runs pinned to CPU 0 with one I/O
# thread and serves both faces; SIPp (Debian sip-tester) drives it from CPU 1 over UDP:
#   sip_sign    INVITE without Identity -> 302 + Identity     ceiling: signs/s
#   sip_verify  INVITE with a SHAKEN Identity (cached cert)   ceiling: verifies/s
# beside the ATIS REST figures of the same gateway (wrk, as bench/run.sh) and
# `openssl speed ecdsap256` on CPU 0. Each SIP run is CALLS calls (default 50000) at most
# LIMIT (200) at once; a call is the INVITE, the 302 and the ACK. Any failed call fails the run.
# Writes OUT_DIR/SIP.md (default bench/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
calls=${CALLS:-50000}
limit=${LIMIT:-200}
SCENARIOS=${SCENARIOS:-verify sign}
source bench/fixtures.sh
command -v sipp >/dev/null || { echo "bench: needs sipp (Debian sip-tester)" >&2; exit 1; }

log "openssl speed -seconds 3 ecdsap256 on CPU 0"
speed1=$(taskset -c 0 openssl speed -seconds 3 ecdsap256 2>/dev/null | awk '/256 bits ecdsa/ {print $7, $8}')
sign_s=${speed1% *}; verify_s=${speed1#* }

sip_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
extra_config="[sip]
listen = \"127.0.0.1:$sip_port\"
rate_per_source = 0
[[sip.peers]]
cidr = \"127.0.0.1/32\"
account = \"$sid\""
start_gateway 1 0

sip_date=$(date -u -d "@$now" '+%a, %d %b %Y %H:%M:%S GMT')
# run_sipp SCENARIO_FILE ARGS...: prints "calls/s seconds" for CALLS calls, timed from SIPp's
# start to its exit (its start-up is a few ms of it); fails on any failed call (SIPp exits 0
# only when every call succeeded).
run_sipp() {
  local scenario=$1; shift
  local screen="$work/sipp-$(basename "$scenario" .xml).screen" t0 t1
  t0=$(date +%s.%N)
  taskset -c 1 sipp -sf "tests/sip/$scenario" -t u1 -i 127.0.0.1 -r 100000 -rp 1000 -l "$limit" \
    -m "$calls" -nostdin -timeout 300s -timeout_error -trace_screen -screen_file "$screen" \
    -s +14155550101 -key from_user +13105550100 -key to_user +14155550101 "$@" \
    "127.0.0.1:$sip_port" >/dev/null 2>&1 || { echo "bench: sipp $scenario failed" >&2; cat "$screen" >&2; exit 1; }
  t1=$(date +%s.%N)
  grep -q "Successful call.*| *$calls *\$" "$screen" ||
    grep -Eq "Successful call[^0-9]*[0-9]+[^0-9]+$calls( |\$)" "$screen" ||
    { echo "bench: sipp $scenario: not every call succeeded" >&2; cat "$screen" >&2; exit 1; }
  awk -v n="$calls" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f %.2f\n", n / (b - a), b - a }'
}

# A warm-up of each first (a tenth of the calls): the certificate cache, the allocator, the
# kernel's socket buffers.
calls_measured=$calls
calls=$((calls_measured / 10))
run_sipp invite_sign.xml >/dev/null
run_sipp invite_verify.xml -key sip_date "$sip_date" -key identity "$verify_identity" >/dev/null
calls=$calls_measured
log "sip_sign: $calls calls, $limit at once (gateway CPU 0, SIPp CPU 1)"
read -r sip_sign_rate sip_sign_s < <(run_sipp invite_sign.xml)
log "sip_verify: $calls calls, $limit at once"
read -r sip_verify_rate sip_verify_s < <(run_sipp invite_verify.xml -key sip_date "$sip_date" \
  -key identity "$verify_identity")

declare -A atis
for s in $SCENARIOS; do
  log "ATIS $s: wrk -c$connections $duration (CPU 1)"
  first_request "$s"
  run_wrk "$s" 1 "$warmup" >/dev/null
  atis[$s]=$(field rps "$(run_wrk "$s" 1 "$duration")")
done
stop_gateway

pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print "-"; else printf "%.0f %%", 100 * a / b }'; }
mkdir -p "$out_dir"
{
  echo "# SIP face throughput (bench/sip.sh)"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)," \
       "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1), $(nproc) CPUs, $(openssl version | cut -d' ' -f1-2)."
  echo "Gateway: Release, one I/O thread pinned to CPU 0; load (SIPp over UDP, wrk) on CPU 1."
  echo "Ceilings: \`openssl speed -seconds 3 ecdsap256\` on CPU 0: $sign_s signs/s, $verify_s verifies/s."
  echo
  echo "| Scenario | req/s | of the ceiling | run |"
  echo "|---|---:|---:|---|"
  echo "| SIP signing INVITE -> 302 + Identity | $sip_sign_rate | $(pct "$sip_sign_rate" "$sign_s") | $calls calls in ${sip_sign_s} s, $limit at once |"
  echo "| SIP verification INVITE -> 302 (cached cert) | $sip_verify_rate | $(pct "$sip_verify_rate" "$verify_s") | $calls calls in ${sip_verify_s} s, $limit at once |"
  [ -n "${atis[sign]:-}" ] && echo "| ATIS POST /stir/v1/signing | ${atis[sign]} | $(pct "${atis[sign]}" "$sign_s") | wrk -c$connections $duration |"
  [ -n "${atis[verify]:-}" ] && echo "| ATIS POST /stir/v1/verification (cached cert) | ${atis[verify]} | $(pct "${atis[verify]}" "$verify_s") | wrk -c$connections $duration |"
  echo
  echo "A SIP call here is INVITE, 302 and ACK (the ACK is read and dropped), each a datagram the"
  echo "gateway parses with libosip2; an ATIS request is one HTTP/1.1 request on a kept-alive"
  echo "connection."
} > "$out_dir/SIP.md"
log "wrote $out_dir/SIP.md"
cat "$out_dir/SIP.md"
