#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test through ctest:
#   1. unit + integration tests (gcc, warnings as errors),
#   2. libFuzzer targets under ASan+UBSan (clang): the regression corpus,
#      then SIPSHARD_FUZZ_SECONDS (default 60) of fuzzing per target.
# This is the README's test command and exactly what .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh

jobs=$(nproc)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIPSHARD_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 300

if [[ "${SIPSHARD_SKIP_FUZZ:-0}" != 1 ]]; then
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++ -DSIPSHARD_FUZZ=ON -DSIPSHARD_SANITIZE=ON \
    -DSIPSHARD_BUILD_TESTS=OFF -DSIPSHARD_BUILD_BENCH=OFF -DSIPSHARD_WERROR=ON \
    -DSIPSHARD_FUZZ_SECONDS="${SIPSHARD_FUZZ_SECONDS:-60}" >/dev/null
  cmake --build build-fuzz -j"$jobs" --target parser_fuzz uri_fuzz stream_framer_fuzz
  ctest --test-dir build-fuzz --output-on-failure -L fuzz
fi
