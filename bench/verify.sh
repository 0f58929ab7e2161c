#!/usr/bin/env bash
# Verification throughput of POST /stir/v1/verification with a cached certificate, next to the
# ES256 verify ceiling of one core (`openssl speed ecdsap256`), measured in the same sitting.
#
# The gateway runs pinned to CPU 0 with one I/O thread; wrk runs pinned to CPU 1. The x5u
# certificate is served over HTTPS by `openssl s_server -WWW` on loopback (pinned with
# x5u_resolve), fetched once and then served from the cache.
#   DURATION (default 10s), CONNECTIONS (default 32), OUT (a file to append the report to)
source "$(dirname "$0")/common.sh"

# A TLS certificate for the repository host, trusted through fetch_ca_file.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=certs.bench.test" -addext "subjectAltName=DNS:certs.bench.test" \
  -keyout "$work/tls-key.pem" -out "$work/tls-cert.pem" 2>/dev/null
mkdir -p "$work/www"
cp "$work/gw/keys/sti-chain.pem" "$work/www/sti.pem"
repo_port=$(free_port)
(cd "$work/www" && exec openssl s_server -quiet -WWW -accept "127.0.0.1:$repo_port" \
  -cert "$work/tls-cert.pem" -key "$work/tls-key.pem" >/dev/null 2>&1) &
pids+=($!)

# The init config with a longer iat window (one token is signed for the whole run, warm-up
# included) and the repository pinned.
sed -e "s|^iat_window_s = .*|iat_window_s = 3600|" \
    -e "s|^x5u_resolve = .*|x5u_resolve = [\"certs.bench.test:443:127.0.0.1:$repo_port\"]|" \
    -e "s|^fetch_ca_file = .*|fetch_ca_file = \"$work/tls-cert.pem\"|" \
    -e "s|^threads = .*|threads = 1|" \
    "$work/gw/stirgate.toml" > "$work/gw/bench.toml"
start_gateway "$work/gw/bench.toml"

identity=$("$bin" passport sign --key "$work/gw/keys/sti-key.pem" \
  --x5u https://certs.bench.test/sti.pem --orig +13105550100 --dest +14155550101 --attest A)
STIRGATE_BENCH_BODY=$(IDENTITY="$identity" NOW="$(date +%s)" python3 -c 'import json, os
print(json.dumps({"verificationRequest": {"from": {"tn": "13105550100"}, "to": {"tn": ["14155550101"]},
      "time": int(os.environ["NOW"]), "identity": os.environ["IDENTITY"]}}, separators=(",", ":")))')
export STIRGATE_BENCH_BODY

# One request first: it must pass (and it warms the certificate cache).
first=$(curl -s -H "Authorization: $STIRGATE_BENCH_AUTH" -H 'Content-Type: application/json' \
  "http://127.0.0.1:$gw_port/stir/v1/verification" -d "$STIRGATE_BENCH_BODY")
case "$first" in *TN-Validation-Passed*) ;; *) echo "bench: verification does not pass: $first" >&2; exit 1;; esac

result=$(run_wrk bench/atis_verify.lua /stir/v1/verification)
rss_kib=$(awk '/VmHWM/ {print $2}' "/proc/$gw_pid/status")
crypto_ceiling
rps=$(sed 's/.*rps=\([0-9.]*\).*/\1/' <<<"$result")
{
  echo "scenario: ATIS verification, cached certificate, 1 I/O thread on CPU 0, wrk -c$connections on CPU 1"
  echo "$result"
  echo "peak_rss_kib=$rss_kib"
  echo "openssl speed ecdsap256 (CPU 0): sign/s=$sign_s verify/s=$verify_s"
  awk -v a="$rps" -v b="$verify_s" 'BEGIN {printf "verify throughput / one-core verify ceiling = %.1f%%\n", 100 * a / b}'
} | tee -a ${OUT:-/dev/null}
