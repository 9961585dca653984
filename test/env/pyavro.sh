#!/usr/bin/env bash
# Provides Apache Avro's Python library (an Avro implementation independent of avsc) in a cached
# virtualenv, for interop tests that decode what kubevents writes.
#   pyavro.sh provision      -> prints the venv's python path
#   pyavro.sh decode SCHEMA FILE -> prints the container file's records as JSON Lines
set -euo pipefail
LOG_TAG=pyavro
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

venv="$(cache_dir "pyavro/${PYTHON_AVRO_VERSION}")"

provision() {
  require_cmd python3 "install Python 3 (Debian: apt-get install python3 python3-venv)"
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import avro" 2>/dev/null; then
    log "creating venv with avro==${PYTHON_AVRO_VERSION} in $venv"
    python3 -m venv "$venv" || die "python3 -m venv failed: install python3-venv (Debian: apt-get install python3-venv)"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "avro==${PYTHON_AVRO_VERSION}" \
      || die "pip install avro==${PYTHON_AVRO_VERSION} failed"
  fi
  printf '%s\n' "$venv/bin/python"
}

case "${1:-}" in
  provision) provision ;;
  decode)
    [ $# -eq 3 ] || die "usage: pyavro.sh decode SCHEMA.avsc FILE.avro"
    python="$(provision)"
    "$python" - "$2" "$3" <<'PY'
import json, sys
import avro.schema
from avro.datafile import DataFileReader
from avro.io import DatumReader

with open(sys.argv[1]) as f:
    reader_schema = avro.schema.parse(f.read())
def plain(v):
    # timestamp-millis decodes to datetime; print epoch millis like the writer had
    import datetime
    if isinstance(v, datetime.datetime):
        return int(v.timestamp() * 1000)
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v
with open(sys.argv[2], "rb") as f:
    reader = DataFileReader(f, DatumReader(readers_schema=reader_schema))
    print(json.dumps({"codec": reader.get_meta("avro.codec").decode()}))
    for record in reader:
        print(json.dumps(plain(record)))
PY
    ;;
  *) die "usage: pyavro.sh provision | decode SCHEMA.avsc FILE.avro" ;;
esac
