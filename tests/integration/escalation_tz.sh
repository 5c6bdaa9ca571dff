#!/usr/bin/env bash
# escalation_tz.sh: office hours in the zone escalation.toml names (issue
# 14: "a UK shop tells customers it is closed while open"). A shop open
# 09:00-17:00 in Europe/London: 08:30 UTC in July is 09:30 BST, open; in
# January 08:30 UTC is 08:30 GMT, closed; 16:30 UTC in July is 17:30 BST,
# closed. dialog.now is read as UTC here (dialog.tz_offset_min = 0). An
# unknown zone is refused with the reason.
. "$(dirname "$0")/lib.bash"
KB=$T/kb
mkdir -p "$KB/docs"
printf '# Opening hours\n\nWe are open Monday to Friday, 9am to 5pm.\n' > "$KB/docs/hours.md"
cat > "$KB/escalation.toml" <<'TOML'
[tiers]
names = ["bot", "agent"]
default = "bot"

[rules.person]
tier = "agent"
priority = 1
keywords = ["speak to someone"]
reason = "Customer asked for a person"

[hours]
timezone = "Europe/London"
weekdays = "09:00-17:00"
saturday = "closed"
sunday = "closed"
out_of_hours_message = "We are closed now; we will call you back."
TOML
"$FD" ingest "$KB" > /dev/null 2>&1 || { fail "ingest"; finish; }
export FRONTDESK_DIALOG_TZ_OFFSET_MIN=0
online() { FRONTDESK_DIALOG_NOW=$1 "$FD" ask --json "can I speak to someone please" 2> /dev/null | jq -r '.escalation.online'; }
check "Wednesday 15 July 08:30 UTC = 09:30 BST: staffed" test "$(online 2026-07-15T08:30)" = true
check "Wednesday 14 January 08:30 UTC = 08:30 GMT: offline" test "$(online 2026-01-14T08:30)" = false
check "Wednesday 15 July 16:30 UTC = 17:30 BST: offline" test "$(online 2026-07-15T16:30)" = false
check "Wednesday 14 January 16:30 UTC = 16:30 GMT: staffed" test "$(online 2026-01-14T16:30)" = true
FRONTDESK_DIALOG_NOW=2026-07-15T16:30 "$FD" ask --json "can I speak to someone please" 2> /dev/null > "$T/r.json"
check "offline: the out-of-hours message" jq -e '.answer|test("closed now")' "$T/r.json"

sed -i 's|Europe/London|Europe/Atlantis|' "$KB/escalation.toml"
"$FD" ingest "$KB" > /dev/null 2>&1
"$FD" ask --json "hello" > /dev/null 2> "$T/err"; rc=$?
check "an unknown zone: refused with the reason, naming timezone" bash -c "[ $rc != 0 ] && jq -e '(.error.message|test(\"Europe/Atlantis\")) and .error.field==\"timezone\"' '$T/err' > /dev/null"
finish
