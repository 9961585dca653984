#!/usr/bin/env bash
# Real Kubernetes control plane for integration tests: etcd + kube-apiserver +
# kube-controller-manager + kube-scheduler (built from the pinned k8s.io/kubernetes Go module) and
# kwok (fake nodes/kubelets driven by Stage resources in test/env/kwok/). Loopback only.
#
# Usage: test/env/kube.sh COMMAND [RUN_DIR] [ARGS]
#   provision                   build (or reuse cached) binaries into the cache dir (below)
#   start RUN_DIR               start everything (provisions if needed), write RUN_DIR/state.json, print it
#   stop RUN_DIR                stop everything, no orphans (idempotent)
#   status RUN_DIR              print each component's state; exit 1 if one is down
#   restart-apiserver RUN_DIR   kill -9 kube-apiserver, start it again (same port, same flags), wait ready
#   stop-apiserver RUN_DIR [--kill]  stop kube-apiserver (SIGTERM, SIGKILL after 5 s; --kill: SIGKILL)
#   start-apiserver RUN_DIR     start kube-apiserver again with the flags stored in RUN_DIR, wait ready
#   compact-etcd RUN_DIR        compact etcd to its current revision, print it (old RVs -> 410 from
#                               etcd; the apiserver's watch cache still serves its window until restarted)
#   logs RUN_DIR COMPONENT      print a component's log (etcd, kube-apiserver, kube-controller-manager,
#                               kube-scheduler, kwok)
#   env RUN_DIR                 print shell exports (KUBECONFIG, ...) for manual debugging
# Needs: go >= 1.24 (first provision only), openssl, curl, setsid/flock (util-linux).
# Versions: test/env/versions.env. Cache: ${KUBEVENTS_TESTENV_CACHE:-~/.cache/kubevents/testenv}
#   {etcd,kwok,kube}/<version>/bin (Go's module and build caches stay where `go env` says).
# Knobs: KUBEVENTS_TESTENV_OWNER_PID (at start: stop this run when that process is gone),
#   KUBEVENTS_TESTENV_APISERVER_ARGS (extra kube-apiserver flags, e.g. --watch-cache=false),
#   KUBEVENTS_TESTENV_EVICTION_SECONDS (default not-ready/unreachable toleration, 10).
set -euo pipefail
# shellcheck disable=SC2034  # read by lib.sh log/die
LOG_TAG=kube
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${K8S_VERSION:?K8S_VERSION missing from versions.env}"
: "${ETCD_VERSION:?ETCD_VERSION missing from versions.env}"
: "${KWOK_VERSION:?KWOK_VERSION missing from versions.env}"

# Bump when the build recipe (flags, layout) changes, to invalidate cached binaries.
RECIPE=1
COMPONENTS="etcd kube-apiserver kube-controller-manager kube-scheduler kwok"
GO_HINT="install Go >= 1.24 (Debian trixie or newer: apt-get install golang-go; or https://go.dev/dl)"

CACHE="$(cache_dir)"
KUBE_DIR="$CACHE/kube/$K8S_VERSION"
ETCD_DIR="$CACHE/etcd/$ETCD_VERSION"
KWOK_DIR="$CACHE/kwok/$KWOK_VERSION"

# ---------------------------------------------------------------------------------------------
# provision
# ---------------------------------------------------------------------------------------------

go_setup() {
  require_cmd go "$GO_HINT"
  local gv; gv="$(go env GOVERSION 2>/dev/null)"; gv="${gv#go}"
  local gmaj="${gv%%.*}" gmin; gmin="${gv#*.}"; gmin="${gmin%%.*}"
  if [ "${gmaj:-0}" -lt 1 ] 2>/dev/null || { [ "${gmaj:-0}" -eq 1 ] && [ "${gmin:-0}" -lt 24 ]; } 2>/dev/null; then
    die "Go $gv is too old: $GO_HINT"
  fi
  export GOTOOLCHAIN=local CGO_ENABLED=0 GO111MODULE=on
  export GOFLAGS="-buildvcs=false"
}

# stamp_ok DIR STAMP BIN... : the binaries exist and were built by this recipe for this version
stamp_ok() {
  local dir="$1" stamp="$2" b; shift 2
  [ -f "$dir/bin/.stamp" ] && [ "$(cat "$dir/bin/.stamp")" = "$stamp" ] || return 1
  for b in "$@"; do [ -x "$dir/bin/$b" ] || return 1; done
}

# install_bin DIR STAMP : move DIR/bin.tmp to DIR/bin atomically-ish and stamp it
install_bin() {
  local dir="$1" stamp="$2"
  printf '%s\n' "$stamp" >"$dir/bin.tmp/.stamp"
  rm -rf "$dir/bin.old"; [ -d "$dir/bin" ] && mv "$dir/bin" "$dir/bin.old"
  mv "$dir/bin.tmp" "$dir/bin"; rm -rf "$dir/bin.old"
}

provision_etcd() {
  local stamp="etcd=$ETCD_VERSION recipe=$RECIPE"
  if stamp_ok "$ETCD_DIR" "$stamp" etcd; then log "etcd $ETCD_VERSION: cached"; return 0; fi
  go_setup
  local src="$ETCD_DIR/src" blog="$ETCD_DIR/build.log"
  rm -rf "$src" "$ETCD_DIR/bin.tmp"; mkdir -p "$src" "$ETCD_DIR/bin.tmp"; : >"$blog"
  # etcd's go.mod has replace directives, so `go install ...@v` is refused: use a wrapper module.
  cat >"$src/go.mod" <<EOF
module kubevents.local/testenv/etcd

go 1.24.0
EOF
  (cd "$src" && run_logged "etcd $ETCD_VERSION: download modules" "$blog" \
      go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION")
  (cd "$src" && run_logged "etcd $ETCD_VERSION: build" "$blog" \
      go build -v -trimpath -ldflags "-s -w" -o "$ETCD_DIR/bin.tmp/etcd" go.etcd.io/etcd/server/v3)
  install_bin "$ETCD_DIR" "$stamp"
}

provision_kwok() {
  local stamp="kwok=$KWOK_VERSION recipe=$RECIPE"
  if stamp_ok "$KWOK_DIR" "$stamp" kwok; then log "kwok $KWOK_VERSION: cached"; return 0; fi
  go_setup
  local blog="$KWOK_DIR/build.log"
  rm -rf "$KWOK_DIR/bin.tmp"; mkdir -p "$KWOK_DIR/bin.tmp"; : >"$blog"
  (cd "$KWOK_DIR" && GOBIN="$KWOK_DIR/bin.tmp" run_logged "kwok $KWOK_VERSION: download + build" "$blog" \
      go install -v -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION" \
      "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION")
  install_bin "$KWOK_DIR" "$stamp"
}

provision_kube() {
  local stamp="k8s=$K8S_VERSION recipe=$RECIPE"
  if stamp_ok "$KUBE_DIR" "$stamp" kube-apiserver kube-controller-manager kube-scheduler; then
    log "kubernetes $K8S_VERSION: cached"; return 0
  fi
  go_setup
  local src="$KUBE_DIR/src" blog="$KUBE_DIR/build.log"
  rm -rf "$src" "$KUBE_DIR/bin.tmp"; mkdir -p "$src" "$KUBE_DIR/bin.tmp"; : >"$blog"

  # k8s.io/kubernetes replaces its staging modules (k8s.io/api, ...) with ./staging/src/...; a
  # module depending on it must replace each with the published v0.<minor>.<patch>. Derive the list
  # from k/k's own go.mod.
  local ver="${K8S_VERSION#v}" major minor patch
  IFS=. read -r major minor patch <<<"${ver%%-*}"
  local staging_ver="v0.${minor}.${patch}${ver#"${ver%%-*}"}"
  local info="$KUBE_DIR/k8s-module.json"
  rm -f "$info"
  (cd "$src" && GOFLAGS='' run_logged "kubernetes $K8S_VERSION: download k8s.io/kubernetes module" "$info" \
      go mod download -json "k8s.io/kubernetes@$K8S_VERSION")
  local kkmod commit
  kkmod="$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p' "$info" | head -n1)"
  commit="$(sed -n 's/^[[:space:]]*"Hash": "\([0-9a-f]\{40\}\)",\{0,1\}$/\1/p' "$info" | head -n1)"
  [ -f "$kkmod" ] || die "could not locate k8s.io/kubernetes@$K8S_VERSION go.mod (see $blog)"
  local staging
  staging="$(awk '$2 == "=>" && $3 ~ /^\.\/staging\/src\// {print $1}' "$kkmod" | sort -u)"
  [ -n "$staging" ] || die "no staging replace directives found in $kkmod"
  log "kubernetes $K8S_VERSION: $(wc -w <<<"$staging") staging modules -> $staging_ver"
  {
    printf 'module kubevents.local/testenv/kube\n\ngo 1.24.0\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$K8S_VERSION"
    local m; for m in $staging; do printf '\t%s => %s %s\n' "$m" "$m" "$staging_ver"; done
    printf ')\n'
  } >"$src/go.mod"

  local pkgs="k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler"
  # `go get PKG` alone would mean PKG@upgrade (latest k8s): pin every package to the version.
  local p get_args=()
  for p in $pkgs; do get_args+=("$p@$K8S_VERSION"); done
  (cd "$src" && run_logged "kubernetes $K8S_VERSION: download modules" "$blog" go get "${get_args[@]}")
  grep -q "^require k8s.io/kubernetes $K8S_VERSION\$" "$src/go.mod" ||
    grep -q "k8s.io/kubernetes $K8S_VERSION\$" "$src/go.mod" ||
    die "go get changed the k8s.io/kubernetes version in $src/go.mod"

  local ld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor"
    ld="$ld -X $p.gitTreeState=clean -X $p.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    [ -n "$commit" ] && ld="$ld -X $p.gitCommit=$commit"
  done
  # One invocation for the three binaries: they share most packages (2 cores: ~20+ min cold).
  # shellcheck disable=SC2086
  (cd "$src" && HEARTBEAT_SECONDS=30 run_logged "kubernetes $K8S_VERSION: build kube-apiserver, kube-controller-manager, kube-scheduler" "$blog" \
      go build -v -trimpath -ldflags "$ld" -o "$KUBE_DIR/bin.tmp/" $pkgs)
  install_bin "$KUBE_DIR" "$stamp"
}

cmd_provision() {
  mkdir -p "$CACHE"
  exec 8>"$CACHE/.kube-provision.lock"
  if ! flock -n 8; then
    log "another provision is running; waiting for its lock ($CACHE/.kube-provision.lock)"
    flock 8
  fi
  local t0; t0=$(date +%s)
  provision_etcd
  provision_kwok
  provision_kube
  exec 8>&-
  log "provision done in $(( $(date +%s) - t0 ))s (cache: $CACHE)"
}

# ---------------------------------------------------------------------------------------------
# run directory layout
#   RUN_DIR/state.json          connection details + pids + command lines (printed by start)
#   RUN_DIR/run.env             ports etc. as shell KEY=value (read by the other subcommands)
#   RUN_DIR/kubeconfig          admin kubeconfig (token auth, CA embedded) for tests and components
#   RUN_DIR/pki/                CA, apiserver serving cert, service-account signing key
#   RUN_DIR/args/NAME.args      exact command line of each component, one argument per line
#   RUN_DIR/logs/NAME.log       one log per component
#   RUN_DIR/pids/NAME.pid       pid (== process group id) of each component
# ---------------------------------------------------------------------------------------------

# need_run_dir [--create] : RUN_DIR is set (and exists, or is created), made absolute
need_run_dir() {
  [ -n "${RUN_DIR:-}" ] || die "missing RUN_DIR argument"
  [ "${1:-}" = "--create" ] && mkdir -p "$RUN_DIR"
  [ -d "$RUN_DIR" ] || die "run directory $RUN_DIR does not exist"
  RUN_DIR="$(cd "$RUN_DIR" && pwd)"
}

load_run_env() {
  [ -f "$RUN_DIR/run.env" ] || die "$RUN_DIR/run.env not found: was '$0 start $RUN_DIR' run?"
  # shellcheck source=/dev/null
  . "$RUN_DIR/run.env"
}

bin_of() {
  case "$1" in
    etcd) echo "$ETCD_DIR/bin/etcd" ;;
    kwok) echo "$KWOK_DIR/bin/kwok" ;;
    *) echo "$KUBE_DIR/bin/$1" ;;
  esac
}

# write_args NAME ARG... : store a component's command line (one argument per line)
write_args() {
  local name="$1"; shift
  mkdir -p "$RUN_DIR/args"
  printf '%s\n' "$@" >"$RUN_DIR/args/$name.args"
}

# launch NAME : start a component from its stored command line, in its own process group
launch() {
  local name="$1" args=()
  mapfile -t args <"$RUN_DIR/args/$name.args"
  printf '\n===== %s starting at %s =====\n' "$name" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$RUN_DIR/logs/$name.log"
  start_bg "$RUN_DIR/logs/$name.log" "$RUN_DIR/pids/$name.pid" "${args[@]}" >/dev/null
}

# health probes (all quiet, exit status only)
etcd_healthy() { curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_PORT/health" 2>/dev/null | grep -q '"health":"true"'; }
apiserver_ready() {
  curl -fsS --max-time 3 --cacert "$RUN_DIR/pki/ca.crt" -H "Authorization: Bearer $ADMIN_TOKEN" \
    "https://127.0.0.1:$APISERVER_PORT/readyz" 2>/dev/null | grep -q '^ok'
}
secure_healthz() { curl -fsSk --max-time 3 "https://127.0.0.1:$1/healthz" 2>/dev/null | grep -q '^ok'; }
kcm_healthy() { secure_healthz "$KCM_PORT"; }
scheduler_healthy() { secure_healthz "$SCHEDULER_PORT"; }
kwok_healthy() { curl -fsS --max-time 3 "http://127.0.0.1:$KWOK_PORT/healthz" 2>/dev/null | grep -q 'ok'; }

healthy() {
  case "$1" in
    etcd) etcd_healthy ;;
    kube-apiserver) apiserver_ready ;;
    kube-controller-manager) kcm_healthy ;;
    kube-scheduler) scheduler_healthy ;;
    kwok) kwok_healthy ;;
    *) return 1 ;;
  esac
}

# start_component NAME TIMEOUT : launch and wait until healthy; on failure print the log tail
start_component() {
  local name="$1" timeout="$2" t0; t0=$(date +%s)
  launch "$name"
  if ! WAIT_FOR_PID="$(cat "$RUN_DIR/pids/$name.pid")" wait_for "$timeout" "$name to become healthy" healthy "$name"; then
    log "$name did not become healthy; log: $RUN_DIR/logs/$name.log"
    tail_log "$RUN_DIR/logs/$name.log" 40
    printf 'FAILED_COMPONENT=%s\n' "$name" >>"$RUN_DIR/run.env"
    return 1
  fi
  log "$name ready in $(( $(date +%s) - t0 ))s (pid $(cat "$RUN_DIR/pids/$name.pid"))"
}

gen_pki() {
  local d="$RUN_DIR/pki"
  mkdir -p "$d"
  (
    cd "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -keyout ca.key -out ca.crt \
      -subj "/CN=kubevents-test-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    openssl req -newkey rsa:2048 -nodes -sha256 -keyout apiserver.key -out apiserver.csr -subj "/CN=kube-apiserver"
    cat >apiserver.ext <<EOF
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1
EOF
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days 3650 \
      -extfile apiserver.ext -out apiserver.crt
    openssl genrsa -out sa.key 2048
    openssl rsa -in sa.key -pubout -out sa.pub
  ) >>"$RUN_DIR/logs/pki.log" 2>&1 || { tail_log "$RUN_DIR/logs/pki.log"; die "openssl failed"; }
  chmod 600 "$d"/*.key
}

write_kubeconfig() {
  local ca_b64; ca_b64="$(base64 -w0 <"$RUN_DIR/pki/ca.crt")"
  umask 077
  cat >"$RUN_DIR/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kubevents-test
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $ca_b64
users:
- name: admin
  user:
    token: $ADMIN_TOKEN
contexts:
- name: kubevents-test
  context:
    cluster: kubevents-test
    user: admin
    namespace: default
current-context: kubevents-test
EOF
  umask 022
}

# json_array ARGSFILE : the stored command line as a JSON array
json_array() {
  local first=1 a
  printf '['
  while IFS= read -r a; do
    [ $first -eq 1 ] || printf ','
    first=0; json_escape "$a"
  done <"$1"
  printf ']'
}

write_state() {
  local c f=1
  {
    printf '{\n'
    printf '  "server": %s,\n' "$(json_escape "https://127.0.0.1:$APISERVER_PORT")"
    printf '  "kubeconfigPath": %s,\n' "$(json_escape "$RUN_DIR/kubeconfig")"
    printf '  "token": %s,\n' "$(json_escape "$ADMIN_TOKEN")"
    printf '  "etcdEndpoint": %s,\n' "$(json_escape "http://127.0.0.1:$ETCD_PORT")"
    printf '  "runDir": %s,\n' "$(json_escape "$RUN_DIR")"
    printf '  "caFile": %s,\n' "$(json_escape "$RUN_DIR/pki/ca.crt")"
    printf '  "logFiles": {'
    for c in $COMPONENTS; do
      [ $f -eq 1 ] || printf ','; f=0
      printf '\n    %s: %s' "$(json_escape "$c")" "$(json_escape "$RUN_DIR/logs/$c.log")"
    done
    printf '\n  },\n'
    printf '  "versions": {"kubernetes": %s, "etcd": %s, "kwok": %s},\n' \
      "$(json_escape "$K8S_VERSION")" "$(json_escape "$ETCD_VERSION")" "$(json_escape "$KWOK_VERSION")"
    printf '  "ports": {"etcd": %s, "etcdPeer": %s, "kube-apiserver": %s, "kube-controller-manager": %s, "kube-scheduler": %s, "kwok": %s},\n' \
      "$ETCD_PORT" "$ETCD_PEER_PORT" "$APISERVER_PORT" "$KCM_PORT" "$SCHEDULER_PORT" "$KWOK_PORT"
    printf '  "pids": {'
    f=1
    for c in $COMPONENTS; do
      [ $f -eq 1 ] || printf ','; f=0
      printf '%s: %s' "$(json_escape "$c")" "$(cat "$RUN_DIR/pids/$c.pid" 2>/dev/null || echo null)"
    done
    printf '},\n'
    printf '  "commands": {'
    f=1
    for c in $COMPONENTS; do
      [ $f -eq 1 ] || printf ','; f=0
      printf '\n    %s: %s' "$(json_escape "$c")" "$(json_array "$RUN_DIR/args/$c.args")"
    done
    printf '\n  }\n}\n'
  } >"$RUN_DIR/state.json.tmp"
  mv "$RUN_DIR/state.json.tmp" "$RUN_DIR/state.json"
}

cmd_start() {
  need_run_dir --create
  local c t0; t0=$(date +%s)
  for c in $COMPONENTS; do
    pid_alive "$RUN_DIR/pids/$c.pid" && die "$c is already running in $RUN_DIR (stop it first)"
  done
  require_cmd openssl "install OpenSSL (Debian: apt-get install openssl)"
  require_cmd curl "install curl (Debian: apt-get install curl)"
  require_cmd setsid "install util-linux (Debian: apt-get install util-linux)"
  stamp_ok "$ETCD_DIR" "etcd=$ETCD_VERSION recipe=$RECIPE" etcd &&
    stamp_ok "$KWOK_DIR" "kwok=$KWOK_VERSION recipe=$RECIPE" kwok &&
    stamp_ok "$KUBE_DIR" "k8s=$K8S_VERSION recipe=$RECIPE" kube-apiserver kube-controller-manager kube-scheduler ||
    cmd_provision
  rm -rf "$RUN_DIR/etcd-data" "$RUN_DIR/args" "$RUN_DIR/pids" "$RUN_DIR/state.json"
  mkdir -p "$RUN_DIR/logs" "$RUN_DIR/pids" "$RUN_DIR/args"

  local ports; ports="$(free_ports 6)"
  read -r ETCD_PORT ETCD_PEER_PORT APISERVER_PORT KCM_PORT SCHEDULER_PORT KWOK_PORT <<<"$ports"
  ADMIN_TOKEN="$(openssl rand -hex 24)"
  cat >"$RUN_DIR/run.env" <<EOF
ETCD_PORT=$ETCD_PORT
ETCD_PEER_PORT=$ETCD_PEER_PORT
APISERVER_PORT=$APISERVER_PORT
KCM_PORT=$KCM_PORT
SCHEDULER_PORT=$SCHEDULER_PORT
KWOK_PORT=$KWOK_PORT
ADMIN_TOKEN=$ADMIN_TOKEN
EOF
  chmod 600 "$RUN_DIR/run.env"
  gen_pki
  printf '%s,admin,admin-uid,"system:masters"\n' "$ADMIN_TOKEN" >"$RUN_DIR/tokens.csv"
  chmod 600 "$RUN_DIR/tokens.csv"
  write_kubeconfig

  write_args etcd "$(bin_of etcd)" \
    --name=kubevents-test \
    --data-dir="$RUN_DIR/etcd-data" \
    --listen-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster="kubevents-test=http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster-state=new \
    --unsafe-no-fsync=true \
    --quota-backend-bytes=2147483648 \
    --log-level=warn

  # shellcheck disable=SC2086
  write_args kube-apiserver "$(bin_of kube-apiserver)" \
    --bind-address=127.0.0.1 \
    --secure-port="$APISERVER_PORT" \
    --advertise-address=192.0.2.1 \
    --endpoint-reconciler-type=none \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --tls-cert-file="$RUN_DIR/pki/apiserver.crt" \
    --tls-private-key-file="$RUN_DIR/pki/apiserver.key" \
    --client-ca-file="$RUN_DIR/pki/ca.crt" \
    --token-auth-file="$RUN_DIR/tokens.csv" \
    --anonymous-auth=false \
    --authorization-mode=RBAC \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$RUN_DIR/pki/sa.pub" \
    --service-account-signing-key-file="$RUN_DIR/pki/sa.key" \
    --service-cluster-ip-range=10.96.0.0/16 \
    --allow-privileged=true \
    --disable-admission-plugins=ServiceAccount \
    --default-not-ready-toleration-seconds="${KUBEVENTS_TESTENV_EVICTION_SECONDS:-10}" \
    --default-unreachable-toleration-seconds="${KUBEVENTS_TESTENV_EVICTION_SECONDS:-10}" \
    --enable-priority-and-fairness=false \
    --event-ttl=1h \
    --profiling=false \
    ${KUBEVENTS_TESTENV_APISERVER_ARGS:-}

  write_args kube-controller-manager "$(bin_of kube-controller-manager)" \
    --kubeconfig="$RUN_DIR/kubeconfig" \
    --bind-address=127.0.0.1 \
    --secure-port="$KCM_PORT" \
    --leader-elect=false \
    --service-account-private-key-file="$RUN_DIR/pki/sa.key" \
    --root-ca-file="$RUN_DIR/pki/ca.crt" \
    --use-service-account-credentials=false \
    --node-monitor-period=2s \
    --node-monitor-grace-period=20s \
    --node-startup-grace-period=20s \
    --profiling=false

  write_args kube-scheduler "$(bin_of kube-scheduler)" \
    --kubeconfig="$RUN_DIR/kubeconfig" \
    --bind-address=127.0.0.1 \
    --secure-port="$SCHEDULER_PORT" \
    --leader-elect=false \
    --profiling=false

  local stage_files; stage_files="$(ls "$TESTENV_DIR"/kwok/*.yaml | paste -sd, -)"
  write_args kwok "$(bin_of kwok)" \
    --kubeconfig="$RUN_DIR/kubeconfig" \
    --config="$stage_files" \
    --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --node-lease-duration-seconds=20 \
    --cidr=10.244.0.1/16 \
    --node-ip=10.240.0.1 \
    --server-address="127.0.0.1:$KWOK_PORT"

  log "starting in $RUN_DIR (apiserver https://127.0.0.1:$APISERVER_PORT, etcd :$ETCD_PORT)"
  if start_component etcd 30 &&
     start_component kube-apiserver 90 &&
     start_component kube-controller-manager 60 &&
     start_component kube-scheduler 60 &&
     start_component kwok 60; then
    :
  else
    write_state
    cmd_stop >/dev/null 2>&1 || true
    die "start failed (see $RUN_DIR/logs)"
  fi
  start_watchdog
  write_state
  log "all components ready in $(( $(date +%s) - t0 ))s"
  cat "$RUN_DIR/state.json"
}

# Watchdog: when KUBEVENTS_TESTENV_OWNER_PID is set (kube.ts sets it to the test runner's pid),
# a small background process stops this run when that process is gone, so a crashed test run
# leaves no orphaned control plane behind.
start_watchdog() {
  local owner="${KUBEVENTS_TESTENV_OWNER_PID:-}"
  [ -n "$owner" ] || return 0
  start_bg "$RUN_DIR/logs/watchdog.log" "$RUN_DIR/pids/watchdog.pid" \
    bash "${BASH_SOURCE[0]}" __watchdog "$RUN_DIR" "$owner" >/dev/null
}

cmd_watchdog() {
  local owner="$1"
  while proc_alive "$owner"; do sleep 2; done
  [ -d "$RUN_DIR" ] || exit 0
  echo "owner process $owner is gone: stopping $RUN_DIR"
  KUBE_SH_IN_WATCHDOG=1 cmd_stop
}

cmd_stop() {
  [ -n "${RUN_DIR:-}" ] || die "missing RUN_DIR argument"
  [ -d "$RUN_DIR" ] || { log "nothing to stop: $RUN_DIR does not exist"; return 0; }
  need_run_dir
  local c t0; t0=$(date +%s)
  # apiserver and its clients together (SIGTERM, SIGKILL after 5 s), etcd last
  for c in kwok kube-scheduler kube-controller-manager kube-apiserver; do
    if pid_alive "$RUN_DIR/pids/$c.pid"; then
      log "stopping $c (pid $(cat "$RUN_DIR/pids/$c.pid"))"
    fi
    stop_pidfile "$RUN_DIR/pids/$c.pid" 5 &
  done
  wait
  pid_alive "$RUN_DIR/pids/etcd.pid" && log "stopping etcd (pid $(cat "$RUN_DIR/pids/etcd.pid"))"
  stop_pidfile "$RUN_DIR/pids/etcd.pid" 10
  if [ -z "${KUBE_SH_IN_WATCHDOG:-}" ]; then
    stop_pidfile "$RUN_DIR/pids/watchdog.pid" 2
  else
    rm -f "$RUN_DIR/pids/watchdog.pid"
  fi
  log "stopped $RUN_DIR in $(( $(date +%s) - t0 ))s"
}

cmd_status() {
  need_run_dir
  load_run_env
  local c rc=0 state
  for c in $COMPONENTS; do
    if ! pid_alive "$RUN_DIR/pids/$c.pid"; then state="stopped"; rc=1
    elif healthy "$c"; then state="running healthy pid=$(cat "$RUN_DIR/pids/$c.pid")"
    else state="running UNHEALTHY pid=$(cat "$RUN_DIR/pids/$c.pid")"; rc=1
    fi
    printf '%-24s %s\n' "$c" "$state"
  done
  return $rc
}

cmd_stop_apiserver() {
  need_run_dir
  local sig=TERM grace=5
  [ "${1:-}" = "--kill" ] && { sig=KILL; grace=0; }
  log "stopping kube-apiserver (SIG$sig)"
  stop_pidfile "$RUN_DIR/pids/kube-apiserver.pid" "$grace" "$sig"
}

cmd_start_apiserver() {
  need_run_dir
  load_run_env
  pid_alive "$RUN_DIR/pids/kube-apiserver.pid" && { log "kube-apiserver already running"; return 0; }
  # the old socket may linger for a moment after a kill
  for _ in $(seq 1 50); do port_is_free "$APISERVER_PORT" && break; sleep 0.2; done
  start_component kube-apiserver 90
  write_state
}

cmd_restart_apiserver() {
  need_run_dir
  load_run_env
  cmd_stop_apiserver --kill
  cmd_start_apiserver
}

etcd_post() { curl -fsS --max-time 10 -X POST "http://127.0.0.1:$ETCD_PORT$1" -d "$2"; }

cmd_compact_etcd() {
  need_run_dir
  load_run_env
  local out rev
  out="$(etcd_post /v3/kv/range '{"key":"AA==","limit":1}')" || die "etcd range request failed"
  rev="$(sed -n 's/.*"revision":"\{0,1\}\([0-9]*\)"\{0,1\}.*/\1/p' <<<"$out" | head -n1)"
  [ -n "$rev" ] || die "could not read etcd revision from: $out"
  etcd_post /v3/kv/compaction "{\"revision\":\"$rev\",\"physical\":true}" >/dev/null || die "etcd compaction failed"
  log "etcd compacted to revision $rev"
  printf '%s\n' "$rev"
}

cmd_logs() {
  need_run_dir
  local c="${1:-}"
  [ -n "$c" ] || die "usage: $0 logs RUN_DIR COMPONENT ($COMPONENTS)"
  [ -f "$RUN_DIR/logs/$c.log" ] || die "no log for '$c' in $RUN_DIR/logs"
  cat "$RUN_DIR/logs/$c.log"
}

cmd_env() {
  need_run_dir
  load_run_env
  printf 'export KUBECONFIG=%q\n' "$RUN_DIR/kubeconfig"
  printf 'export KUBE_TOKEN=%q\n' "$ADMIN_TOKEN"
  printf 'export KUBE_SERVER=%q\n' "https://127.0.0.1:$APISERVER_PORT"
  printf 'export ETCD_ENDPOINT=%q\n' "http://127.0.0.1:$ETCD_PORT"
}

# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------
main() {
  local cmd="${1:-}"; shift || true
  case "$cmd" in
    provision) cmd_provision "$@" ;;
    start) RUN_DIR="${1:-}"; cmd_start ;;
    stop) RUN_DIR="${1:-}"; cmd_stop ;;
    status) RUN_DIR="${1:-}"; cmd_status ;;
    restart-apiserver) RUN_DIR="${1:-}"; cmd_restart_apiserver ;;
    stop-apiserver) RUN_DIR="${1:-}"; shift || true; cmd_stop_apiserver "$@" ;;
    start-apiserver) RUN_DIR="${1:-}"; cmd_start_apiserver ;;
    compact-etcd) RUN_DIR="${1:-}"; cmd_compact_etcd ;;
    logs) RUN_DIR="${1:-}"; shift || true; cmd_logs "$@" ;;
    env) RUN_DIR="${1:-}"; cmd_env ;;
    __watchdog) RUN_DIR="${1:-}"; shift || true; cmd_watchdog "$@" ;;
    *) sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
}
main "$@"
