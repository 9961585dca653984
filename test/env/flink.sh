#!/usr/bin/env bash
# The Flink examples of docs/flink-example, built once into the cache and run in a local Flink
# MiniCluster with `java -cp` (no Flink distribution): the DataStream job (EventCounts) and the SQL
# recipe's runner (RunSql, AvroToSqlType).
#
#   flink.sh provision            build both with Maven (compile; jars from Maven Central into the
#                                 cache's Maven repository); cached per content of docs/flink-example
#   flink.sh classpath job|sql    print the classpath of one of them (provisions if needed)
#   flink.sh job ARGS...          run io.kubevents.flink.EventCounts ARGS (see its javadoc)
#   flink.sh sql ARGS...          run io.kubevents.flink.sql.RunSql ARGS ([--batch] FILE.sql)
#   flink.sh sql-type FILE.avsc.. print the Flink SQL row type Flink derives from each .avsc
#
# Requirements: Java 17+ (java on PATH or JAVA_HOME) and Maven (mvn) for the first build.
# Versions: the poms in docs/flink-example (Flink 2.2.1, flink-connector-kafka 5.0.0-2.2; the SQL
# classpath adds flink-sql-avro-confluent-registry 2.3.0).
# Cache: ${KUBEVENTS_TESTENV_CACHE:-~/.cache/kubevents/testenv}/flink-example/<content hash>/{job,sql}
# and its Maven repository flink-example/m2.
# Environment knobs:
#   FLINK_JAVA_OPTS   JVM flags for the runs (default -Xmx768m -XX:+UseSerialGC)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
LOG_TAG=flink

EXAMPLE="$(cd "$HERE/../../docs/flink-example" && pwd)"

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

JAVA=""
require_java() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    JAVA="$JAVA_HOME/bin/java"
  elif command -v java >/dev/null 2>&1; then
    JAVA="$(command -v java)"
  else
    die "Java 17 or newer is required to run the Flink examples and none was found: install a JDK 17+ \
(Debian/Ubuntu: apt-get install -y openjdk-17-jdk-headless; macOS: brew install openjdk@17) or set JAVA_HOME"
  fi
  local spec
  spec="$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p' | head -n1)"
  spec="${spec#1.}"
  case "$spec" in '' | *[!0-9]*) die "could not determine the Java version of $JAVA (Flink 2.2 needs 17+)" ;; esac
  [ "$spec" -ge 17 ] || die "Flink 2.2 needs Java 17 or newer, but $JAVA is Java $spec: install a JDK 17+ or set JAVA_HOME"
}

# The build's identity: every file Maven reads to build (poms, sources, resources).
content_hash() {
  (cd "$EXAMPLE" && find . -path ./target -prune -o -path ./sql/target -prune -o -type f \
    \( -name '*.xml' -o -name '*.java' -o -name '*.properties' \) -print | LC_ALL=C sort | xargs sha256sum) \
    | sha256sum | cut -c1-12
}

build_dir() { cache_dir "flink-example/$(content_hash)"; }
built() { [ -f "$1/.built" ] && [ -s "$1/job/classpath.txt" ] && [ -s "$1/sql/classpath.txt" ]; }

cmd_provision() {
  local quiet="${1:-}" dir; dir="$(build_dir)"
  if built "$dir"; then
    [ -n "$quiet" ] || log "Flink examples already built ($dir)"
    return 0
  fi
  require_java
  require_cmd mvn "Apache Maven 3.6+ is needed once, to build the Flink examples from Maven Central \
(Debian/Ubuntu: apt-get install -y maven; macOS: brew install maven)"
  exec 9>"$dir/.lock"
  if command -v flock >/dev/null 2>&1; then flock 9; fi
  if built "$dir"; then
    log "Flink examples already built ($dir)"
    return 0
  fi
  local m2 tmp part pom
  m2="$(cache_dir flink-example/m2)"
  tmp="$dir/build.tmp.$$"
  rm -rf "$tmp"
  : >"$dir/provision.log"
  for part in job sql; do
    pom="$EXAMPLE/pom.xml"
    [ "$part" = sql ] && pom="$EXAMPLE/sql/pom.xml"
    run_logged "building the Flink $part example ($pom)" "$dir/provision.log" \
      mvn -B -Dstyle.color=never -f "$pom" -Dmaven.repo.local="$m2" -Dbuild.dir="$tmp/$part" \
      compile dependency:build-classpath -Dmdep.outputFile="$tmp/$part/classpath.txt" \
      || { rm -rf "$tmp"; die "building $pom failed (log: $dir/provision.log)"; }
  done
  rm -rf "$dir/job" "$dir/sql"
  mv "$tmp/job" "$dir/job"
  mv "$tmp/sql" "$dir/sql"
  rm -rf "$tmp"
  date -u +%Y-%m-%dT%H:%M:%SZ >"$dir/.built"
  log "Flink examples built in $dir (job: $(tr ':' '\n' <"$dir/job/classpath.txt" | wc -l | tr -d ' ') jars, sql: $(tr ':' '\n' <"$dir/sql/classpath.txt" | wc -l | tr -d ' ') jars, in $m2)"
}

# The compiled classes, then the jars in the cache's Maven repository (dependency:build-classpath).
classpath() {
  local dir; dir="$(build_dir)"
  printf '%s/%s/classes:%s\n' "$dir" "$1" "$(cat "$dir/$1/classpath.txt")"
}

run_java() {
  local part="$1" main="$2"; shift 2
  require_java
  cmd_provision quiet
  # shellcheck disable=SC2086
  exec "$JAVA" ${FLINK_JAVA_OPTS:--Xmx768m -XX:+UseSerialGC} -cp "$(classpath "$part")" "$main" "$@"
}

case "${1:-}" in
  provision) cmd_provision ;;
  classpath)
    case "${2:-}" in job | sql) ;; *) usage ;; esac
    cmd_provision quiet
    classpath "$2"
    ;;
  job) shift; run_java job io.kubevents.flink.EventCounts "$@" ;;
  sql) shift; run_java sql io.kubevents.flink.sql.RunSql "$@" ;;
  sql-type) shift; run_java sql io.kubevents.flink.sql.AvroToSqlType "$@" ;;
  -h | --help | help) usage ;;
  *) usage ;;
esac
