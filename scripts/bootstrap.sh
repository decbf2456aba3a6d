#!/usr/bin/env bash
# Sets up llmrt on a fresh Debian 12 machine and runs one job.
#
#   scripts/bootstrap.sh run    install what is missing, build, prompt the bundled offline model
#   scripts/bootstrap.sh test   install what is missing, build, run the whole test suite (ctest)
#
# BUILD_DIR (default: build) and BUILD_TYPE (default: RelWithDebInfo) may be set in the environment.
set -euo pipefail

job="${1:-run}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$root/build}"
build_type="${BUILD_TYPE:-RelWithDebInfo}"

# Debian packages the build needs. Boost comes from the versioned 1.81 packages (Debian's default
# 1.74 has no Boost.JSON); never add an unversioned libboost-*-dev here, it pulls 1.74 back.
packages=(
  build-essential cmake pkg-config
  libboost1.81-dev libboost-json1.81-dev
  libcpp-httplib-dev libcli11-dev libssl-dev libsqlite3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  nginx-light  # the gateway's deployment test runs docs/serve.md's nginx front (skipped without)
)

install_missing_packages() {
  local missing=()
  for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$package")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return
  fi
  echo "bootstrap: installing ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
}

build() {
  cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE="$build_type" "${CMAKE_ARGS[@]}" >/dev/null
  cmake --build "$build_dir" -j"$(nproc)"
}

CMAKE_ARGS=()
case "$job" in
  run)
    install_missing_packages
    build
    "$build_dir/bin/llmrt" prompt "Hello"
    ;;
  test)
    install_missing_packages
    build
    ctest --test-dir "$build_dir" --output-on-failure -j"$(nproc)"
    ;;
  *)
    echo "usage: scripts/bootstrap.sh run|test" >&2
    exit 2
    ;;
esac
