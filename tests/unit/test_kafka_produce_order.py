"""The Kafka producer's flush metadata: delivery reports (per-partition order only) back in produce order."""

from __future__ import annotations

import confluent_kafka

from adapters.kafka_producer import in_produce_order


def _report(topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None) -> confluent_kafka.Message:
    return confluent_kafka.Message(topic=topic, partition=partition, offset=offset, key=key, value=value)


def test_reports_of_several_partitions_come_back_in_produce_order() -> None:
    sent = [("t", b"a", b"1", 0), ("t", b"b", b"2", 1), ("u", b"a", b"1", 0), ("t", b"a", b"3", 0),
            ("t", b"b", b"4", 1), ("t", None, b"5", 2)]
    offsets: dict[tuple[str, int], int] = {}
    reports = []
    for topic, key, value, partition in sent:
        offset = offsets[(topic, partition)] = offsets.get((topic, partition), -1) + 1
        reports.append(_report(topic, partition, offset, key, value))
    # librdkafka reports partition by partition (each in produce order), not in produce order overall.
    delivery = sorted(reports, key=lambda m: (m.topic() != "u", -m.partition()))
    ordered = in_produce_order(delivery, [s[0] for s in sent], [s[1] for s in sent], [s[2] for s in sent])
    assert [(m.topic(), m.partition(), m.offset()) for m in ordered] == [
        ("t", 0, 0), ("t", 1, 0), ("u", 0, 0), ("t", 0, 1), ("t", 1, 1), ("t", 2, 0)]


def test_records_alike_in_topic_key_and_value_keep_their_partition_order() -> None:
    reports = [_report("t", 1, 0, b"k", b"v"), _report("t", 0, 0, b"k", b"w"), _report("t", 1, 1, b"k", b"v")]
    ordered = in_produce_order(reports, ["t"] * 3, [b"k"] * 3, [b"w", b"v", b"v"])
    assert [(m.partition(), m.offset()) for m in ordered] == [(0, 0), (1, 0), (1, 1)]
