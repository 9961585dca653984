#!/bin/sh
# The container's entrypoint: sizes V8's old generation from the container's memory limit, then
# execs kubevents (no process stays in between: node is PID 1's replacement, signals reach it).
#
# Node 20 sizes its heap limit to about the whole cgroup limit (measured: 259 MB of heap limit in a
# 256 MiB cgroup), so garbage may pile up until the kernel kills the container. This sets
# --max-old-space-size to KUBEVENTS_HEAP_PERCENT (default 60) percent of the limit (at least 64 MiB),
# read from cgroup v2 (memory.max) or v1 (memory.limit_in_bytes), unless NODE_OPTIONS or the
# arguments already carry --max-old-space-size, or there is no limit.
#
# With that heap size it also sets --max-semi-space-size to 1/64 of it in MiB (at least 1, at most
# 16; unless NODE_OPTIONS or the arguments carry one; KUBEVENTS_SEMI_SPACE_MB instead, 0: none):
# Node 20 committed a 32 MiB new space (2 x 16 MiB semi-spaces) with --max-old-space-size=153 as
# without it. And it sets MALLOC_ARENA_MAX=2 unless set (glibc's per-thread malloc arenas). At a
# steady 500 Events/s for 120 s (bench/steady.ts, 2026-12-05, Node 20, --max-old-space-size=153)
# the peak RSS was 200.5 MB without either, 181.9 MB with --max-semi-space-size=2, 175.4 MB with
# both, at the same CPU per Event (0.47, 0.46, 0.45 CPU-s per 1,000).
#
#   KUBEVENTS_CGROUP_ROOT   where the cgroup files are (default /sys/fs/cgroup; tests point it elsewhere)
#   KUBEVENTS_NODE          the node binary (default node)
#   KUBEVENTS_MAIN          the CLI (default: dist/src/cli/main.js beside this script's parent)
#   KUBEVENTS_HEAP_PERCENT  share of the limit for --max-old-space-size (default 60)
#   KUBEVENTS_SEMI_SPACE_MB --max-semi-space-size in MiB instead of heap/64 (0: leave V8's default)
set -eu

root="${KUBEVENTS_CGROUP_ROOT:-/sys/fs/cgroup}"
percent="${KUBEVENTS_HEAP_PERCENT:-60}"
here="$(cd "$(dirname "$0")" && pwd)"
main="${KUBEVENTS_MAIN:-$here/../dist/src/cli/main.js}"
node="${KUBEVENTS_NODE:-node}"

limit=""
if [ -r "$root/memory.max" ]; then
  limit="$(cat "$root/memory.max")"                     # cgroup v2: bytes or "max"
elif [ -r "$root/memory/memory.limit_in_bytes" ]; then
  limit="$(cat "$root/memory/memory.limit_in_bytes")"   # cgroup v1: a huge number when unlimited
elif [ -r "$root/memory.limit_in_bytes" ]; then
  limit="$(cat "$root/memory.limit_in_bytes")"
fi

explicit=no
case " ${NODE_OPTIONS:-} $* " in *--max-old-space-size*) explicit=yes ;; esac
explicit_semi=no
case " ${NODE_OPTIONS:-} $* " in *--max-semi-space-size*) explicit_semi=yes ;; esac

heap=""
if [ "$explicit" = no ] && [ -n "$limit" ] && [ "$limit" != max ]; then
  # MiB; a limit of 1 TiB or more means none (cgroup v1 reports 2^63 rounded to pages)
  mib=$((limit / 1048576))
  if [ "$mib" -lt 1048576 ]; then
    heap=$((mib * percent / 100))
    [ "$heap" -lt 64 ] && heap=64
  fi
fi

export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"

if [ -n "$heap" ]; then
  semi="${KUBEVENTS_SEMI_SPACE_MB:-$((heap / 64))}"
  if [ "$explicit_semi" = no ] && [ "$semi" != 0 ]; then
    [ "$semi" -lt 1 ] && semi=1
    [ "$semi" -gt 16 ] && semi=16
    exec "$node" "--max-old-space-size=$heap" "--max-semi-space-size=$semi" "$main" "$@"
  fi
  exec "$node" "--max-old-space-size=$heap" "$main" "$@"
fi
exec "$node" "$main" "$@"
