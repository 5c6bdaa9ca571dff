# lib.bash: helpers for integration tests (sourced). $FD is the binary.
set -u
FD=${1:?usage: test.sh path/to/frontdesk}
T=$(mktemp -d "${TMPDIR:-/tmp}/fdit.XXXXXX")
trap 'rm -rf "$T"' EXIT
export FRONTDESK_DATA_DIR="$T/var"
export FRONTDESK_LOG_LEVEL=warn
FAILS=0
ok()   { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
# check DESC CMD...: passes when CMD succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else fail "$d"; fi; }
finish() { if [ "$FAILS" -gt 0 ]; then echo "$FAILS failure(s)"; exit 1; fi; echo "all passed"; exit 0; }
