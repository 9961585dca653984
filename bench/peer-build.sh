#!/usr/bin/env bash
# Builds kubernetes-event-exporter (KEE), the peer of `npm run bench -- --only peer`, into the cache:
#   ${KUBEVENTS_BENCH_CACHE:-~/.cache/kubevents/bench}/kee/<tag>/kubernetes-event-exporter
#
# Usage: bench/peer-build.sh [SOURCE_DIR]
#   SOURCE_DIR   a checkout of github.com/resmoio/kubernetes-event-exporter (default: the tag below
#                exported from the repository snapshot KEE_MIRROR, a git directory without work tree)
# Env: KEE_TAG (v1.7), KEE_MIRROR (/work/.mirror/resmoio+kubernetes-event-exporter/repo),
#      GOPROXY/GOFLAGS as usual (the dependencies come from the module proxy; KEE's own module is not
#      served there, which is why it is built from source rather than `go install`ed).
# Needs: go (KEE v1.7's go.mod asks for 1.19 or later), git (without SOURCE_DIR), tar.
set -euo pipefail

tag="${KEE_TAG:-v1.7}"
mirror="${KEE_MIRROR:-/work/.mirror/resmoio+kubernetes-event-exporter/repo}"
cache="${KUBEVENTS_BENCH_CACHE:-$HOME/.cache/kubevents/bench}/kee/$tag"
out="$cache/kubernetes-event-exporter"

command -v go >/dev/null || { echo "peer-build: go is not on PATH" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/kee-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

if [[ $# -ge 1 ]]; then
  src="$(cd "$1" && pwd)"
  origin="$src"
else
  [[ -d "$mirror" ]] || { echo "peer-build: no repository snapshot at $mirror (set KEE_MIRROR or pass a source dir)" >&2; exit 1; }
  src="$work/src"
  origin="$mirror at $tag ($(git --git-dir="$mirror" rev-parse "$tag^{commit}"))"
  mkdir -p "$src"
  git --git-dir="$mirror" archive --format=tar "$tag" | tar -x -C "$src"
fi
[[ -f "$src/go.mod" ]] || { echo "peer-build: $src has no go.mod" >&2; exit 1; }

mkdir -p "$cache"
echo "peer-build: building KEE $tag from $src with $(go version)" >&2
# -trimpath: the binary does not carry this machine's temporary paths; CGO off: a static binary, as
# the project's own image builds it.
(cd "$src" && CGO_ENABLED=0 go build -trimpath -o "$out.tmp" .)
mv "$out.tmp" "$out"
printf '%s\n' "tag=$tag" "source=$origin" "go=$(go version)" "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$cache/BUILD-INFO"
echo "$out"
