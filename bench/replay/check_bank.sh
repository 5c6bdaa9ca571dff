#!/usr/bin/env bash
# check_bank.sh: checks the question bank against the example knowledge base.
#   bench/replay/check_bank.sh BUILD_DIR [questions.tsv]
#
# Ingests examples/packaging-supplier into a temp data dir and asks every
# "question" line with `frontdesk ask --json` (no LLM). A line passes when
# it is answered, on the knowledge route, and cites the page named in the
# "# doc:" comment above it (or one of "a.md or b.md"). Prints one line per failure and a summary;
# exits 1 when any line fails. Run it after editing questions.tsv.
set -euo pipefail

usage() { echo "usage: bench/replay/check_bank.sh BUILD_DIR [questions.tsv]" >&2; exit 2; }
if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
B=$(cd "$1" && pwd) || usage
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BANK=${2:-$HERE/questions.tsv}
FD=$B/frontdesk
die() { echo "check_bank: $*" >&2; exit 1; }
[ -x "$FD" ] || die "$FD not found (build first)"
[ -r "$BANK" ] || die "cannot read $BANK"
command -v jq > /dev/null || die "jq not found"

T=$(mktemp -d "${TMPDIR:-/tmp}/fdbank.XXXXXX")
trap 'rm -rf "$T"' EXIT
export FRONTDESK_DATA_DIR=$T/data FRONTDESK_LOG_LEVEL=error
unset FRONTDESK_LLM_BASE_URL
"$FD" ingest "$ROOT/examples/packaging-supplier" > "$T/ingest.log" 2>&1 || {
  cat "$T/ingest.log" >&2
  die "ingest failed"
}

n=0 bad=0 doc=""
while IFS=$'\t' read -r kind id _intent _topic text; do
  case $kind in
    "# doc: "*) doc=${kind#"# doc: "} ;; # "a.md" or "a.md or products.csv#CODE"
  esac
  [ "$kind" = question ] || continue
  n=$((n + 1))
  r=$("$FD" ask --json "$text" 2> /dev/null) || { echo "FAIL $id: ask failed: $text"; bad=$((bad + 1)); continue; }
  why=$(jq -r --arg doc "$doc" '
    if .answered != true then "not answered"
    elif .route != "knowledge" then "route \(.route)"
    elif ($doc != "" and ([.citations[].document | sub(".*/"; "")] as $c
                          | [$doc | split(" or ")[] | select(. as $d | $c | index($d))] | length) == 0)
      then "cites \([.citations[].document | sub(".*/"; "")] | join(",")), not \($doc)"
    else "" end' <<< "$r")
  if [ -n "$why" ]; then
    echo "FAIL $id: $why: $text"
    bad=$((bad + 1))
  fi
done < "$BANK"
echo "check_bank: $((n - bad))/$n questions answered from their page"
[ "$bad" = 0 ]
