#!/usr/bin/env bash
# Installs what is missing, builds, and runs the main job: sipshard in the
# foreground on the bundled config (deploy/sipshard.toml, UDP 127.0.0.1:5060).
# Extra arguments go to sipshard (e.g. --config FILE). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target sipshard
exec build/sipshard "$@"
