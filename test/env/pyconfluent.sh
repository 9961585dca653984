#!/usr/bin/env bash
# Confluent's Python client (confluent-kafka[avro], PyPI) in a cached virtualenv: a producer that is
# not kubevents, framing records in the Confluent wire format with Confluent's own AvroSerializer
# and registering its schema through the Schema Registry's REST API.
#   pyconfluent.sh provision
#       -> prints the venv's python path
#   pyconfluent.sh produce BROKERS REGISTRY_URL TOPIC SCHEMA.avsc < records.jsonl
#       -> produces one record per JSON line (keys = the "key" member of an envelope
#          {"key": ..., "value": {...}}), waits for every delivery report, prints one JSON line per
#          record: {"partition":..,"offset":..,"schemaId":..}; exits 1 if any was not delivered.
set -euo pipefail
LOG_TAG=pyconfluent
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

venv="$(cache_dir "pyconfluent/${PYTHON_CONFLUENT_KAFKA_VERSION}")"

provision() {
  require_cmd python3 "install Python 3 (Debian: apt-get install python3 python3-venv)"
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import confluent_kafka, fastavro" 2>/dev/null; then
    exec 9>"$venv.lock"
    if command -v flock >/dev/null 2>&1; then flock 9; fi
    if ! "$venv/bin/python" -c "import confluent_kafka, fastavro" 2>/dev/null; then
      log "creating venv with confluent-kafka[avro]==${PYTHON_CONFLUENT_KAFKA_VERSION} in $venv"
      rm -rf "$venv"
      python3 -m venv "$venv" || die "python3 -m venv failed: install python3-venv (Debian: apt-get install python3-venv)"
      "$venv/bin/pip" install --quiet --disable-pip-version-check --timeout 60 "confluent-kafka[avro]==${PYTHON_CONFLUENT_KAFKA_VERSION}" \
        || die "pip install confluent-kafka[avro]==${PYTHON_CONFLUENT_KAFKA_VERSION} failed"
    fi
  fi
  printf '%s\n' "$venv/bin/python"
}

case "${1:-}" in
  provision) provision ;;
  produce)
    [ $# -eq 5 ] || die "usage: pyconfluent.sh produce BROKERS REGISTRY_URL TOPIC SCHEMA.avsc < records.jsonl"
    python="$(provision)"
    # the program as an argument: standard input carries the records
    program="$(cat <<'PY'
import json, sys
from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

brokers, registry_url, topic, schema_file = sys.argv[1:5]
with open(schema_file) as f:
    schema_str = f.read()
registry = SchemaRegistryClient({"url": registry_url, "timeout": 10})
# defaults of Confluent's serializer: auto-register under the TopicNameStrategy subject <topic>-value
serialize = AvroSerializer(registry, schema_str)
producer = Producer({"bootstrap.servers": brokers, "acks": "all", "message.timeout.ms": 30000, "socket.timeout.ms": 10000})
results = []
def report(i, schema_id):
    def on_delivery(err, msg):
        results.append((i, err, msg, schema_id))
    return on_delivery
for i, line in enumerate(l for l in sys.stdin if l.strip()):
    envelope = json.loads(line)
    value = serialize(envelope["value"], SerializationContext(topic, MessageField.VALUE))
    key = envelope.get("key")
    producer.produce(topic, value=value, key=None if key is None else key.encode(), on_delivery=report(i, int.from_bytes(value[1:5], "big")))
left = producer.flush(30)
failed = [r for r in results if r[1] is not None]
if left or failed:
    sys.stderr.write("pyconfluent: %d record(s) not delivered within 30 s, %d failed: %s\n" % (left, len(failed), [str(r[1]) for r in failed]))
    sys.exit(1)
for i, err, msg, schema_id in sorted(results, key=lambda r: r[0]):
    print(json.dumps({"partition": msg.partition(), "offset": msg.offset(), "schemaId": schema_id}))
PY
)"
    "$python" -c "$program" "$2" "$3" "$4" "$5"
    ;;
  *) die "usage: pyconfluent.sh provision | produce BROKERS REGISTRY_URL TOPIC SCHEMA.avsc < records.jsonl" ;;
esac
