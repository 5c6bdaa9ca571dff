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
check "'can I talk to a real person': a ticket and the hand-over words" jq -e '.route=="escalation" and (.escalation.ticket|test("^HD-")) and (.answer|test("member of our team"))' "$T/p.json"
ask "je voudrais parler à un conseiller" > "$T/pf.json"
check "'je voudrais parler à un conseiller': a ticket, in French" jq -e '.route=="escalation" and (.answer|test("équipe"))' "$T/pf.json"
for m in "when are you open?" "hi, when are you open" "thanks, and are you open on saturday?" "hello 500 boxes"; do
  check "'$m': not small talk" test "$(route "$m")" != template
done
check "'hi, when are you open': answered from the page" bash -c "'$FD' ask --json 'hi, when are you open' 2>/dev/null | jq -e '.answer|test(\"9am to 5pm\")' > /dev/null"
finish
