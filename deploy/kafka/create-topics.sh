#!/usr/bin/env bash
# Create Bancheng's topics explicitly, before any service touches the broker (the relays would create
# missing ones themselves, but production wants the partition counts and retention decided here).
# Runs in the apache/kafka image as the one-shot `kafka-topics` service of docker-compose.yml.
# The list must equal bancheng_shared.topics.all_broker_topics() (tests/test_deploy_static.py checks it).
set -euo pipefail

BOOTSTRAP="${KAFKA_BOOTSTRAP:-kafka:9092}"
PARTITIONS="${TOPIC_PARTITIONS:-12}"          # = the services' <SERVICE>_TOPIC_PARTITIONS
REPLICATION="${TOPIC_REPLICATION_FACTOR:-1}"  # 1 on a single broker; 3 on a 3-broker cluster
DLQ_RETENTION_MS="${DLQ_RETENTION_MS:-2592000000}"  # 30 days to look at and replay poisoned events
KAFKA_TOPICS=/opt/kafka/bin/kafka-topics.sh

create() {
  local topic="$1"; shift
  "$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists --topic "$topic" \
    --partitions "$PARTITIONS" --replication-factor "$REPLICATION" "$@"
}

# Event topics, keyed by ticket id (per-ticket order needs a fixed partition count: never change it
# on a running system).
create intake.tickets
create triage.work-orders
create sla.clocks
create oversight.cases

# Dead-letter topics: a poisoned event with its error, kept longer.
create intake.tickets.dlq --config "retention.ms=$DLQ_RETENTION_MS"
create triage.work-orders.dlq --config "retention.ms=$DLQ_RETENTION_MS"
create sla.clocks.dlq --config "retention.ms=$DLQ_RETENTION_MS"
create oversight.cases.dlq --config "retention.ms=$DLQ_RETENTION_MS"

# The broker epoch marker: its first record tells the relays whether the broker came back empty.
# It must never expire, or every relay would take the broker for a new one and republish its outbox.
create bancheng.broker-epoch --config retention.ms=-1 --config retention.bytes=-1

"$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP" --describe --topic 'intake\..*|triage\..*|sla\..*|oversight\..*|bancheng\..*' \
  | grep -E '^Topic:' || true
echo "bancheng: topics ready on $BOOTSTRAP"
