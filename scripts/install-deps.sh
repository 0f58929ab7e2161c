#!/usr/bin/env bash
# Installs the Debian 12 packages stirgate needs to build, test and run. Idempotent.
set -euo pipefail
packages=(
  cmake ninja-build g++ ccache pkg-config          # build
  libboost-dev libssl-dev rapidjson-dev             # Beast/Asio, OpenSSL 3, RapidJSON
  libsqlite3-dev libtomlplusplus-dev                # storage, config
  libosip2-dev                                      # RFC 3261 parser of the SIP face (src/sip)
  libpq-dev postgresql-15                           # PostgreSQL store and its test server
  catch2 python3 python3-jwt python3-cryptography openssl  # tests and independent verifiers
  python3-twilio                                    # a Twilio app written with Twilio's helper library
  ca-certificates
  haproxy                                           # load-balancer integration test
  sip-tester                                        # SIPp, the SBC of tests/integration/sip_test
  kamailio                                          # deploy/kamailio reference proxy, its e2e test
  clang libclang-rt-14-dev                          # libFuzzer + sanitizers (scripts/fuzz.sh)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The OpenAPI linter run by CTest (openapi_lint), pinned by tools/openapi-lint/package-lock.json.
if ! command -v npm >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm
fi
(cd "$(dirname "$0")/../tools/openapi-lint" && npm ci --no-audit --no-fund --loglevel=error)
