# Shared by bench/run.sh and bench/callgrind.sh (sourced from the repository root): tools,
# Release build, the fixtures (development PKI, HTTPS certificate repository, test application),
# the request bodies of the four scenarios, and helpers to start the gateway and run wrk.

duration=${DURATION:-15s}
warmup=${WARMUP:-3s}
connections=${CONNECTIONS:-32}
paced_share=${PACED_SHARE:-0.8}
idle_n=${IDLE_CONNECTIONS:-10000}
scenarios=${SCENARIOS:-verify sign forward forward_normal forward_pg forward_pg_cluster webhook}
two_core=${TWO_CORE:-1}
out_dir=${OUT_DIR:-bench}
build=${BUILD_DIR:-build/release}
storage_sync=${STORAGE_SYNC:-}  # "" = the gateway's default (full)
gw_sync=$storage_sync
gw_store=sqlite  # or postgres: the scenario's database (forward_pg)
started=$(date +%s)

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---- tools and build ------------------------------------------------------------------------
scripts/install-deps.sh
need=()
for p in wrk curl gnuplot-nox procps util-linux haproxy; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if ((${#need[@]})); then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log "installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ "$(nproc)" -lt 2 ]; then echo "bench: needs two CPUs (gateway on 0, load on 1)" >&2; exit 1; fi

log "building Release in $build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTIRGATE_TESTS=OFF \
  -DSTIRGATE_SANITIZE=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target stirgate >/dev/null
bin=$root/$build/stirgate
g++ -std=c++20 -O2 -Wall -Wextra -o "$build/bench_app_stub" bench/app_stub.cpp

# Enough descriptors for the idle-connection run (the gateway and the client inherit this).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((idle_n + 1000)) ]; then
  ulimit -Hn $((idle_n + 4096)) 2>/dev/null && ulimit -n $((idle_n + 4096)) || true
fi

work=$(mktemp -d)
pids=()
pg_dir=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "$pg_dir" ] && pg_run pg_ctl -D "$pg_dir/data" -m fast -w stop >/dev/null 2>&1 || true
  [ -n "$pg_dir" ] && rm -rf "$pg_dir"
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---- fixtures: development PKI, certificate repository, test application ----------------------
"$bin" init --dir "$work/gw" >/dev/null
sid=$(sed -n 's/^sid = "\(.*\)"/\1/p' "$work/gw/stirgate.toml")
token=$(sed -n '/^\[\[accounts\]\]/,/^\[\[accounts.numbers\]\]/s/^auth_token = "\(.*\)"/\1/p' "$work/gw/stirgate.toml")
edge_token=$(sed -n '/^\[edge\]/,/^\[/s/^auth_token = "\(.*\)"/\1/p' "$work/gw/stirgate.toml")
auth="Basic $(printf '%s:%s' "$sid" "$token" | base64 -w0)"
gw_port=$(free_port)

# The x5u repository: HTTPS on loopback (openssl s_server), fetched once, then cached.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=certs.bench.test" -addext "subjectAltName=DNS:certs.bench.test" \
  -keyout "$work/tls-key.pem" -out "$work/tls-cert.pem" 2>/dev/null
mkdir -p "$work/www"
cp "$work/gw/keys/sti-chain.pem" "$work/www/sti.pem"
repo_port=$(free_port)
(cd "$work/www" && exec taskset -c 1 openssl s_server -quiet -WWW -accept "127.0.0.1:$repo_port" \
  -cert "$work/tls-cert.pem" -key "$work/tls-key.pem" >/dev/null 2>&1) &
pids+=($!)

# The customer application for the webhook: answers at once, on the load tool's core.
app_port=$(free_port)
taskset -c 1 "$build/bench_app_stub" "$app_port" &
pids+=($!)

# ---- PostgreSQL 15 for forward_pg: on CPU 1 (the load's core), durable as in production -----
# (fsync on, synchronous_commit on: a 201 means the commit reached the WAL on disk, as SQLite's
# synchronous=FULL). As root the server runs as the user postgres (initdb refuses root).
pg_bin=/usr/lib/postgresql/15/bin
pg_run() {
  local tool=$1; shift
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$pg_bin/$tool" "$@"
  else "$pg_bin/$tool" "$@"; fi
}
pg_databases=0
start_postgres() {
  [ -n "$pg_dir" ] && return
  pg_dir=$(mktemp -d /tmp/stirgate-bench-pg-XXXXXX)
  [ "$(id -u)" -eq 0 ] && chown postgres: "$pg_dir"
  pg_port=$(free_port)
  pg_run initdb -D "$pg_dir/data" -U stirgate -A trust -E UTF8 --locale=C >/dev/null
  if [ "$(id -u)" -eq 0 ]; then
    taskset -c 1 runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_dir -c synchronous_commit=on -c fsync=on" start >/dev/null
  else
    taskset -c 1 "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_dir -c synchronous_commit=on -c fsync=on" start >/dev/null
  fi
  log "PostgreSQL 15 on 127.0.0.1:$pg_port (CPU 1, synchronous_commit=on, fsync=on)"
}
# A fresh, empty database for each gateway start; its URL in pg_url.
new_pg_database() {
  pg_databases=$((pg_databases + 1))
  pg_run psql -q -h "$pg_dir" -p "$pg_port" -U stirgate -d postgres \
    -c "CREATE DATABASE bench_$pg_databases" >/dev/null
  pg_url="postgresql://stirgate@127.0.0.1:$pg_port/bench_$pg_databases"
}

# write_config THREADS: the bench configuration (tokens signed once stay valid for the whole
# run: iat window 1 h; no edge dial URL, so the outbox adds no deliveries to the forward).
write_config() {
  local db_url="sqlite://$work/bench.db"
  [ -n "${gw_sync:-}" ] && db_url="$db_url?synchronous=$gw_sync"
  if [ "$gw_store" = postgres ]; then start_postgres; new_pg_database; db_url=$pg_url; fi
  sed -e "s|^threads = .*|threads = $1|" \
      -e "s|^iat_window_s = .*|iat_window_s = 3600|" \
      -e "s|^fetch_timeout_ms = .*|fetch_timeout_ms = ${FETCH_TIMEOUT_MS:-2000}|" \
      -e "s|^x5u_resolve = .*|x5u_resolve = [\"certs.bench.test:443:127.0.0.1:$repo_port\"]|" \
      -e "s|^fetch_ca_file = .*|fetch_ca_file = \"$work/tls-cert.pem\"|" \
      -e "s|^url = \"sqlite://.*|url = \"$db_url\"|" \
      -e "s|^public_url = .*|public_url = \"http://127.0.0.1:$gw_port\"|" \
      -e "s|^dial_url = .*|dial_url = \"\"|" \
      -e "s|^voice_url = .*|voice_url = \"http://127.0.0.1:$app_port/voice\"|" \
      "$work/gw/stirgate.toml" > "$work/gw/bench.toml"
  # extra_config: TOML appended as it is (bench/sip.sh: the [sip] face and its peer).
  [ -n "${extra_config:-}" ] && printf '%s\n' "$extra_config" >> "$work/gw/bench.toml"
  return 0
}

# start_gateway THREADS CPUS: a fresh database each time; waits for /healthz.
start_gateway() {
  write_config "$1"
  rm -f "$work"/bench.db*
  local pin=()
  [ -n "$2" ] && pin=(taskset -c "$2")
  # gateway_wrapper: e.g. valgrind (bench/callgrind.sh); word-split on purpose.
  # shellcheck disable=SC2086
  "${pin[@]}" ${gateway_wrapper:-} "$bin" serve --config "$work/gw/bench.toml" \
    --listen "127.0.0.1:$gw_port" >"$work/gw.log" 2>&1 &
  gw_pid=$!
  pids+=($gw_pid)
  for _ in $(seq 1200); do
    curl -sf "http://127.0.0.1:$gw_port/healthz" >/dev/null 2>&1 && return
    kill -0 "$gw_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "bench: the gateway did not start" >&2; cat "$work/gw.log" >&2; exit 1
}
# start_cluster: two gateways (one I/O thread each, unpinned) on one fresh PostgreSQL database,
# and haproxy (one thread, unpinned) in front of them on lb_port; target_port points wrk and
# first_request at haproxy. Waits until both instances answer through it.
start_cluster() {
  local haproxy
  haproxy=$(command -v haproxy || echo /usr/sbin/haproxy)
  write_config 1
  gw2_port=$(free_port)
  lb_port=$(free_port)
  "$bin" serve --config "$work/gw/bench.toml" --listen "127.0.0.1:$gw_port" >"$work/gw.log" 2>&1 &
  gw_pid=$!; pids+=($gw_pid)
  "$bin" serve --config "$work/gw/bench.toml" --listen "127.0.0.1:$gw2_port" >"$work/gw2.log" 2>&1 &
  gw2_pid=$!; pids+=($gw2_pid)
  cat > "$work/haproxy.cfg" <<CFG
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 30s
frontend public
  bind 127.0.0.1:$lb_port
  default_backend stirgate
backend stirgate
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter 500ms fall 2 rise 1
  server a 127.0.0.1:$gw_port check
  server b 127.0.0.1:$gw2_port check
CFG
  "$haproxy" -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
  lb_pid=$!; pids+=($lb_pid)
  local up=0
  for _ in $(seq 1200); do
    curl -sf "http://127.0.0.1:$gw_port/readyz" >/dev/null 2>&1 &&
      curl -sf "http://127.0.0.1:$gw2_port/readyz" >/dev/null 2>&1 &&
      curl -sf "http://127.0.0.1:$lb_port/readyz" >/dev/null 2>&1 && { up=1; break; }
    sleep 0.05
  done
  if [ "$up" != 1 ]; then
    echo "bench: the cluster did not start" >&2; cat "$work/gw.log" "$work/gw2.log" "$work/haproxy.log" >&2; exit 1
  fi
  sleep 1  # both servers up in haproxy's view (rise 1, inter 500 ms)
  target_port=$lb_port
}
# A wrapper such as strace runs the gateway as its child: stop the child first.
stop_gateway() {
  pkill -TERM -P "$gw_pid" 2>/dev/null || true
  kill "$gw_pid" 2>/dev/null || true; wait "$gw_pid" 2>/dev/null || true
  if [ -n "${gw2_pid:-}" ]; then
    kill "$gw2_pid" "$lb_pid" 2>/dev/null || true; wait "$gw2_pid" "$lb_pid" 2>/dev/null || true
    gw2_pid=""; lb_pid=""
  fi
  target_port=""
}

# ---- request bodies ------------------------------------------------------------------------
now=$(date +%s)
verify_identity=$("$bin" passport sign --key "$work/gw/keys/sti-key.pem" \
  --x5u https://certs.bench.test/sti.pem --orig +13105550100 --dest +14155550101 --attest A)
verify_body=$(IDENTITY="$verify_identity" NOW="$now" python3 -c 'import json, os
print(json.dumps({"verificationRequest": {"from": {"tn": "13105550100"}, "to": {"tn": ["14155550101"]},
      "time": int(os.environ["NOW"]), "identity": os.environ["IDENTITY"]}}, separators=(",", ":")))')

sign_body="{\"signingRequest\":{\"attest\":\"A\",\"dest\":{\"tn\":[\"14155550101\"]},\"iat\":$now,\"orig\":{\"tn\":\"13105550100\"},\"origid\":\"4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55\"}}"

# Forward: the inbound call's SHAKEN PASSporT (carried, not re-verified) and its CallToken.
"$bin" passport sign --key "$work/gw/keys/sti-key.pem" --x5u https://certs.bench.test/sti.pem \
  --orig +13105550100 --dest +15005550100 --attest A > "$work/ids.txt"
calltoken=$("$bin" calltoken mint --key "$work/gw/keys/platform-key.pem" --account "$sid" \
  --call-sid CA0123456789abcdef0123456789abcdef --from +13105550100 --to +15005550100 \
  --identities "$work/ids.txt")
forward_body=$(TOKEN="$calltoken" python3 -c 'import os, urllib.parse
print(urllib.parse.urlencode({"To": "+16505550102", "From": "+13105550100",
      "Url": "https://app.example.com/twiml", "CallToken": os.environ["TOKEN"]}))')

# Webhook: the edge's form for a call to the account's number with one SHAKEN Identity, signed
# with the edge token over the public URL. No CallSid: the gateway assigns one, so every
# request is a new call (verify, mint a CallToken, store, post to the app).
webhook_identity=$(head -n1 "$work/ids.txt")
read -r webhook_body webhook_signature < <(IDENTITY="$webhook_identity" TOKEN="$edge_token" \
  URL="http://127.0.0.1:$gw_port/webhooks/incoming-call" python3 -c '
import base64, hashlib, hmac, os, urllib.parse
params = [("CallStatus", "ringing"), ("Direction", "inbound"), ("From", "+13105550100"),
          ("To", "+15005550100"), ("Identity", os.environ["IDENTITY"])]
signed = os.environ["URL"] + "".join(k + v for k, v in sorted(params))
mac = hmac.new(os.environ["TOKEN"].encode(), signed.encode(), hashlib.sha1).digest()
print(urllib.parse.urlencode(params, quote_via=urllib.parse.quote), base64.b64encode(mac).decode())')

# scenario table: lua script, path, body, content type, expected first answer, ceiling kind
declare -A lua path body ctype expect ceiling title
lua[verify]=bench/atis_verify.lua;   path[verify]=/stir/v1/verification; body[verify]=$verify_body
ctype[verify]=application/json;      expect[verify]=TN-Validation-Passed;  ceiling[verify]=verify
title[verify]="ATIS verification (cached cert)"
lua[sign]=bench/atis_sign.lua;       path[sign]=/stir/v1/signing;          body[sign]=$sign_body
ctype[sign]=application/json;        expect[sign]=signingResponse;         ceiling[sign]=sign
title[sign]="ATIS signing"
lua[forward]=bench/calls_forward.lua; path[forward]=/2010-04-01/Accounts/$sid/Calls.json
body[forward]=$forward_body;         ctype[forward]=application/x-www-form-urlencoded
expect[forward]='"status":"queued"'; ceiling[forward]=both
title[forward]="Calls API forward (CallToken)"
# The forward again with the database opened ?synchronous=normal (durable against a crash of
# the process, not against power loss): the price of FULL's fsync per group commit.
lua[forward_normal]=${lua[forward]}; path[forward_normal]=${path[forward]}
body[forward_normal]=$forward_body;  ctype[forward_normal]=${ctype[forward]}
expect[forward_normal]=${expect[forward]}; ceiling[forward_normal]=both
title[forward_normal]="Calls API forward, synchronous=normal"
# The forward on PostgreSQL (issue #13): the same requests, the store on a database server on
# the other core with synchronous_commit=on, the gateway's default pool (4 connections).
lua[forward_pg]=${lua[forward]}; path[forward_pg]=${path[forward]}
body[forward_pg]=$forward_body;  ctype[forward_pg]=${ctype[forward]}
expect[forward_pg]=${expect[forward]}; ceiling[forward_pg]=both
title[forward_pg]="Calls API forward, PostgreSQL"
# The same forward on two instances sharing one PostgreSQL database behind haproxy (issue #13's
# cluster): wrk talks to haproxy, which balances round robin over the instances' keep-alive
# connections.
lua[forward_pg_cluster]=${lua[forward]}; path[forward_pg_cluster]=${path[forward]}
body[forward_pg_cluster]=$forward_body;  ctype[forward_pg_cluster]=${ctype[forward]}
expect[forward_pg_cluster]=${expect[forward]}; ceiling[forward_pg_cluster]=both
title[forward_pg_cluster]="Calls API forward, PostgreSQL, two instances behind haproxy"
lua[webhook]=bench/incoming_call.lua; path[webhook]=/webhooks/incoming-call; body[webhook]=$webhook_body
ctype[webhook]=application/x-www-form-urlencoded; expect[webhook]='<Say>verified</Say>'
ceiling[webhook]=both
title[webhook]="Incoming-call webhook"

ceiling_of() {  # KIND SIGN VERIFY
  awk -v k="$1" -v s="$2" -v v="$3" 'BEGIN { if (s == "" || v == "") { print ""; exit }
    if (k == "verify") printf "%.0f", v; else if (k == "sign") printf "%.0f", s;
    else printf "%.0f", 1 / (1 / s + 1 / v) }'
}

# One request by curl first: it must succeed (and it fills the certificate cache).
first_request() {
  local s=$1 extra=()
  if [ "$s" = webhook ]; then extra=(-H "X-Twilio-Signature: $webhook_signature")
  else extra=(-H "Authorization: $auth"); fi
  local answer
  answer=$(curl -s -H "Content-Type: ${ctype[$s]}" "${extra[@]}" \
    "http://127.0.0.1:${target_port:-$gw_port}${path[$s]}" --data-binary "${body[$s]}") || true
  case "$answer" in *"${expect[$s]}"*) ;;
    *) echo "bench: $s does not succeed: $answer" >&2; cat "$work/gw.log" >&2; exit 1;; esac
}

# run_wrk SCENARIO CPUS SECONDS [RATE]: prints the RESULT line; fails on any unexpected answer.
run_wrk() {
  local s=$1 pin=() out
  [ -n "$2" ] && pin=(taskset -c "$2")
  out=$(STIRGATE_BENCH_BODY="${body[$s]}" STIRGATE_BENCH_AUTH="$auth" \
        STIRGATE_BENCH_SIGNATURE="$webhook_signature" STIRGATE_BENCH_RATE="${4:-}" \
        "${pin[@]}" wrk -t1 -c"$connections" -d"$3" --timeout 10s --latency -s "${lua[$s]}" \
        "http://127.0.0.1:${target_port:-$gw_port}${path[$s]}" | grep '^RESULT' || true)
  case "$out" in
    *" socket_errors=0 unexpected=0"*) ;;
    *) echo "bench: $s: unexpected answers or socket errors: ${out:-no RESULT line}" >&2
       tail -n 5 "$work/gw.log" >&2; exit 1;;
  esac
  echo "$out"
}
field() { sed -n "s/.*[ ]$1=\([0-9.]*\).*/\1/p" <<<"$2"; }

