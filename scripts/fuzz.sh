#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (clang 14, ASan + UBSan, build/fuzz) and runs them on
# seed corpora generated from tests/vectors (docs/fuzzing.md).
#   scripts/fuzz.sh build             build only
#   scripts/fuzz.sh smoke             build, then each target for FUZZ_SMOKE_SECONDS (default 15)
#   scripts/fuzz.sh long SECONDS      build, then each target for SECONDS, FUZZ_JOBS at a time
#   scripts/fuzz.sh run TARGET ARGS.. one target with libFuzzer arguments (e.g. a crash file)
# Fails on the first crash, leak, sanitizer report or broken invariant; the input that caused
# it is left in build/fuzz/findings/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/fuzz
targets=(identity_header passport calltoken form call_address tnauthlist config http_request sip_message)

build_targets() {
  cmake -S fuzz -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ >/dev/null
  cmake --build "$build" -j"$(nproc)"
  rm -rf "$build/seeds"
  python3 fuzz/make_seeds.py "$build/seeds"
}

# run_target NAME SECONDS: fuzzes NAME for SECONDS on a working corpus seeded from the vectors
# (build/fuzz/corpus/NAME keeps what earlier runs found). Prints one summary line.
run_target() {
  local name=$1 seconds=$2
  local corpus="$build/corpus/$name" findings="$build/findings/$name" log="$build/logs/$name.log"
  mkdir -p "$corpus" "$findings" "$build/logs"
  local rc=0
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=16384 -print_final_stats=1 -artifact_prefix="$findings/" \
      "$corpus" "$build/seeds/$name" >"$log" 2>&1 || rc=$?
  local execs
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  if ((rc != 0)); then
    echo "fuzz $name: FAILED after $execs executions (exit $rc); log $log, input in $findings/"
    grep -m1 -E 'ERROR: |runtime error|invariant broken|deadly signal' "$log" || true
    return 1
  fi
  echo "fuzz $name: ${seconds}s, $execs executions, no crash; corpus $(ls "$corpus" | wc -l) files"
}

mode=${1:-smoke}
case "$mode" in
  build)
    build_targets ;;
  smoke)
    build_targets
    status=0
    for t in "${targets[@]}"; do run_target "$t" "${FUZZ_SMOKE_SECONDS:-15}" || status=1; done
    exit $status ;;
  long)
    seconds=${2:?usage: scripts/fuzz.sh long SECONDS}
    build_targets
    jobs=${FUZZ_JOBS:-1}
    status=0
    pids=()
    for t in "${targets[@]}"; do
      run_target "$t" "$seconds" &
      pids+=($!)
      if ((${#pids[@]} >= jobs)); then wait "${pids[0]}" || status=1; pids=("${pids[@]:1}"); fi
    done
    for p in "${pids[@]}"; do wait "$p" || status=1; done
    exit $status ;;
  run)
    name=${2:?usage: scripts/fuzz.sh run TARGET [libFuzzer args]}
    shift 2
    exec "$build/fuzz_$name" "$@" ;;
  *)
    echo "usage: scripts/fuzz.sh [build|smoke|long SECONDS|run TARGET ARGS...]" >&2
    exit 2 ;;
esac
