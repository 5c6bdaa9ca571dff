#!/usr/bin/env bash
# eval/run.sh dev|dev-all|heldout|public [frontdesk binary] [extra eval args]
# dev: the eight development KBs every session has reported; dev-all: all
# eleven (with council-services, car-hire, ecole-musique-fr).
# Answer quality per knowledge base (see eval/README.md for the split).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shared=${FD_SHARED_DATA:-$here/../../shared/data}/answers
which=${1:?usage: eval/run.sh dev|dev-all|heldout|public [binary] [args]}
fd=${2:-$here/../build/frontdesk}
shift $(( $# >= 2 ? 2 : 1 ))
case $which in
  dev)     sets=("$here/kb/dental-clinic" "$here/kb/saas-billing" "$here/kb/dev-hotel" "$here/kb/boutique-fr" "$shared/bike-repair"
           "$here/kb/vet-clinic" "$here/kb/self-storage" "$here/kb/auto-ecole-fr") ;;
  dev-all) sets=("$here/kb/dental-clinic" "$here/kb/saas-billing" "$here/kb/dev-hotel" "$here/kb/boutique-fr" "$shared/bike-repair"
           "$here/kb/vet-clinic" "$here/kb/self-storage" "$here/kb/auto-ecole-fr"
           "$here/kb/council-services" "$here/kb/car-hire" "$here/kb/ecole-musique-fr") ;;
  heldout) sets=("$here/kb/isp-telecom" "$here/kb/airline-travel" "$here/kb/fashion-eshop" "$here/kb/mairie-fr"
           "$here/kb/gym-club" "$here/kb/camping-fr") ;;
  public)  sets=("$shared/doc2dial-en" "$shared/service-public-fr") ;;
  *) echo "usage: eval/run.sh dev|dev-all|heldout|public [binary] [args]" >&2; exit 2 ;;
esac
args=()
for s in "${sets[@]}"; do args+=(--kb "$s"); done
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
exec "$fd" --data "$d" --log-level warn eval answers "${args[@]}" "$@"
