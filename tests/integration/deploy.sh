#!/usr/bin/env bash
# deploy.sh: the files to run frontdesk for real (issue 16), checked the way
# their tools would: `make install`'s tree (cmake --install of this build)
# runs; the systemd unit passes `systemd-analyze verify` and its offline
# security review; the man page names every command; the container
# entrypoint migrates, loads the KB and hands SIGTERM to the server; the
# Dockerfile's runtime stage installs a package for every library the
# binary links and runs as a non-root user; the compose file and the
# Kubernetes manifests parse, point at files that exist, and carry the
# probes and security settings. No Docker engine or cluster here: what
# needs one is not claimed.
. "$(dirname "$0")/lib.bash"
SRC=${FD_SOURCE_DIR:?}
BUILD=$(dirname "$FD")
PY=/usr/bin/python3   # Debian's, with python3-yaml (scripts/deps.sh)

# make install, into a scratch prefix
cmake --install "$BUILD" --prefix "$T/prefix" > "$T/install.log" 2>&1
check "install: exit 0" test $? = 0
BIN=$T/prefix/bin/frontdesk
check "install: the binary runs" bash -c "'$BIN' version | grep -q '^frontdesk '"
check "install: the example KB" test -f "$T/prefix/share/frontdesk/examples/packaging-supplier/products.csv"
UNIT=$T/prefix/lib/systemd/system/frontdesk.service
check "install: the unit names the installed binary" grep -q "^ExecStart=$T/prefix/bin/frontdesk serve$" "$UNIT"
MAN=$T/prefix/share/man/man1/frontdesk.1
missing=$("$BIN" help | sed -n 's/^  \([a-z]\+\) .*/\1/p' | while read -r c; do grep -q "^\.B $c\$" "$MAN" || echo "$c"; done)
check "man page: every command of 'frontdesk help' is in it (missing: ${missing:-none})" test -z "$missing"

# systemd: verify (the binary and man page must exist) and security review
if command -v systemd-analyze > /dev/null; then
  MANPATH=$T/prefix/share/man systemd-analyze verify "$UNIT" > "$T/verify.log" 2>&1
  check "unit: systemd-analyze verify is clean" bash -c "[ $? = 0 ] && [ ! -s '$T/verify.log' ]"
  expo=$(systemd-analyze security --offline=yes "$UNIT" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  check "unit: offline security exposure ${expo:-?} <= 2.0 (OK)" awk -v e="${expo:-99}" 'BEGIN{exit !(e <= 2.0)}'
else
  fail "systemd-analyze missing (scripts/deps.sh installs systemd)"
fi
for k in DynamicUser=yes ProtectSystem=strict StateDirectory=frontdesk NoNewPrivileges=yes 'ExecStartPre=.*frontdesk migrate'; do
  check "unit: $k" grep -q "^$k" "$UNIT"
done

# The container entrypoint, run here with the installed binary first on PATH.
EX=$T/prefix/share/frontdesk/examples/packaging-supplier
PATH="$T/prefix/bin:$PATH" FRONTDESK_KB=$EX sh "$SRC/deploy/entrypoint.sh" stats --json > "$T/stats.json" 2> "$T/ep.err"
check "entrypoint: migrates, loads FRONTDESK_KB, runs the command" bash -c "jq -e '.documents > 5' '$T/stats.json' > /dev/null"
PATH="$T/prefix/bin:$PATH" FRONTDESK_KB=$EX sh "$SRC/deploy/entrypoint.sh" serve --port 0 > "$T/serve.out" 2> "$T/serve.err" &
PID=$!
for _ in $(seq 200); do grep -q 'http://' "$T/serve.out" 2>/dev/null && break; sleep 0.05; done
U="http://127.0.0.1:$(grep -o ':[0-9]*$' "$T/serve.out" | tr -d :)"
check "entrypoint: the server answers /readyz" test "$(curl -s -o /dev/null -w '%{http_code}' "$U/readyz")" = 200
kill -TERM $PID; wait $PID; rc=$?
check "entrypoint: SIGTERM reaches the server (exec), which drains and exits 0" test $rc = 0
PATH="$T/prefix/bin:$PATH" FRONTDESK_KB=$T/nowhere sh "$SRC/deploy/entrypoint.sh" stats > /dev/null 2> "$T/ep2.err"
check "entrypoint: a KB folder that does not exist stops it with the reason" bash -c "[ $? != 0 ] && grep -q nowhere '$T/ep2.err'"

# Dockerfile: two stages, a non-root user, runtime packages for every
# library the binary links (the sanitizer runtimes of a test build aside).
DF=$SRC/Dockerfile
check "Dockerfile: a build stage and a runtime stage" test "$(grep -c '^FROM ' "$DF")" = 2
check "Dockerfile: runs as a non-root user" bash -c "grep '^USER ' '$DF' | tail -1 | grep -qv -E 'USER (root|0)(:|\$)'"
runtime=$(sed -n '/^FROM debian:12-slim/,$p' "$DF")
libs_missing=""
for lib in $(objdump -p "$FD" | awk '/NEEDED/{print $2}'); do
  case $lib in libasan*|libubsan*|libc.so*|libm.so*|libgcc_s*|ld-linux*|libpthread*|libdl*) continue ;; esac
  path=$(ldconfig -p | awk -v l="$lib" '$1==l{print $NF; exit}')
  pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)
  echo "$runtime" | grep -qw -- "$pkg" || libs_missing="$libs_missing $lib($pkg)"
done
check "Dockerfile: the runtime stage installs every linked library's package (missing:${libs_missing:- none})" test -z "$libs_missing"
for f in $(sed -n 's/^COPY \([a-z][^ ]*\) .*/\1/p' "$DF"); do
  check "Dockerfile: COPY source $f exists" test -e "$SRC/$f"
done

# compose and Kubernetes: parse, and hold what they promise.
T=$T "$PY" - "$SRC/deploy" > "$T/yaml.out" 2>&1 <<'PYEOF'
import os, sys, yaml
d = sys.argv[1]
bad = []
def need(cond, what):
    print(("ok   - " if cond else "FAIL - ") + what)
    if not cond:
        bad.append(what)
c = yaml.safe_load(open(os.path.join(d, "compose.yaml")))
svc = c.get("services", {})
need({"frontdesk", "postgres", "redis", "nginx"} <= set(svc), "compose: frontdesk, postgres, redis and nginx services")
need(svc["frontdesk"]["build"]["dockerfile"] == "Dockerfile" and
     os.path.exists(os.path.join(d, svc["frontdesk"]["build"]["context"], "Dockerfile")),
     "compose: builds the repository's Dockerfile")
need(any(t.startswith("/var/lib/frontdesk") for t in svc["frontdesk"]["tmpfs"]), "compose: the data dir (index snapshot) is per-replica scratch")
need(svc["frontdesk"]["environment"]["FRONTDESK_STORE_URL"].startswith("postgresql://") and
     "@postgres:5432/" in svc["frontdesk"]["environment"]["FRONTDESK_STORE_URL"], "compose: the store on the postgres service")
need(svc["frontdesk"]["deploy"]["replicas"] >= 3, "compose: three frontdesk replicas")
need(svc["frontdesk"]["depends_on"]["postgres"]["condition"] == "service_healthy", "compose: replicas wait for PostgreSQL")
need("redis://redis:" in svc["frontdesk"]["environment"]["FRONTDESK_CACHE_REDIS_URL"], "compose: caches in the redis service")
for v in svc["nginx"]["volumes"]:
    src = v.split(":")[0]
    need(os.path.exists(os.path.join(d, src)), "compose: nginx mounts " + src + " which exists")
k = os.path.join(d, "k8s")
kust = yaml.safe_load(open(os.path.join(k, "kustomization.yaml")))
docs = {}
for r in kust["resources"]:
    need(os.path.exists(os.path.join(k, r)), "k8s: kustomization resource " + r + " exists")
    for doc in yaml.safe_load_all(open(os.path.join(k, r))):
        need(doc.get("apiVersion") and doc.get("kind") and doc.get("metadata", {}).get("name"),
             "k8s: %s has apiVersion, kind, name" % r)
        docs[doc["kind"]] = doc
need({"Deployment", "Service", "ConfigMap", "Secret", "PodDisruptionBudget", "HorizontalPodAutoscaler"} <= set(docs),
     "k8s: Deployment, Service, ConfigMap, Secret, PodDisruptionBudget, HorizontalPodAutoscaler")
dep = docs["Deployment"]
pod = dep["spec"]["template"]["spec"]
ctr = pod["containers"][0]
need(dep["spec"]["selector"]["matchLabels"].items() <= dep["spec"]["template"]["metadata"]["labels"].items(),
     "k8s: the Deployment's selector matches its pods")
need(docs["Service"]["spec"]["selector"].items() <= dep["spec"]["template"]["metadata"]["labels"].items(),
     "k8s: the Service selects the Deployment's pods")
need(ctr["livenessProbe"]["httpGet"]["path"] == "/healthz", "k8s: liveness on /healthz")
need(ctr["readinessProbe"]["httpGet"]["path"] == "/readyz", "k8s: readiness on /readyz")
need(pod["securityContext"]["runAsNonRoot"] is True and ctr["securityContext"]["readOnlyRootFilesystem"] is True
     and ctr["securityContext"]["allowPrivilegeEscalation"] is False, "k8s: non-root, read-only root, no escalation")
need(dep["spec"]["replicas"] >= 3 and dep["spec"]["strategy"]["type"] == "RollingUpdate" and
     dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0,
     "k8s: three replicas, rolling updates that never go below them")
need(all("persistentVolumeClaim" not in v for v in pod["volumes"]), "k8s: no pod holds a volume of its own (the store is PostgreSQL)")
need(docs["Secret"]["stringData"]["FRONTDESK_STORE_URL"].startswith("postgresql://"), "k8s: the store URL is a Secret")
hpa = docs["HorizontalPodAutoscaler"]
need(hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment" and hpa["spec"]["scaleTargetRef"]["name"] == dep["metadata"]["name"]
     and hpa["spec"]["minReplicas"] >= dep["spec"]["replicas"] - 0 and hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"],
     "k8s: the autoscaler scales the Deployment from its replicas up")
need(docs["PodDisruptionBudget"]["spec"].get("minAvailable", 0) >= 2, "k8s: drains keep two replicas serving")
cm = docs["ConfigMap"]["data"]["frontdesk.toml"]
open(os.path.join(os.environ["T"], "k8s.toml"), "w").write(cm)
sys.exit(1 if bad else 0)
PYEOF
rc=$?
cat "$T/yaml.out"
check "compose and Kubernetes files: every check above" test $rc = 0
"$FD" --config "$T/k8s.toml" config > "$T/cfg.out" 2> "$T/cfg.err"
check "k8s: the ConfigMap's frontdesk.toml is a valid configuration" bash -c "[ $? = 0 ] && grep -q '^server.bind *= \"0.0.0.0\"' '$T/cfg.out'"
finish
