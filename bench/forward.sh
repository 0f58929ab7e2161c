#!/usr/bin/env bash
# Forward throughput of POST .../Calls.json with a CallToken (validate the token: one ES256
# verify; sign the DIV: one ES256 sign; store the call durably in SQLite with group commit),
# next to the one-core ceiling for that work, 1/(1/sign + 1/verify) from `openssl speed
# ecdsap256` in the same sitting. The gateway runs on CPU 0 with one I/O thread (the SQLite
# writer thread shares that core), wrk on CPU 1. No edge dial URL is configured, so the
# outbox does not add HTTP deliveries to the measurement.
#   DURATION (default 10s), CONNECTIONS (default 32), OUT (a file to append the report to)
source "$(dirname "$0")/common.sh"

sed -e "s|^threads = .*|threads = 1|" -e "s|^dial_url = .*|dial_url = \"\"|" \
    "$work/gw/stirgate.toml" > "$work/gw/bench.toml"
start_gateway "$work/gw/bench.toml"

# The inbound call's SHAKEN PASSporT (carried, not re-verified) and its CallToken.
"$bin" passport sign --key "$work/gw/keys/sti-key.pem" --x5u https://certs.bench.test/sti.pem \
  --orig +13105550100 --dest +15005550100 --attest A > "$work/ids.txt"
calltoken=$("$bin" calltoken mint --key "$work/gw/keys/platform-key.pem" --account "$sid" \
  --call-sid CA0123456789abcdef0123456789abcdef --from +13105550100 --to +15005550100 \
  --identities "$work/ids.txt")
STIRGATE_BENCH_BODY=$(TOKEN="$calltoken" python3 -c 'import os, urllib.parse
print(urllib.parse.urlencode({"To": "+16505550102", "From": "+13105550100",
      "Url": "https://app.example.com/twiml", "CallToken": os.environ["TOKEN"]}))')
export STIRGATE_BENCH_BODY

code=$(curl -s -o "$work/first.json" -w '%{http_code}' -H "Authorization: $STIRGATE_BENCH_AUTH" \
  -H 'Content-Type: application/x-www-form-urlencoded' \
  "http://127.0.0.1:$gw_port/2010-04-01/Accounts/$sid/Calls.json" -d "$STIRGATE_BENCH_BODY")
[ "$code" = 201 ] || { echo "bench: forward does not succeed ($code): $(cat "$work/first.json")" >&2; exit 1; }

result=$(run_wrk bench/calls_forward.lua "/2010-04-01/Accounts/$sid/Calls.json")
rss_kib=$(awk '/VmHWM/ {print $2}' "/proc/$gw_pid/status")
crypto_ceiling
rps=$(sed 's/.*rps=\([0-9.]*\).*/\1/' <<<"$result")
{
  echo "scenario: Calls API forward with a CallToken, 1 I/O thread on CPU 0, wrk -c$connections on CPU 1"
  echo "$result"
  echo "peak_rss_kib=$rss_kib"
  echo "openssl speed ecdsap256 (CPU 0): sign/s=$sign_s verify/s=$verify_s"
  awk -v a="$rps" -v s="$sign_s" -v v="$verify_s" 'BEGIN {c = 1 / (1 / s + 1 / v);
    printf "forward ceiling 1/(1/sign+1/verify) = %.1f/s; throughput / ceiling = %.1f%%\n", c, 100 * a / c}'
} | tee -a ${OUT:-/dev/null}
