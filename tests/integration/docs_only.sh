#!/usr/bin/env bash
# docs_only.sh: a knowledge base of documents only (no intents.tsv, no
# escalation.toml, no tone.md) still greets, thanks, says goodbye and hands
# over to a person when asked, in English and French (issue 14), and never
# takes a question for small talk.
. "$(dirname "$0")/lib.bash"
KB=$T/kb
mkdir -p "$KB/docs"
printf '# Opening hours\n\nWe are open Monday to Friday, 9am to 5pm.\n' > "$KB/docs/hours.md"
"$FD" ingest "$KB" > /dev/null 2>&1 || { fail "ingest"; finish; }
ask() { "$FD" ask --json "$1" 2> /dev/null; }
route() { ask "$1" | jq -r .route; }
for m in "hello" "hi there!" "good morning" "bonjour" "thanks!" "thank you so much" "merci beaucoup" "bye" "au revoir"; do
  check "'$m': a template" test "$(route "$m")" = template
done
check "greeting with no company name: no placeholder, no example business" bash -c "'$FD' ask --json hello 2>/dev/null | jq -e '.answer == \"Hello, I'\''m the assistant here. What can I help you with?\"' > /dev/null"
check "French greeting in French" bash -c "'$FD' ask --json bonjour 2>/dev/null | jq -e '.answer|test(\"^Bonjour\")' > /dev/null"
ask "can I talk to a real person" > "$T/p.json"
check "'can I talk to a real person': a ticket and the hand-over words" jq -e '.route=="escalation" and (.escalation.ticket|test("^HD-")) and (.answer|test("member of our team"))' "$T/p.json" > /dev/null
ask "je voudrais parler à un conseiller" > "$T/pf.json"
check "'je voudrais parler à un conseiller': a ticket, in French" jq -e '.route=="escalation" and (.answer|test("équipe"))' "$T/pf.json" > /dev/null
for m in "when are you open?" "hi, when are you open" "thanks, and are you open on saturday?" "hello 500 boxes"; do
  check "'$m': not small talk" test "$(route "$m")" != template
done
check "'hi, when are you open': answered from the page" bash -c "'$FD' ask --json 'hi, when are you open' 2>/dev/null | jq -e '.answer|test(\"9am to 5pm\")' > /dev/null"

# ---- the decline's offer to pass the question on is an offer -------------------------
# in SESSION: ask a message in the session (started by the first question)
asks() { "$FD" ask --json --session "$1" "$2" 2> /dev/null; }
ask "do you do botox" > "$T/d.json"
S=$(jq -r .session_id "$T/d.json")
check "a question the pages do not answer: declined with the offer" jq -e '.answered==false and (.answer|test("pass your question"))' "$T/d.json" > /dev/null
asks "$S" "yes please" > "$T/y.json"
check "'yes please' to the offer: a ticket, the question as its reason" jq -e '.route=="escalation" and (.escalation.ticket|test("^HD-")) and (.escalation.reason|test("do you do botox"))' "$T/y.json" > /dev/null
check "  and the hand-over words" jq -e '.answer|test("member of our team")' "$T/y.json" > /dev/null
asks "$S" "yes" > "$T/y2.json"
check "  a second 'yes' opens no second ticket" jq -e '.escalation.ticket == null or .route != "escalation"' "$T/y2.json" > /dev/null
ask "do you do teeth whitening on sundays" > "$T/d2.json"
S2=$(jq -r .session_id "$T/d2.json")
asks "$S2" "no thanks" > "$T/n.json"
check "'no thanks' to the offer: acknowledged, no ticket" jq -e '.route=="template" and .escalation==null and (.answer|test("anything else"))' "$T/n.json" > /dev/null
asks "$S2" "ok" > "$T/n2.json"
check "  the offer is gone after the answer: 'ok' opens no ticket" jq -e '.route!="escalation"' "$T/n2.json" > /dev/null
ask "do you do implants" > "$T/d3.json"
S3=$(jq -r .session_id "$T/d3.json")
asks "$S3" "yes, are you open on friday?" > "$T/q.json"
check "'yes, are you open on friday?': a new question, not the offer taken" jq -e '.route=="knowledge" and (.answer|test("9am to 5pm"))' "$T/q.json" > /dev/null
asks "$S3" "yes please" > "$T/q2.json"
check "  and after an answer, 'yes please' is no hand-over" jq -e '.route!="escalation"' "$T/q2.json" > /dev/null
ask "yes please" > "$T/fresh.json"
check "'yes please' with nothing offered: no hand-over" jq -e '.route!="escalation"' "$T/fresh.json" > /dev/null
ask "avez-vous un parking" > "$T/f.json"
SF=$(jq -r .session_id "$T/f.json")
asks "$SF" "oui merci" > "$T/fy.json"
check "'oui merci' to the French offer: a ticket" jq -e '.route=="escalation" and (.answer|test("équipe"))' "$T/fy.json" > /dev/null
finish
