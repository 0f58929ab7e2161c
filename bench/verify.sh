#!/usr/bin/env bash
# Verification throughput of POST /stir/v1/verification with a cached certificate, next to the
# ES256 verify ceiling of one core (`openssl speed ecdsap256`), measured in the same sitting.
#
# The gateway runs pinned to CPU 0 with one I/O thread; wrk runs pinned to CPU 1. The x5u
# certificate is served over HTTPS by `openssl s_server -WWW` on loopback (pinned with
# x5u_resolve), fetched once and then served from the cache.
#   DURATION (default 10s), CONNECTIONS (default 32), OUT (default: stdout only)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
if ! command -v wrk >/dev/null || ! command -v curl >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends wrk curl
fi
duration=${DURATION:-10s}
connections=${CONNECTIONS:-32}
build=build/release
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTIRGATE_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target stirgate >/dev/null
bin=$PWD/$build/stirgate

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Development STI PKI (root, signing certificate with TNAuthList, key) from `stirgate init`.
"$bin" init --dir "$work/gw" >/dev/null
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

gw_port=$(free_port)
sid=$(sed -n 's/^sid = "\(.*\)"/\1/p' "$work/gw/stirgate.toml")
token=$(sed -n '/^\[\[accounts\]\]/,/^\[\[accounts.numbers\]\]/s/^auth_token = "\(.*\)"/\1/p' "$work/gw/stirgate.toml")
# A bench config: the init one with a longer iat window (the token is signed once, the run lasts
# longer than 60 s with warm-up) and the repository pinned.
sed -e "s|^iat_window_s = .*|iat_window_s = 3600|" \
    -e "s|^x5u_resolve = .*|x5u_resolve = [\"certs.bench.test:443:127.0.0.1:$repo_port\"]|" \
    -e "s|^fetch_ca_file = .*|fetch_ca_file = \"$work/tls-cert.pem\"|" \
    -e "s|^threads = .*|threads = 1|" \
    "$work/gw/stirgate.toml" > "$work/gw/bench.toml"

identity=$("$bin" passport sign --key "$work/gw/keys/sti-key.pem" \
  --x5u https://certs.bench.test/sti.pem --orig +13105550100 --dest +14155550101 --attest A)
now=$(date +%s)
STIRGATE_BENCH_BODY=$(IDENTITY="$identity" NOW="$now" python3 -c 'import json, os
print(json.dumps({"verificationRequest": {"from": {"tn": "13105550100"}, "to": {"tn": ["14155550101"]},
      "time": int(os.environ["NOW"]), "identity": os.environ["IDENTITY"]}}, separators=(",", ":")))')
export STIRGATE_BENCH_BODY
export STIRGATE_BENCH_AUTH="Basic $(printf '%s:%s' "$sid" "$token" | base64 -w0)"

taskset -c 0 "$bin" serve --config "$work/gw/bench.toml" --listen "127.0.0.1:$gw_port" \
  >"$work/gw.log" 2>&1 &
gw_pid=$!
pids+=($gw_pid)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$gw_port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

# One request first: it must pass (and it warms the certificate cache).
first=$(curl -s -u "$sid:$token" -H 'Content-Type: application/json' \
  "http://127.0.0.1:$gw_port/stir/v1/verification" -d "$STIRGATE_BENCH_BODY")
echo "check: $first"
case "$first" in *TN-Validation-Passed*) ;; *) echo "bench: verification does not pass" >&2; exit 1;; esac

taskset -c 1 wrk -t1 -c"$connections" -d5s -s bench/atis_verify.lua \
  "http://127.0.0.1:$gw_port/stir/v1/verification" >/dev/null  # warm-up
result=$(taskset -c 1 wrk -t1 -c"$connections" -d"$duration" --latency -s bench/atis_verify.lua \
  "http://127.0.0.1:$gw_port/stir/v1/verification" | grep '^RESULT')
case "$result" in *"not_passed=0"*) ;; *) echo "bench: some answers did not pass: $result" >&2; exit 1;; esac
rss_kib=$(awk '/VmHWM/ {print $2}' "/proc/$gw_pid/status")

# The crypto ceiling, one core, same sitting.
speed=$(taskset -c 0 openssl speed -seconds 3 ecdsap256 2>/dev/null | awk '/256 bits ecdsa/ {print $7, $8}')
sign_s=${speed% *}
verify_s=${speed#* }
rps=$(sed 's/.*rps=\([0-9.]*\).*/\1/' <<<"$result")
ratio=$(awk -v a="$rps" -v b="$verify_s" 'BEGIN {printf "%.1f", 100 * a / b}')
{
  echo "scenario: ATIS verification, cached certificate, 1 I/O thread on CPU 0, wrk -c$connections on CPU 1"
  echo "$result"
  echo "peak_rss_kib=$rss_kib"
  echo "openssl speed ecdsap256 (CPU 0): sign/s=$sign_s verify/s=$verify_s"
  echo "verify throughput / one-core verify ceiling = $ratio%"
} | tee ${OUT:+"$OUT"}
