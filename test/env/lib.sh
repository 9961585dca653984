#!/usr/bin/env bash
# Shared helpers for test/env/*.sh (kube.sh, kafka.sh). Source it; it defines functions only.
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Generic on purpose: nothing here knows about Kubernetes or Kafka.

# Directory holding this file (test/env).
TESTENV_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# Load pinned versions (KEY=value lines).
# shellcheck source=/dev/null
[ -f "$TESTENV_DIR/versions.env" ] && . "$TESTENV_DIR/versions.env"

# log MSG... : progress line on stderr, prefixed with a tag (set LOG_TAG before calling, default "testenv").
log() { printf '[%s %s] %s\n' "${LOG_TAG:-testenv}" "$(date +%H:%M:%S)" "$*" >&2; }

# die MSG... : print to stderr and exit 1.
die() { printf '[%s] ERROR: %s\n' "${LOG_TAG:-testenv}" "$*" >&2; exit 1; }

# cache_dir [SUBDIR] : print (and create) the shared cache dir, or a subdir of it.
#   ${KUBEVENTS_TESTENV_CACHE:-$HOME/.cache/kubevents/testenv}
cache_dir() {
  local base="${KUBEVENTS_TESTENV_CACHE:-${HOME:-/tmp}/.cache/kubevents/testenv}"
  local d="$base${1:+/$1}"
  mkdir -p "$d" && printf '%s\n' "$d"
}

# require_cmd CMD "how to install" : fail with a helpful message when CMD is missing.
require_cmd() {
  local cmd="$1" hint="${2:-install it}"
  command -v "$cmd" >/dev/null 2>&1 || die "required command '$cmd' not found: $hint"
}

# port_is_free PORT : true when nothing listens on 127.0.0.1:PORT (and we can bind it).
port_is_free() {
  local port="$1"
  if command -v python3 >/dev/null 2>&1; then
    python3 - "$port" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
  else
    ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
  fi
}

# free_port : print a free TCP port on 127.0.0.1, not handed out before by this shell.
# Picks random ports in 20000-32767, below Linux's default ephemeral range (32768-60999) so an
# outgoing connection cannot grab the port between picking and binding; checks each.
_LIB_PORTS_TAKEN=" "
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 12768 ))
    case "$_LIB_PORTS_TAKEN" in *" $port "*) continue ;; esac
    if port_is_free "$port"; then
      _LIB_PORTS_TAKEN="$_LIB_PORTS_TAKEN$port "
      printf '%s\n' "$port"; return 0
    fi
  done
  die "could not find a free port on 127.0.0.1"
}
# Note: call as `p=$(free_port)` loses _LIB_PORTS_TAKEN (subshell); use `free_ports N` for several.

# free_ports N : print N distinct free ports on one line, space separated.
free_ports() {
  local n="$1" out="" p
  while [ "$(wc -w <<<"$out")" -lt "$n" ]; do
    p=$(free_port)
    case " $out " in *" $p "*) continue ;; esac
    out="$out${out:+ }$p"
  done
  printf '%s\n' "$out"
}

# wait_for TIMEOUT_SECONDS DESCRIPTION CMD [ARGS...] : run CMD every 0.5 s until it succeeds.
# Returns 1 (with a message) on timeout. Set WAIT_FOR_PID=pid to fail fast when that process dies.
wait_for() {
  local timeout="$1" desc="$2"; shift 2
  local deadline=$(( $(date +%s) + timeout ))
  while true; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [ -n "${WAIT_FOR_PID:-}" ] && ! proc_alive "$WAIT_FOR_PID"; then
      printf '[%s] %s: process %s exited\n' "${LOG_TAG:-testenv}" "$desc" "$WAIT_FOR_PID" >&2
      return 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      printf '[%s] timed out after %ss waiting for %s\n' "${LOG_TAG:-testenv}" "$timeout" "$desc" >&2
      return 1
    fi
    sleep 0.5
  done
}

# tcp_open PORT [HOST] : true when something accepts TCP connections there.
tcp_open() { (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null; }

# start_bg LOGFILE PIDFILE CMD [ARGS...] : start CMD in its own process group (setsid),
# stdout+stderr appended to LOGFILE, pid written to PIDFILE (pid == pgid). Prints the pid.
start_bg() {
  local logfile="$1" pidfile="$2"; shift 2
  mkdir -p "$(dirname "$logfile")" "$(dirname "$pidfile")"
  setsid "$@" </dev/null >>"$logfile" 2>&1 &
  local pid=$!
  printf '%s\n' "$pid" >"$pidfile"
  printf '%s\n' "$pid"
}

# proc_alive PID : true when PID runs and is not a zombie (an unreaped, killed process whose
# parent is gone still answers kill -0 when PID 1 does not reap).
proc_alive() {
  local pid="$1" stat
  kill -0 "$pid" 2>/dev/null || return 1
  [ -r "/proc/$pid/stat" ] || return 0
  read -r stat 2>/dev/null <"/proc/$pid/stat" || return 1
  stat="${stat##*) }"
  [ "${stat%% *}" != "Z" ]
}

# group_alive PGID : true when a live (non-zombie) process is in process group PGID.
group_alive() {
  local pgid="$1" f stat
  kill -0 -- "-$pgid" 2>/dev/null || return 1
  [ -d /proc/self ] || return 0
  for f in /proc/[0-9]*/stat; do
    read -r stat 2>/dev/null <"$f" || continue
    stat="${stat##*) }"          # fields after "(comm) ": state ppid pgrp ...
    # shellcheck disable=SC2086
    set -- $stat
    [ "${3:-}" = "$pgid" ] && [ "$1" != "Z" ] && return 0
  done
  return 1
}

# stop_pidfile PIDFILE [GRACE_SECONDS] [SIGNAL] : stop the process group whose leader's pid is in
# PIDFILE (SIGNAL, default TERM; then SIGKILL after GRACE seconds, default 10). Idempotent; removes
# PIDFILE. Processes must have been started with start_bg (own process group).
stop_pidfile() {
  local pidfile="$1" grace="${2:-10}" sig="${3:-TERM}" pid _
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile" 2>/dev/null)"
  if [ -n "$pid" ] && group_alive "$pid"; then
    kill "-$sig" -- "-$pid" 2>/dev/null || kill "-$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 1 $(( grace * 10 ))); do
      group_alive "$pid" || break
      sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do group_alive "$pid" || break; sleep 0.1; done
  fi
  rm -f "$pidfile"
}

# pid_alive PIDFILE : true when the pid in PIDFILE is running (not a zombie).
pid_alive() { [ -f "$1" ] && proc_alive "$(cat "$1" 2>/dev/null)"; }

# json_escape STRING : print STRING as a JSON string literal (with quotes).
json_escape() {
  local s="$1"
  s="${s//\\/\\\\}"; s="${s//\"/\\\"}"; s="${s//$'\n'/\\n}"; s="${s//$'\t'/\\t}"; s="${s//$'\r'/\\r}"
  printf '"%s"' "$s"
}

# tail_log FILE [N] : last N (default 40) lines of FILE, to stderr, framed.
tail_log() {
  local f="$1" n="${2:-40}"
  [ -f "$f" ] || { printf '(no log file %s)\n' "$f" >&2; return 0; }
  printf -- '----- last %s lines of %s -----\n' "$n" "$f" >&2
  tail -n "$n" "$f" >&2
  printf -- '-----\n' >&2
}

# run_logged DESCRIPTION LOGFILE CMD [ARGS...] : run CMD with stdout+stderr appended to LOGFILE,
# printing a progress line to stderr every ${HEARTBEAT_SECONDS:-20} s (elapsed time and the log's last
# line), so long cold steps (downloads, builds) show they are alive. On failure prints the log's tail
# and returns CMD's exit code.
run_logged() {
  local desc="$1" logfile="$2"; shift 2
  mkdir -p "$(dirname "$logfile")"
  local start; start=$(date +%s)
  log "$desc ... (log: $logfile)"
  "$@" >>"$logfile" 2>&1 &
  local pid=$! rc=0 last=0 now
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    now=$(date +%s)
    if [ $(( now - last )) -ge "${HEARTBEAT_SECONDS:-20}" ] && [ $(( now - start )) -ge 5 ]; then
      last=$now
      log "  $desc: $(( now - start ))s, $(wc -l <"$logfile" | tr -d ' ') log lines, last: $(tail -n 1 "$logfile" | cut -c1-120)"
    fi
  done
  wait "$pid" || rc=$?
  if [ "$rc" -ne 0 ]; then
    log "$desc FAILED (exit $rc) after $(( $(date +%s) - start ))s"
    tail_log "$logfile" 40
    return "$rc"
  fi
  log "$desc done in $(( $(date +%s) - start ))s"
}
