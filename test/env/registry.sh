#!/usr/bin/env bash
# A real Confluent-compatible Schema Registry for the integration tests: Apicurio Registry 3.x (its
# runnable Quarkus distribution from Maven Central), in-memory storage, listening on 127.0.0.1 on
# free ports. The Confluent API is served under /apis/ccompat/v7.
#
#   registry.sh provision          download and unpack the distribution into the cache (once)
#   registry.sh start   RUN_DIR    start a registry (provisions if needed), wait until the Confluent
#                                  API answers, write RUN_DIR/state.json and print it
#   registry.sh stop    RUN_DIR    stop it (SIGTERM, SIGKILL after a grace period); idempotent
#   registry.sh status  RUN_DIR    print whether it runs and answers; exit 0 only when it does
#   registry.sh logs    RUN_DIR [N] print its log (the last N lines when N is given)
#   registry.sh java               print the Java >= 21 it would run with (or fail with what to install)
#
# Requirements: Java 21+ (Apicurio Registry 3 is built for it; Kafka and Maven may use an older Java).
# The first of these that is Java 21 or newer is used: $APICURIO_JAVA_HOME, $JAVA_HOME, `java` on
# PATH, then the JDKs under /usr/lib/jvm, /usr/java, /opt/java, /opt and
# /Library/Java/JavaVirtualMachines (the newest wins). Maven (mvn) for the first provision.
# Versions: test/env/versions.env (APICURIO_REGISTRY_VERSION).
# Cache: ${KUBEVENTS_TESTENV_CACHE:-~/.cache/kubevents/testenv}/apicurio-registry/<version>/app.
#
# What differs from a default Apicurio install, and why:
#   - quarkus.http.host AND quarkus.management.host are 127.0.0.1: the management interface (health,
#     metrics) listens on 0.0.0.0:9000 otherwise. Both ports are picked free.
#   - the global COMPATIBILITY rule is BACKWARD, the default of a Confluent Schema Registry (Apicurio
#     has none by default), so an incompatible schema is refused as it would be there.
#   - small H2 connection pool and heap; java.io.tmpdir and work directories inside RUN_DIR.
#
# Environment knobs:
#   APICURIO_JAVA_HOME     the JDK/JRE (21+) to run the registry with
#   REGISTRY_HEAP_OPTS     JVM heap flags (default -Xms64m -Xmx384m)
#   REGISTRY_START_TIMEOUT seconds to wait for readiness (default 120)
#   KUBEVENTS_TESTENV_OWNER_PID  when set at `start`, the registry is killed as soon as this
#                          process exits (no orphan when a test runner dies)
#
# RUN_DIR layout: state.json (for TypeScript), registry.env (for this script), registry.pid,
# tmp/ (java.io.tmpdir), logs/registry.log.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
LOG_TAG=registry

: "${APICURIO_REGISTRY_VERSION:=3.3.3}"
MIN_JAVA=21
START_TIMEOUT="${REGISTRY_START_TIMEOUT:-120}"
STOP_TIMEOUT=20
ARTIFACT="io.apicurio:apicurio-registry-app:$APICURIO_REGISTRY_VERSION:tar.gz:all"
DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# ---------------------------------------------------------------------------------------------
# Java >= 21, wherever it is

# java_spec JAVA : the java.specification.version of that binary (8, 17, 21, ...), or nothing.
java_spec() {
  local spec
  spec="$("$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p' | head -n1)"
  spec="${spec#1.}"
  case "$spec" in '' | *[!0-9]*) return 1 ;; esac
  printf '%s\n' "$spec"
}

JAVA=""
find_java() {
  local -a candidates=()
  [ -n "${APICURIO_JAVA_HOME:-}" ] && candidates+=("$APICURIO_JAVA_HOME/bin/java")
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME/bin/java")
  command -v java >/dev/null 2>&1 && candidates+=("$(command -v java)")
  local d
  for d in /usr/lib/jvm/* /usr/java/* /opt/java/* /opt/*jdk* /opt/*jre* /Library/Java/JavaVirtualMachines/*/Contents/Home; do
    [ -x "$d/bin/java" ] && candidates+=("$d/bin/java")
  done
  local c spec best="" best_spec=0 seen=""
  for c in "${candidates[@]}"; do
    [ -x "$c" ] || continue
    spec="$(java_spec "$c" 2>/dev/null)" || continue
    seen="$seen${seen:+, }$c (Java $spec)"
    # an explicit APICURIO_JAVA_HOME wins when it qualifies; otherwise the newest
    if [ "$spec" -ge "$MIN_JAVA" ] && [ -n "${APICURIO_JAVA_HOME:-}" ] && [ "$c" = "$APICURIO_JAVA_HOME/bin/java" ]; then
      best="$c"; best_spec="$spec"; break
    fi
    if [ "$spec" -ge "$MIN_JAVA" ] && [ "$spec" -gt "$best_spec" ]; then best="$c"; best_spec="$spec"; fi
  done
  [ -n "$best" ] || die "Apicurio Registry $APICURIO_REGISTRY_VERSION (the test Schema Registry) needs Java $MIN_JAVA or newer, \
and none was found (looked at: ${seen:-no Java at all}). Install a JDK or JRE $MIN_JAVA+ beside the one Kafka uses \
(Debian 13 / Ubuntu 24.04: apt-get install -y openjdk-21-jre-headless; Debian 12: an Eclipse Temurin 21+ package; \
macOS: brew install openjdk@21), then rerun, or point APICURIO_JAVA_HOME at it"
  JAVA="$best"
}

# ---------------------------------------------------------------------------------------------
# provision: the distribution from Maven Central into the cache

home_dir() { cache_dir "apicurio-registry/$APICURIO_REGISTRY_VERSION"; }
provisioned() { [ -f "$1/.provisioned" ] && [ -f "$1/app/quarkus-run.jar" ]; }

cmd_provision() {
  local quiet="${1:-}" home; home="$(home_dir)"
  if provisioned "$home"; then
    [ -n "$quiet" ] || log "Apicurio Registry $APICURIO_REGISTRY_VERSION already provisioned ($home/app)"
    return 0
  fi
  require_cmd mvn "Apache Maven 3.6+ is needed once, to download Apicurio Registry from Maven Central \
(Debian/Ubuntu: apt-get install -y maven; macOS: brew install maven)"
  require_cmd tar "install tar"
  exec 9>"$home/.lock"
  if command -v flock >/dev/null 2>&1; then flock 9; fi
  if provisioned "$home"; then
    log "Apicurio Registry $APICURIO_REGISTRY_VERSION already provisioned ($home/app)"
    return 0
  fi
  local tmp="$home/download.tmp.$$" m2="$home/m2"
  rm -rf "$tmp" "$home/app"
  : >"$home/provision.log"
  run_logged "downloading $ARTIFACT from Maven Central" "$home/provision.log" \
    mvn -B -Dstyle.color=never -Dmaven.repo.local="$m2" "$DEPENDENCY_PLUGIN:copy" \
    -Dartifact="$ARTIFACT" -DoutputDirectory="$tmp" -Dmdep.useBaseVersion=true \
    || { rm -rf "$tmp"; die "could not download $ARTIFACT from Maven Central (log: $home/provision.log)"; }
  local tarball="$tmp/apicurio-registry-app-$APICURIO_REGISTRY_VERSION-all.tar.gz"
  [ -f "$tarball" ] || { rm -rf "$tmp"; die "Maven finished but $tarball is missing (log: $home/provision.log)"; }
  mkdir -p "$tmp/unpacked"
  tar -xzf "$tarball" -C "$tmp/unpacked" || { rm -rf "$tmp"; die "could not unpack $tarball"; }
  [ -f "$tmp/unpacked/quarkus-run.jar" ] || { rm -rf "$tmp"; die "$tarball has no quarkus-run.jar at its top"; }
  mv "$tmp/unpacked" "$home/app"
  rm -rf "$tmp"
  # the tarball's copy in the local Maven repository is not needed any more (150+ MB)
  rm -rf "$m2/io/apicurio/apicurio-registry-app"
  printf '%s\n' "$ARTIFACT" >"$home/.provisioned"
  log "Apicurio Registry $APICURIO_REGISTRY_VERSION provisioned in $home/app ($(du -sh "$home/app" | cut -f1))"
}

# ---------------------------------------------------------------------------------------------
# run directory

RUN_DIR=""
set_run_dir() {
  [ -n "${1:-}" ] || usage
  if [ "${2:-}" = create ]; then mkdir -p "$1"; fi
  [ -d "$1" ] || { RUN_DIR="$1"; return 0; }
  RUN_DIR="$(cd "$1" && pwd)"
}

PORT="" MPORT="" OWNER_PID=""

write_state() {
  local pid="$1" url="http://127.0.0.1:$PORT/apis/ccompat/v7"
  cat >"$RUN_DIR/registry.env" <<EOF
REGISTRY_PORT=$PORT
REGISTRY_MANAGEMENT_PORT=$MPORT
REGISTRY_OWNER_PID=$OWNER_PID
EOF
  local tmp="$RUN_DIR/state.json.tmp"
  {
    printf '{\n'
    printf '  "url": %s,\n' "$(json_escape "$url")"
    printf '  "runDir": %s,\n' "$(json_escape "$RUN_DIR")"
    printf '  "logFile": %s,\n' "$(json_escape "$RUN_DIR/logs/registry.log")"
    printf '  "port": %s,\n' "$PORT"
    printf '  "managementPort": %s,\n' "$MPORT"
    printf '  "pid": %s,\n' "$pid"
    printf '  "version": %s,\n' "$(json_escape "Apicurio Registry $APICURIO_REGISTRY_VERSION")"
    printf '  "java": %s,\n' "$(json_escape "$JAVA")"
    printf '  "startedAt": %s\n' "$(json_escape "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"
    printf '}\n'
  } >"$tmp"
  mv "$tmp" "$RUN_DIR/state.json"
}

# http_get URL : the body of a 2xx answer (bash only, no curl needed); fails otherwise.
http_get() {
  local rest="${1#http://}" hostport path
  hostport="${rest%%/*}"; path="/${rest#*/}"
  (
    exec 3<>"/dev/tcp/${hostport%%:*}/${hostport##*:}" || exit 1
    printf 'GET %s HTTP/1.0\r\nHost: %s\r\nAccept: application/json\r\n\r\n' "$path" "$hostport" >&3
    local response; response="$(timeout 5 cat <&3)" || exit 1
    exec 3>&-
    case "${response%%$'\r'*}" in "HTTP/1."[01]" 2"*) ;; *) exit 1 ;; esac
    printf '%s\n' "${response#*$'\r\n\r\n'}"
  ) 2>/dev/null
}

# ready PORT : the Confluent API lists subjects and reports the global compatibility we set.
ready() {
  http_get "http://127.0.0.1:$1/apis/ccompat/v7/subjects" >/dev/null || return 1
  http_get "http://127.0.0.1:$1/apis/ccompat/v7/config" | grep -q '"BACKWARD"'
}

group_alive_run() { [ -f "$RUN_DIR/registry.pid" ] && kill -0 -- "-$(cat "$RUN_DIR/registry.pid")" 2>/dev/null; }

stop_group() {
  local grace="$1" pid _
  [ -f "$RUN_DIR/registry.pid" ] || return 0
  pid="$(cat "$RUN_DIR/registry.pid")"
  if [ -n "$pid" ] && kill -0 -- "-$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 $(( grace * 10 ))); do
      kill -0 -- "-$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 -- "-$pid" 2>/dev/null; then
      log "registry (pid $pid) still running after ${grace}s: SIGKILL"
      kill -KILL -- "-$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  fi
  rm -f "$RUN_DIR/registry.pid"
}

fail_start() {
  log "$1"
  tail_log "$RUN_DIR/logs/registry.log" 40
  stop_group 5
  exit 1
}

launch() {
  local heap="${REGISTRY_HEAP_OPTS:--Xms64m -Xmx384m}"
  local -a jvm
  # shellcheck disable=SC2206
  jvm=($heap -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
    "-Djava.io.tmpdir=$RUN_DIR/tmp"
    -Dquarkus.http.host=127.0.0.1 "-Dquarkus.http.port=$PORT"
    -Dquarkus.management.host=127.0.0.1 "-Dquarkus.management.port=$MPORT"
    -Dapicurio.rules.global.compatibility=BACKWARD
    "-Dapicurio.storage.snapshot.location=$RUN_DIR/tmp" "-Dapicurio.import.work-dir=$RUN_DIR/tmp"
    -Dapicurio.datasource.jdbc.initial-size=2 -Dapicurio.datasource.jdbc.min-size=2 -Dapicurio.datasource.jdbc.max-size=10
    -Dquarkus.log.console.json=false)
  printf '=== %s registry.sh start: Apicurio Registry %s, http 127.0.0.1:%s, management 127.0.0.1:%s, %s\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$APICURIO_REGISTRY_VERSION" "$PORT" "$MPORT" "$JAVA" >>"$RUN_DIR/logs/registry.log"
  # Same process-group + owner watchdog arrangement as kafka.sh.
  # shellcheck disable=SC2016
  ( cd "$RUN_DIR/tmp" && start_bg "$RUN_DIR/logs/registry.log" "$RUN_DIR/registry.pid" bash -c '
    owner="$1"; shift
    if [ -n "$owner" ]; then
      ( while kill -0 "$owner" 2>/dev/null && kill -0 "$$" 2>/dev/null; do sleep 1; done
        kill -0 "$$" 2>/dev/null || exit 0
        echo "=== owner process $owner is gone: stopping the registry" >&2
        kill -TERM "$$" 2>/dev/null
        for _ in $(seq 1 200); do kill -0 "$$" 2>/dev/null || exit 0; sleep 0.1; done
        kill -KILL -- "-$$" 2>/dev/null ) &
    fi
    exec "$@"' apicurio-registry "$OWNER_PID" \
    "$JAVA" "${jvm[@]}" -jar "$(home_dir)/app/quarkus-run.jar" )
}

cmd_start() {
  set_run_dir "${1:-}" create
  if pid_alive "$RUN_DIR/registry.pid"; then
    log "already running (pid $(cat "$RUN_DIR/registry.pid")), run dir $RUN_DIR"
    cat "$RUN_DIR/state.json"
    return 0
  fi
  stop_group 5
  find_java
  cmd_provision quiet
  mkdir -p "$RUN_DIR/logs" "$RUN_DIR/tmp"
  OWNER_PID="${KUBEVENTS_TESTENV_OWNER_PID:-}"
  [ -z "$OWNER_PID" ] || kill -0 "$OWNER_PID" 2>/dev/null || die "owner process $OWNER_PID is not running"
  local attempt t0 pid offset
  for attempt in 1 2 3; do
    read -r PORT MPORT <<<"$(free_ports 2)"
    t0=$(date +%s)
    offset=$(stat -c %s "$RUN_DIR/logs/registry.log" 2>/dev/null || echo 0)
    log "starting Apicurio Registry $APICURIO_REGISTRY_VERSION on 127.0.0.1:$PORT (management :$MPORT) with $JAVA, run dir $RUN_DIR"
    pid="$(launch)"
    if WAIT_FOR_PID="$pid" wait_for "$START_TIMEOUT" "Apicurio Registry on 127.0.0.1:$PORT" ready "$PORT"; then
      write_state "$pid"
      log "Apicurio Registry ready on http://127.0.0.1:$PORT/apis/ccompat/v7 in $(( $(date +%s) - t0 ))s (pid $pid)"
      cat "$RUN_DIR/state.json"
      return 0
    fi
    if [ "$attempt" -lt 3 ] && tail -c +"$(( offset + 1 ))" "$RUN_DIR/logs/registry.log" 2>/dev/null | grep -q 'Address already in use'; then
      log "port clash on $PORT/$MPORT, retrying with other ports"
      stop_group 5
      continue
    fi
    if kill -0 "$pid" 2>/dev/null; then
      fail_start "Apicurio Registry did not become ready on 127.0.0.1:$PORT within ${START_TIMEOUT}s (log: $RUN_DIR/logs/registry.log)"
    fi
    fail_start "Apicurio Registry exited during startup (log: $RUN_DIR/logs/registry.log)"
  done
}

cmd_stop() {
  set_run_dir "${1:-}"
  if group_alive_run; then
    local pid t0; pid="$(cat "$RUN_DIR/registry.pid")"; t0=$(date +%s)
    stop_group "$STOP_TIMEOUT"
    log "stopped (pid $pid) in $(( $(date +%s) - t0 ))s"
  else
    rm -f "$RUN_DIR/registry.pid"
    log "not running ($RUN_DIR)"
  fi
}

cmd_status() {
  set_run_dir "${1:-}"
  if ! pid_alive "$RUN_DIR/registry.pid"; then
    echo "stopped ($RUN_DIR)"
    return 3
  fi
  # shellcheck source=/dev/null
  . "$RUN_DIR/registry.env"
  if ready "$REGISTRY_PORT"; then
    echo "running: pid $(cat "$RUN_DIR/registry.pid"), http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7, management 127.0.0.1:$REGISTRY_MANAGEMENT_PORT"
    return 0
  fi
  echo "not answering: pid $(cat "$RUN_DIR/registry.pid") runs, but 127.0.0.1:$REGISTRY_PORT does not serve the Confluent API"
  return 1
}

cmd_logs() {
  set_run_dir "${1:-}"
  local n="${2:-}" f="$RUN_DIR/logs/registry.log"
  [ -s "$f" ] || { echo "(no log in $RUN_DIR)"; return 0; }
  if [ -n "$n" ]; then tail -n "$n" "$f"; else cat "$f"; fi
}

case "${1:-}" in
  provision) cmd_provision ;;
  start) cmd_start "${2:-}" ;;
  stop) cmd_stop "${2:-}" ;;
  status) cmd_status "${2:-}" ;;
  logs) cmd_logs "${2:-}" "${3:-}" ;;
  java) find_java; printf '%s\n' "$JAVA" ;;
  -h | --help | help) usage ;;
  *) usage ;;
esac
