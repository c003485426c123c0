#!/usr/bin/env bash
# Installs the Debian 12 packages sipshard needs to build, test and run its
# benchmarks, and nothing else. Idempotent: when everything is present it
# only runs dpkg-query and exits in well under a second. Run as root (or
# with sudo) on a machine that has at least apt.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build pkg-config make
  # libraries (found by CMake, never vendored)
  liburing-dev libconcurrentqueue-dev libmimalloc-dev libabsl-dev
  libbenchmark-dev libgtest-dev libgmock-dev libtomlplusplus-dev
  # fuzzers: clang with libFuzzer and the sanitizer runtimes
  clang libclang-rt-14-dev
  # interop runs and benchmarks: SIPp, process tools, Python for scripts
  sip-tester procps python3 iproute2
)
if [[ "${SIPSHARD_WITH_KAMAILIO:-0}" == 1 ]]; then
  packages+=(kamailio)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
