#!/usr/bin/env bash
# deps.sh [--test]: installs the Debian 12 packages frontdesk needs.
#   (no flag)  what building and running it takes: `make run`, `make install`
#   --test     that plus what the test suite, fuzzing and benchmarks start
#              (cmocka, clang, PostgreSQL, Redis, nginx, Chromium, wrk, node, jq, ...)
# Idempotent: does nothing when all are present.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config
  libjansson-dev libsqlite3-dev libutf8proc-dev libstemmer-dev libssl-dev
  libcurl4-openssl-dev libmicrohttpd-dev libjwt-dev libhiredis-dev libpq-dev
  libpoppler-glib-dev libzip-dev libxml2-dev libsodium-dev
  wamerican wbritish wfrench wordnet-base tzdata
)
if [ "${1:-}" = "--test" ]; then
  PKGS+=(
    clang clang-format libcmocka-dev
    jq curl sqlite3 python3 python3-yaml systemd wrk
    postgresql redis-server nginx-light chromium
  )
  # node >= 18 and npm for tests/integration/openai_client.sh and the
  # browser tests. A node from elsewhere (NodeSource bundles npm) is kept:
  # Debian's npm would conflict.
  if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
    PKGS+=(nodejs npm)
  fi
elif [ -n "${1:-}" ]; then
  echo "usage: scripts/deps.sh [--test]" >&2
  exit 2
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
