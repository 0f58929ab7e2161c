#!/usr/bin/env bash
# Builds stirgate with AddressSanitizer + UBSan and -Werror, then runs every test (unit,
# vectors, independent verifiers, real server on loopback), then a short run of each fuzz
# target. This is what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)
build=build/test
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSTIRGATE_SANITIZE=ON -DSTIRGATE_WERROR=ON
cmake --build "$build" -j"$jobs"
ctest --test-dir "$build" --output-on-failure -j"$jobs" --timeout 300
# libFuzzer targets (clang, ASan + UBSan), each for a bounded time: docs/fuzzing.md.
scripts/fuzz.sh smoke
