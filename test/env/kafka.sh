#!/usr/bin/env bash
# A real, single-node Apache Kafka broker for the integration tests: KRaft, one combined
# broker+controller process, listening on 127.0.0.1 on free ports, all state in one run directory.
#
# Listeners (all on 127.0.0.1; state.json has their host:port):
#   PLAINTEXT   no TLS, no authentication (most tests; inter-broker traffic)
#   SASL_SSL    TLS (certificate from a CA made for this run) + SASL SCRAM-SHA-512, user "kubevents"
#               with a random password (tls/scram-password); the credential is added at format time
#               (kafka-storage format --add-scram): no admin round trip, no extra JVM start
#   MTLS        TLS with client certificates required (tls/client.pem, signed by the same CA)
#   EXPIRED     TLS with a broker certificate that expired yesterday (error tests)
#   WRONGHOST   TLS with a certificate for kafka.wrong-host.test only, not 127.0.0.1 (error tests)
# The certificates (EC P-256, made by openssl in RUN_DIR/tls in well under a second) are made once
# per run directory and kept across `restart`; tls/other-ca.pem is a CA that signed nothing here.
#
#   kafka.sh provision          resolve the broker's jars from Maven Central into the cache (once)
#   kafka.sh start   RUN_DIR    start a broker (provisions if needed), wait until it serves metadata,
#                               write RUN_DIR/state.json and print it
#   kafka.sh stop    RUN_DIR    stop it (SIGTERM, SIGKILL after a grace period); idempotent
#   kafka.sh restart RUN_DIR    stop + start on the same ports and the same data directory
#   kafka.sh status  RUN_DIR    print whether it runs and answers; exit 0 only when it does
#   kafka.sh logs    RUN_DIR [N] print the broker's log (the last N lines when N is given)
#
# Requirements: Java 17+ (java on PATH or JAVA_HOME), openssl (the run's certificates), and Maven
# (mvn) for the first provision.
# Versions: test/env/versions.env (KAFKA_VERSION, KAFKA_SCALA_VERSION, KAFKA_LOG4J_VERSION).
# Cache: ${KUBEVENTS_TESTENV_CACHE:-~/.cache/kubevents/testenv}/kafka/<version>/libs.
# Environment knobs:
#   KAFKA_HEAP_OPTS        JVM heap flags (default -Xms128m -Xmx512m)
#   KAFKA_JVM_OPTS         extra JVM flags (default -XX:TieredStopAtLevel=1; set it, even empty, to replace)
#   KAFKA_START_TIMEOUT    seconds to wait for readiness (default 120)
#   KAFKA_STOP_TIMEOUT     seconds to wait for a clean shutdown before SIGKILL (default 30)
#   KUBEVENTS_TESTENV_OWNER_PID  when set at `start`, the broker is killed as soon as this process
#                          exits (no orphan broker when a test runner dies); kept across `restart`
#
# RUN_DIR layout: state.json (for TypeScript), kafka.env (for this script), server.properties,
# log4j2.properties, kafka.pid, data/ (log.dirs + metadata), logs/server.log, logs/stdout.log,
# tls/ (CA, broker and client certificates and keys, the SCRAM password; mode 0700).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
LOG_TAG=kafka

: "${KAFKA_VERSION:=4.1.2}"
: "${KAFKA_SCALA_VERSION:=2.13}"
: "${KAFKA_LOG4J_VERSION:=2.24.3}"
POM="$HERE/kafka/pom.xml"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# ---------------------------------------------------------------------------------------------
# prerequisites

JAVA=""
require_java() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    JAVA="$JAVA_HOME/bin/java"
  elif command -v java >/dev/null 2>&1; then
    JAVA="$(command -v java)"
  else
    die "Java 17 or newer is required to run the Kafka broker and none was found: install a JDK/JRE 17+ \
(Debian/Ubuntu: apt-get install -y openjdk-17-jre-headless; macOS: brew install openjdk@17) or set JAVA_HOME"
  fi
  local spec
  spec="$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p' | head -n1)"
  spec="${spec#1.}"   # 1.8 -> 8
  case "$spec" in
    '' | *[!0-9]*) die "could not determine the Java version of $JAVA: Kafka $KAFKA_VERSION needs Java 17+ \
(Debian/Ubuntu: apt-get install -y openjdk-17-jre-headless)" ;;
  esac
  [ "$spec" -ge 17 ] || die "Kafka $KAFKA_VERSION needs Java 17 or newer, but $JAVA is Java $spec: install a JDK/JRE 17+ \
(Debian/Ubuntu: apt-get install -y openjdk-17-jre-headless) and put it first on PATH or set JAVA_HOME"
}

# ---------------------------------------------------------------------------------------------
# provision: jars from Maven Central into the cache

kafka_home() { cache_dir "kafka/$KAFKA_VERSION"; }
provision_stamp() {
  printf 'kafka_%s:%s log4j:%s pom:%s\n' "$KAFKA_SCALA_VERSION" "$KAFKA_VERSION" "$KAFKA_LOG4J_VERSION" \
    "$(cksum <"$POM" | cut -d' ' -f1)"
}
provisioned() {
  local home="$1"
  [ -f "$home/.provisioned" ] && [ "$(cat "$home/.provisioned")" = "$(provision_stamp)" ] \
    && [ -f "$home/libs/kafka_${KAFKA_SCALA_VERSION}-${KAFKA_VERSION}.jar" ]
}

cmd_provision() {
  local quiet="${1:-}" home; home="$(kafka_home)"
  if provisioned "$home"; then
    [ -n "$quiet" ] || log "Kafka $KAFKA_VERSION already provisioned ($home/libs)"
    return 0
  fi
  require_java
  require_cmd mvn "Apache Maven 3.6+ is needed once, to download the Kafka broker from Maven Central \
(Debian/Ubuntu: apt-get install -y maven; macOS: brew install maven)"
  # one provisioner at a time per version (parallel test runs on one machine)
  exec 9>"$home/.lock"
  if command -v flock >/dev/null 2>&1; then flock 9; fi
  if provisioned "$home"; then
    log "Kafka $KAFKA_VERSION already provisioned ($home/libs)"
    return 0
  fi
  local tmp="$home/libs.tmp.$$"
  rm -rf "$tmp"
  : >"$home/provision.log"
  run_logged "resolving org.apache.kafka:kafka_$KAFKA_SCALA_VERSION:$KAFKA_VERSION from Maven Central" \
    "$home/provision.log" \
    mvn -B -Dstyle.color=never -f "$POM" \
    -Dmaven.repo.local="$(cache_dir kafka/m2)" \
    -Dkafka.version="$KAFKA_VERSION" \
    -Dscala.binary.version="$KAFKA_SCALA_VERSION" \
    -Dlog4j.version="$KAFKA_LOG4J_VERSION" \
    dependency:copy-dependencies -DoutputDirectory="$tmp" \
    || { rm -rf "$tmp"; die "could not resolve Kafka $KAFKA_VERSION from Maven Central (log: $home/provision.log)"; }
  [ -f "$tmp/kafka_${KAFKA_SCALA_VERSION}-${KAFKA_VERSION}.jar" ] \
    || { rm -rf "$tmp"; die "Maven finished but kafka_${KAFKA_SCALA_VERSION}-${KAFKA_VERSION}.jar is missing (log: $home/provision.log)"; }
  rm -rf "$home/libs"
  mv "$tmp" "$home/libs"
  provision_stamp >"$home/.provisioned"
  log "Kafka $KAFKA_VERSION provisioned: $(find "$home/libs" -name '*.jar' | wc -l | tr -d ' ') jars in $home/libs"
}

# ---------------------------------------------------------------------------------------------
# run directory helpers

RUN_DIR=""
# set_run_dir DIR [create] : absolute RUN_DIR; only `start` creates it.
set_run_dir() {
  [ -n "${1:-}" ] || usage
  if [ "${2:-}" = create ]; then mkdir -p "$1"; fi
  [ -d "$1" ] || { RUN_DIR="$1"; return 0; }
  RUN_DIR="$(cd "$1" && pwd)"
}

# Kafka cluster ids are 16 random bytes, base64url without padding (22 chars); avoid a leading '-'
# (it would parse as an option) like Kafka's own Uuid.randomUuid() does.
random_cluster_id() {
  local id
  while true; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    case "$id" in -*) continue ;; esac
    printf '%s\n' "$id"
    return 0
  done
}

SCRAM_USER=kubevents

# write_tls : the run's certificates in RUN_DIR/tls, unless already there (a restart keeps them).
#   ca.pem / ca-key.pem             the CA the clients trust
#   broker.pem                      broker key + certificate (SAN IP:127.0.0.1, DNS:localhost), PEM keystore
#   expired.pem                     broker key + a certificate that expired yesterday
#   wrong-host.pem                  broker key + a certificate for DNS:kafka.wrong-host.test only
#   client.pem / client-key.pem     client certificate (CN=kubevents-client) for the MTLS listener
#   other-ca.pem                    a second CA that signed none of these ("unknown CA" tests)
#   scram-password                  the SCRAM-SHA-512 password of user $SCRAM_USER (hex, mode 0600)
# EC P-256 keys: generating them takes milliseconds, unlike RSA on a busy 2-core machine.
write_tls() {
  local dir="$RUN_DIR/tls"
  [ -f "$dir/.complete" ] && return 0
  require_cmd openssl "install OpenSSL (Debian/Ubuntu: apt-get install -y openssl; macOS: brew install openssl)"
  rm -rf "$dir"
  mkdir -p "$dir/ca-db"
  chmod 700 "$dir"
  (
    set -e
    cd "$dir"
    umask 077
    ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256)
    ca_ext=(-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign")
    openssl req -x509 "${ec[@]}" -days 30 -keyout ca-key.pem -out ca.pem -subj "/CN=kubevents test CA $(basename "$RUN_DIR")" "${ca_ext[@]}"
    openssl req -x509 "${ec[@]}" -days 30 -keyout other-ca-key.pem -out other-ca.pem -subj "/CN=kubevents unrelated test CA" "${ca_ext[@]}"
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:kafka.wrong-host.test\n' >wrong-host.ext
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >client.ext
    # sign NAME SUBJECT EXT : NAME-key.pem and NAME.crt, valid 30 days, signed by ca.pem
    sign() {
      openssl req -new "${ec[@]}" -keyout "$1-key.pem" -out "$1.csr" -subj "$2"
      openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca-key.pem -set_serial "0x$(openssl rand -hex 12)" \
        -sha256 -days 30 -extfile "$3" -out "$1.crt"
    }
    sign broker /CN=127.0.0.1 server.ext
    sign wrong-host /CN=kafka.wrong-host.test wrong-host.ext
    sign client /CN=kubevents-client client.ext
    # expired: valid from two days ago until yesterday (`openssl x509` cannot backdate; `openssl ca` can)
    : >ca-db/index.txt
    printf '[ca]\ndefault_ca=d\n[d]\ndatabase=ca-db/index.txt\nnew_certs_dir=ca-db\nrand_serial=yes\ndefault_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n' >ca-db/ca.cnf
    openssl req -new "${ec[@]}" -keyout expired-key.pem -out expired.csr -subj /CN=127.0.0.1
    openssl ca -batch -notext -config ca-db/ca.cnf -cert ca.pem -keyfile ca-key.pem -in expired.csr -out expired.crt \
      -extfile server.ext -startdate "$(date -u -d '2 days ago' +%Y%m%d%H%M%SZ)" -enddate "$(date -u -d '1 day ago' +%Y%m%d%H%M%SZ)"
    # Kafka's PEM keystores: the (unencrypted PKCS#8) key followed by the certificate chain
    for n in broker expired wrong-host; do cat "$n-key.pem" "$n.crt" ca.pem >"$n.pem"; done
    cp client.crt client.pem
    openssl rand -hex 16 >scram-password
    rm -f ./*.csr
  ) >>"$RUN_DIR/logs/tls.log" 2>&1 || { tail_log "$RUN_DIR/logs/tls.log" 20; die "making the test certificates with openssl failed (log: $RUN_DIR/logs/tls.log)"; }
  : >"$dir/.complete"
}

# write_configs PLAINTEXT CONTROLLER SASL_SSL MTLS EXPIRED WRONGHOST (ports)
write_configs() {
  local port="$1" cport="$2" sport="$3" mport="$4" eport="$5" wport="$6" tls="$RUN_DIR/tls"
  cat >"$RUN_DIR/server.properties" <<EOF
# written by test/env/kafka.sh: single-node KRaft (combined broker + controller) for tests
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport,SASL_SSL://127.0.0.1:$sport,MTLS://127.0.0.1:$mport,EXPIRED://127.0.0.1:$eport,WRONGHOST://127.0.0.1:$wport
advertised.listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport,SASL_SSL://127.0.0.1:$sport,MTLS://127.0.0.1:$mport,EXPIRED://127.0.0.1:$eport,WRONGHOST://127.0.0.1:$wport
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL,MTLS:SSL,EXPIRED:SSL,WRONGHOST:SSL
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$RUN_DIR/data
metadata.log.dir=$RUN_DIR/data

# TLS: PEM key stores (key + chain) and trust store (the run's CA), see write_tls; per-listener
# overrides (listener.name.<listener>.ssl.*) fall back to these per setting
ssl.keystore.type=PEM
ssl.keystore.location=$tls/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$tls/ca.pem
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.mtls.ssl.client.auth=required
listener.name.expired.ssl.keystore.location=$tls/expired.pem
listener.name.wronghost.ssl.keystore.location=$tls/wrong-host.pem

# one node: every internal topic has replication factor 1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=5
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=5
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1

auto.create.topics.enable=true
delete.topic.enable=true
num.partitions=1
group.initial.rebalance.delay.ms=0

# small footprint
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=24
log.segment.bytes=67108864
EOF
  cat >"$RUN_DIR/log4j2.properties" <<EOF
# written by test/env/kafka.sh: everything to one file
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $RUN_DIR/logs/server.log
appender.file.append = true
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
EOF
}

write_state() {
  local pid="$1"
  cat >"$RUN_DIR/kafka.env" <<EOF
KAFKA_PORT=$PORT
KAFKA_CONTROLLER_PORT=$CPORT
KAFKA_SASL_SSL_PORT=$SPORT
KAFKA_MTLS_PORT=$MPORT
KAFKA_EXPIRED_PORT=$EPORT
KAFKA_WRONGHOST_PORT=$WPORT
KAFKA_CLUSTER_ID=$CLUSTER_ID
KAFKA_OWNER_PID=${OWNER_PID}
EOF
  local tmp="$RUN_DIR/state.json.tmp"
  {
    printf '{\n'
    printf '  "brokers": [%s],\n' "$(json_escape "127.0.0.1:$PORT")"
    printf '  "runDir": %s,\n' "$(json_escape "$RUN_DIR")"
    printf '  "logFile": %s,\n' "$(json_escape "$RUN_DIR/logs/server.log")"
    printf '  "stdoutFile": %s,\n' "$(json_escape "$RUN_DIR/logs/stdout.log")"
    printf '  "port": %s,\n' "$PORT"
    printf '  "controllerPort": %s,\n' "$CPORT"
    printf '  "pid": %s,\n' "$pid"
    printf '  "clusterId": %s,\n' "$(json_escape "$CLUSTER_ID")"
    printf '  "kafkaVersion": %s,\n' "$(json_escape "$KAFKA_VERSION")"
    printf '  "dataDir": %s,\n' "$(json_escape "$RUN_DIR/data")"
    printf '  "startedAt": %s,\n' "$(json_escape "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"
    local tls="$RUN_DIR/tls"
    printf '  "security": {\n'
    printf '    "saslSslBrokers": [%s],\n' "$(json_escape "127.0.0.1:$SPORT")"
    printf '    "mtlsBrokers": [%s],\n' "$(json_escape "127.0.0.1:$MPORT")"
    printf '    "expiredCertBrokers": [%s],\n' "$(json_escape "127.0.0.1:$EPORT")"
    printf '    "wrongHostBrokers": [%s],\n' "$(json_escape "127.0.0.1:$WPORT")"
    printf '    "caFile": %s,\n' "$(json_escape "$tls/ca.pem")"
    printf '    "otherCaFile": %s,\n' "$(json_escape "$tls/other-ca.pem")"
    printf '    "clientCertFile": %s,\n' "$(json_escape "$tls/client.pem")"
    printf '    "clientKeyFile": %s,\n' "$(json_escape "$tls/client-key.pem")"
    printf '    "scramMechanism": "scram-sha-512",\n'
    printf '    "scramUsername": %s,\n' "$(json_escape "$SCRAM_USER")"
    printf '    "scramPasswordFile": %s\n' "$(json_escape "$tls/scram-password")"
    printf '  }\n'
    printf '}\n'
  } >"$tmp"
  mv "$tmp" "$RUN_DIR/state.json"
}

# metadata_ok PORT : a real Metadata (v1, all topics) round trip over /dev/tcp; true when the broker
# answers with our correlation id and lists at least one broker.
metadata_ok() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    # size=22 | api_key=3 (Metadata) | api_version=1 | correlation_id=42 | client_id="kafka.sh" | topics=null(-1)
    printf '\x00\x00\x00\x16\x00\x03\x00\x01\x00\x00\x00\x2a\x00\x08kafka.sh\xff\xff\xff\xff' >&3
    hex="$(timeout 5 head -c 12 <&3 | od -An -v -tx1 | tr -d ' \n')"
    exec 3>&-
    # response: size(4) correlation_id(4) brokers.length(4)
    [ "${#hex}" -eq 24 ] && [ "${hex:8:8}" = "0000002a" ] && [ $((16#${hex:16:8})) -ge 1 ]
  ) 2>/dev/null
}

# ready PORT LOG_OFFSET : port open, this start's "Kafka Server started" logged, metadata served.
ready() {
  tcp_open "$1" || return 1
  tail -c +"$(( $2 + 1 ))" "$RUN_DIR/logs/server.log" 2>/dev/null | grep -q 'Kafka Server started' || return 1
  metadata_ok "$1"
}

# The broker's process group: the JVM (pid == pgid) and the owner watchdog, if any.
group_alive() { [ -f "$RUN_DIR/kafka.pid" ] && kill -0 -- "-$(cat "$RUN_DIR/kafka.pid")" 2>/dev/null; }

# stop_group GRACE : SIGTERM the whole group, SIGKILL what is left after GRACE seconds; idempotent.
# (Unlike lib.sh's stop_pidfile, also cleans up when the JVM is gone but its watchdog is not.)
stop_group() {
  local grace="$1" pid _
  [ -f "$RUN_DIR/kafka.pid" ] || return 0
  pid="$(cat "$RUN_DIR/kafka.pid")"
  if [ -n "$pid" ] && kill -0 -- "-$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 $(( grace * 10 ))); do
      kill -0 -- "-$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 -- "-$pid" 2>/dev/null; then
      log "broker (pid $pid) still running after ${grace}s: SIGKILL"
      kill -KILL -- "-$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  fi
  rm -f "$RUN_DIR/kafka.pid"
}

fail_start() {
  log "$1"
  tail_log "$RUN_DIR/logs/server.log" 40
  if [ -s "$RUN_DIR/logs/stdout.log" ]; then tail_log "$RUN_DIR/logs/stdout.log" 20; fi
  stop_group 5
  exit 1
}

# ---------------------------------------------------------------------------------------------
# start / stop / restart / status / logs

PORT="" CPORT="" SPORT="" MPORT="" EPORT="" WPORT="" CLUSTER_ID="" OWNER_PID=""

launch() {
  local heap="${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}"
  # C1 only: the broker is up ~2 s sooner on a 2-core machine, and test traffic is light
  local DEFAULT_JVM_OPTS="-XX:TieredStopAtLevel=1"
  local -a jvm
  # shellcheck disable=SC2206
  jvm=($heap -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$RUN_DIR/log4j2.properties" "-Dkafka.logs.dir=$RUN_DIR/logs"
    ${KAFKA_JVM_OPTS-$DEFAULT_JVM_OPTS})
  printf '=== %s kafka.sh start: %s, broker 127.0.0.1:%s, controller 127.0.0.1:%s\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$KAFKA_VERSION" "$PORT" "$CPORT" >>"$RUN_DIR/logs/stdout.log"
  # The process group (pid == pgid) holds the JVM and, when an owner is given, a watchdog that kills
  # the group once the owner is gone; stop kills the whole group.
  # shellcheck disable=SC2016
  start_bg "$RUN_DIR/logs/stdout.log" "$RUN_DIR/kafka.pid" bash -c '
    owner="$1"; shift
    if [ -n "$owner" ]; then
      ( while kill -0 "$owner" 2>/dev/null && kill -0 "$$" 2>/dev/null; do sleep 1; done
        kill -0 "$$" 2>/dev/null || exit 0
        echo "=== owner process $owner is gone: stopping the broker" >&2
        kill -TERM "$$" 2>/dev/null
        for _ in $(seq 1 300); do kill -0 "$$" 2>/dev/null || exit 0; sleep 0.1; done
        kill -KILL -- "-$$" 2>/dev/null ) &
    fi
    exec "$@"' kafka-broker "$OWNER_PID" \
    "$JAVA" "${jvm[@]}" -cp "$(kafka_home)/libs/*" kafka.Kafka "$RUN_DIR/server.properties"
}

cmd_start() {
  set_run_dir "${1:-}" create
  if pid_alive "$RUN_DIR/kafka.pid"; then
    log "already running (pid $(cat "$RUN_DIR/kafka.pid")), run dir $RUN_DIR"
    cat "$RUN_DIR/state.json"
    return 0
  fi
  stop_group 5   # what is left of a broker that died (its watchdog), if anything
  require_java
  cmd_provision quiet
  mkdir -p "$RUN_DIR/logs" "$RUN_DIR/data"
  write_tls
  local fresh=1
  if [ -f "$RUN_DIR/kafka.env" ]; then
    # a restart: same ports, same cluster, same data
    # shellcheck source=/dev/null
    . "$RUN_DIR/kafka.env"
    PORT="$KAFKA_PORT" CPORT="$KAFKA_CONTROLLER_PORT" CLUSTER_ID="$KAFKA_CLUSTER_ID"
    SPORT="$KAFKA_SASL_SSL_PORT" MPORT="$KAFKA_MTLS_PORT" EPORT="$KAFKA_EXPIRED_PORT" WPORT="$KAFKA_WRONGHOST_PORT"
    OWNER_PID="${KUBEVENTS_TESTENV_OWNER_PID:-${KAFKA_OWNER_PID:-}}"
    fresh=0
  else
    CLUSTER_ID="$(random_cluster_id)"
    OWNER_PID="${KUBEVENTS_TESTENV_OWNER_PID:-}"
    # data from an earlier start that never got ready belongs to other ports and another cluster id
    rm -rf "$RUN_DIR/data"; mkdir -p "$RUN_DIR/data"
  fi
  [ -z "$OWNER_PID" ] || kill -0 "$OWNER_PID" 2>/dev/null || die "owner process $OWNER_PID is not running"

  local attempt t0 pid offset
  for attempt in 1 2 3; do
    if [ "$fresh" = 1 ]; then
      read -r PORT CPORT SPORT MPORT EPORT WPORT <<<"$(free_ports 6)"
    fi
    write_configs "$PORT" "$CPORT" "$SPORT" "$MPORT" "$EPORT" "$WPORT"
    if [ ! -f "$RUN_DIR/data/meta.properties" ]; then
      # (no log4j2 config: errors go to stdout.log, the broker's log stays the broker's)
      # The SCRAM credential goes into the metadata log at format time (KIP-900): in KRaft the
      # admin API (AlterUserScramCredentials) would be the other way, but kafkajs does not speak
      # it, and the Java kafka-configs tool would cost another JVM start on every run.
      "$JAVA" -XX:TieredStopAtLevel=1 -cp "$(kafka_home)/libs/*" \
        kafka.tools.StorageTool format --cluster-id "$CLUSTER_ID" --config "$RUN_DIR/server.properties" \
        --standalone --add-scram "SCRAM-SHA-512=[name=$SCRAM_USER,password=$(cat "$RUN_DIR/tls/scram-password")]" \
        >>"$RUN_DIR/logs/stdout.log" 2>&1 \
        || fail_start "formatting the storage directory $RUN_DIR/data failed"
    fi
    t0=$(date +%s)
    offset=$(stat -c %s "$RUN_DIR/logs/server.log" 2>/dev/null || echo 0)
    log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$PORT (controller :$CPORT, SASL_SSL :$SPORT, mTLS :$MPORT), run dir $RUN_DIR"
    pid="$(launch)"
    if WAIT_FOR_PID="$pid" wait_for "$START_TIMEOUT" "Kafka broker on 127.0.0.1:$PORT" ready "$PORT" "$offset"; then
      write_state "$pid"
      log "Kafka ready on 127.0.0.1:$PORT in $(( $(date +%s) - t0 ))s (pid $pid)"
      cat "$RUN_DIR/state.json"
      return 0
    fi
    # Someone took a port between picking and binding: pick new ones (fresh runs only).
    if [ "$fresh" = 1 ] && [ "$attempt" -lt 3 ] \
      && tail -c +"$(( offset + 1 ))" "$RUN_DIR/logs/server.log" 2>/dev/null | grep -q 'Address already in use'; then
      log "port clash on one of $PORT $CPORT $SPORT $MPORT $EPORT $WPORT, retrying with other ports"
      stop_group 5
      rm -rf "$RUN_DIR/data"; mkdir -p "$RUN_DIR/data"
      continue
    fi
    if kill -0 "$pid" 2>/dev/null; then
      fail_start "Kafka did not become ready on 127.0.0.1:$PORT within ${START_TIMEOUT}s (logs: $RUN_DIR/logs)"
    fi
    fail_start "the Kafka broker exited during startup (logs: $RUN_DIR/logs)"
  done
}

cmd_stop() {
  set_run_dir "${1:-}"
  if group_alive; then
    local pid t0; pid="$(cat "$RUN_DIR/kafka.pid")"; t0=$(date +%s)
    stop_group "$STOP_TIMEOUT"
    log "stopped (pid $pid) in $(( $(date +%s) - t0 ))s"
  else
    rm -f "$RUN_DIR/kafka.pid"
    log "not running ($RUN_DIR)"
  fi
}

cmd_restart() {
  set_run_dir "${1:-}"
  [ -f "$RUN_DIR/kafka.env" ] || die "no Kafka was started in $RUN_DIR (missing kafka.env): use start"
  cmd_stop "$RUN_DIR"
  cmd_start "$RUN_DIR"
}

cmd_status() {
  set_run_dir "${1:-}"
  if ! pid_alive "$RUN_DIR/kafka.pid"; then
    echo "stopped ($RUN_DIR)"
    return 3
  fi
  # shellcheck source=/dev/null
  . "$RUN_DIR/kafka.env"
  if metadata_ok "$KAFKA_PORT"; then
    echo "running: pid $(cat "$RUN_DIR/kafka.pid"), broker 127.0.0.1:$KAFKA_PORT, controller 127.0.0.1:$KAFKA_CONTROLLER_PORT"
    return 0
  fi
  echo "not answering: pid $(cat "$RUN_DIR/kafka.pid") runs, but no metadata from 127.0.0.1:$KAFKA_PORT"
  return 1
}

cmd_logs() {
  set_run_dir "${1:-}"
  local n="${2:-}" f
  for f in "$RUN_DIR/logs/stdout.log" "$RUN_DIR/logs/server.log"; do
    [ -s "$f" ] || continue
    printf -- '===== %s =====\n' "$f"
    if [ -n "$n" ]; then tail -n "$n" "$f"; else cat "$f"; fi
  done
}

case "${1:-}" in
  provision) cmd_provision ;;
  start) cmd_start "${2:-}" ;;
  stop) cmd_stop "${2:-}" ;;
  restart) cmd_restart "${2:-}" ;;
  status) cmd_status "${2:-}" ;;
  logs) cmd_logs "${2:-}" "${3:-}" ;;
  -h | --help | help) usage ;;
  *) usage ;;
esac
