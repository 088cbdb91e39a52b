#!/usr/bin/env bash
# Installs exactly what the build, the node and the tests need, from Debian 12 packages. Idempotent.
# With --bench, also what the benchmarks use: nginx (the fixed-reply server of beacon-bench --http
# and bench/sim-http.sh), wrk (the HTTP load of bench/sim-http.sh) and curl.
set -euo pipefail
packages=(
  g++ clang libclang-rt-14-dev cmake ninja-build pkg-config ccache clang-format
  libcaf-dev libpqxx-dev libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libspdlog-dev libcurl4-openssl-dev libssl-dev openssl libsodium-dev libcli11-dev libjemalloc-dev
  postgresql
  chromium chromium-driver
  nodejs
)
if [ "${1:-}" = "--bench" ]; then packages+=(nginx wrk curl); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "installing: ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
