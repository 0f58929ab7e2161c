# Shared set-up for the benchmark scripts (sourced): Release build, a development gateway
# directory from `stirgate init`, wrk and curl, the one-core crypto ceiling, clean-up.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
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

"$bin" init --dir "$work/gw" >/dev/null
sid=$(sed -n 's/^sid = "\(.*\)"/\1/p' "$work/gw/stirgate.toml")
token=$(sed -n '/^\[\[accounts\]\]/,/^\[\[accounts.numbers\]\]/s/^auth_token = "\(.*\)"/\1/p' "$work/gw/stirgate.toml")
export STIRGATE_BENCH_AUTH="Basic $(printf '%s:%s' "$sid" "$token" | base64 -w0)"
gw_port=$(free_port)

# start_gateway CONFIG: the gateway pinned to CPU 0 with the config's threads; waits for /healthz.
start_gateway() {
  taskset -c 0 "$bin" serve --config "$1" --listen "127.0.0.1:$gw_port" >"$work/gw.log" 2>&1 &
  gw_pid=$!
  pids+=($gw_pid)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$gw_port/healthz" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "bench: the gateway did not start" >&2; cat "$work/gw.log" >&2; exit 1
}

# run_wrk LUA PATH: warm-up, then the measured run on CPU 1; prints the RESULT line.
run_wrk() {
  taskset -c 1 wrk -t1 -c"$connections" -d3s -s "$1" "http://127.0.0.1:$gw_port$2" >/dev/null
  local out
  out=$(taskset -c 1 wrk -t1 -c"$connections" -d"$duration" --latency -s "$1" \
    "http://127.0.0.1:$gw_port$2" | grep '^RESULT')
  case "$out" in *"unexpected=0"*) ;; *) echo "bench: unexpected answers: $out" >&2; exit 1;; esac
  echo "$out"
}

# ES256 signs/s and verifies/s of one core (CPU 0), same sitting: sets sign_s and verify_s.
crypto_ceiling() {
  local speed
  speed=$(taskset -c 0 openssl speed -seconds 3 ecdsap256 2>/dev/null | awk '/256 bits ecdsa/ {print $7, $8}')
  sign_s=${speed% *}
  verify_s=${speed#* }
}
