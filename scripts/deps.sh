#!/usr/bin/env bash
# deps.sh: installs every build, test and run dependency from Debian 12
# packages. Idempotent: does nothing when all are present.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config clang clang-format
  libjansson-dev libsqlite3-dev sqlite3 libutf8proc-dev libstemmer-dev libssl-dev
  libcurl4-openssl-dev libmicrohttpd-dev libjwt-dev libhiredis-dev libpq-dev
  libpoppler-glib-dev libzip-dev libxml2-dev
  libcmocka-dev jq curl python3 python3-yaml systemd wrk
  wamerican wbritish wfrench wordnet-base tzdata
  postgresql redis-server nginx-light
)
# node >= 18 and npm for tests/integration/openai_client.sh. A node from
# elsewhere (NodeSource bundles npm) is kept: Debian's npm would conflict.
if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
  PKGS+=(nodejs npm)
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
