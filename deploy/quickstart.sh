#!/usr/bin/env bash
# Quickstart: install packages, build in Release, create a development setup (config plus test
# keys) on first run, and run the gateway in the foreground. Ctrl-C stops it.
#   DIR (default ./stirgate-dev) holds the config and keys; LISTEN (default 127.0.0.1:8080).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=build/release
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTIRGATE_TESTS=OFF
cmake --build "$build" -j"$(nproc)" --target stirgate
dir=${DIR:-./stirgate-dev}
listen=${LISTEN:-127.0.0.1:8080}
"$build/stirgate" init --dir "$dir" --listen "$listen"
exec "$build/stirgate" serve --config "$dir/stirgate.toml"
