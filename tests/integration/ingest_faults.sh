#!/usr/bin/env bash
# ingest_faults.sh: a commit that fails mid-ingest leaves the store and the
# index exactly as they were (needs a testing build: FD_FAULT points).
. "$(dirname "$0")/lib.bash"
if ! "$FD" version | grep -q "testing build"; then
  echo "skipped: not a testing build"; exit 0
fi
KB=$T/kb
mkdir -p "$KB"
printf '# Returns\nUnopened cartons may be returned within 30 days.\n' > "$KB/returns.md"
"$FD" ingest "$KB" >/dev/null 2>&1
check "first ingest works" [ "$("$FD" stats --json | jq .documents)" = 1 ]
v1=$("$FD" stats --json | jq .kb_version)
snap1=$(sha256sum "$FRONTDESK_DATA_DIR/index.snap" | cut -d' ' -f1)

printf '# Sentosa\nWe deliver to Sentosa on Tuesdays.\n' > "$KB/sentosa.md"
printf '# Returns\nUnopened cartons may be returned within 14 days.\n' > "$KB/returns.md"
FRONTDESK_FAULTS=store.commit "$FD" ingest --json "$KB" >/dev/null 2>"$T/err"; rc=$?
check "failed commit exits non-zero" [ $rc -ne 0 ]
check "failure is a JSON error with code io" [ "$(jq -r .error.code "$T/err")" = io ]
check "no document was added" [ "$("$FD" stats --json | jq .documents)" = 1 ]
check "version unchanged" [ "$("$FD" stats --json | jq .kb_version)" = "$v1" ]
check "index snapshot unchanged" [ "$(sha256sum "$FRONTDESK_DATA_DIR/index.snap" | cut -d' ' -f1)" = "$snap1" ]
j=$("$FD" search --json --mode bm25 returned cartons)
check "old content still served" grep -q "30 days" <<<"$(jq -r '.results[0].snippet' <<<"$j")"

"$FD" ingest "$KB" >/dev/null 2>&1
check "retry without the fault ingests both" [ "$("$FD" stats --json | jq .documents)" = 2 ]
finish
