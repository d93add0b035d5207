"""Operator tools on a real broker and Apicurio: ``dlq show`` decodes Avro dead letters through the
registry (and notes an id it does not know), a kept run's groups go with its topics, and
``kafka clean`` removes a dead run's names while a run whose group has members is left alone."""

from __future__ import annotations

import contextlib
import json
import time
import uuid

import pytest

from tests.registry_support import registry_url  # noqa: F401  (a fixture)
from tests.unit.test_lab_helpers import lab_json

pytestmark = pytest.mark.kafka


@pytest.fixture
def lab_dir(registry_lab_dir):  # this file's labs read and write schemas
    return registry_lab_dir


def _json(capsys, *argv: str) -> dict:
    from scenarios.cli import main

    capsys.readouterr()
    assert main(list(argv)) == 0, argv
    return json.loads(capsys.readouterr().out)


def test_dlq_show_decodes_avro_through_apicurio_and_the_kept_run_leaves_no_group(lab_dir, capsys, kafka_bootstrap):
    from scenarios import root
    from scenarios.settings import Settings
    from scenarios.worlds.kafka import delete_run

    code, _started = lab_json(capsys, "lab", "start", "schema-evolution", "--mode", "kafka")
    prefix = json.loads((lab_dir / "lab.json").read_text())["labs"]["schema-evolution"]["prefixes"][0]
    admin = root.kafka_broker(kafka_bootstrap).admin()
    try:
        assert code == 0
        rows = _json(capsys, "dlq", "list", "orders.dlq", "--json")["dead_letters"]
        shown = [_json(capsys, "dlq", "show", "orders.dlq",
                       *r["dlq"].removeprefix("orders.dlq[").replace("]@", " ").split(), "--json") for r in rows]
        read = [d for d in shown if "value_note" not in d]
        assert read and all(d["value"]["customer"].startswith("cust_v2") for d in read), shown
        unknown = [d for d in shown if "value_note" in d]
        assert len(unknown) == 1 and "has no schema id 2000000001" in unknown[0]["value_note"], unknown
        assert [g for g in admin.list_groups() if g.startswith(prefix)]  # kept for a look, with the topics
    finally:
        delete_run(Settings.resolve({"bootstrap": kafka_bootstrap}), prefix)
    assert [g for g in admin.list_groups() if g.startswith(prefix)] == []


def test_kafka_clean_removes_a_dead_runs_names_and_leaves_a_run_with_members(lab_dir, capsys, kafka_bootstrap):
    from scenarios import root
    from services.ports import BrokerError, ConsumerConfig, TopicPartition, TopicSpec

    dead, alive = (f"kl-{uuid.uuid4().hex[:10]}-" for _ in range(2))
    broker = root.kafka_broker(kafka_bootstrap)
    admin = broker.admin()
    admin.create_topics([TopicSpec(p + "orders") for p in (dead, alive)])
    producer = broker.producer()
    for p in (dead, alive):
        producer.produce(p + "orders", b"{}", key=b"k")
    producer.flush()
    producer.close()
    admin.alter_group_offsets(dead + "order-service", {TopicPartition(dead + "orders", 0): 1})  # committed, left
    member = broker.consumer(ConsumerConfig(group_id=alive + "order-service"))
    try:
        member.subscribe([alive + "orders"])
        deadline = time.monotonic() + 30
        while not member.assignment() and time.monotonic() < deadline:
            member.poll(10, timeout=0.2)
        assert member.assignment(), "the live run's consumer never joined its group"
        report = _json(capsys, "kafka", "clean", "--run", dead, "--run", alive, "--grace", "0", "--json")
        by_prefix = {r["prefix"]: r for r in report["runs"]}
        assert by_prefix[dead]["alive"] == "" and "is Stable" in by_prefix[alive]["alive"], report
        assert sorted(report["deleted"]) == [f"group {dead}order-service", f"topic {dead}orders"]
        deadline = time.monotonic() + 30
        while dead + "orders" in admin.list_topics() and time.monotonic() < deadline:
            time.sleep(0.2)  # polling: topic deletion reaches metadata a moment later
        topics, groups = admin.list_topics(), admin.list_groups()
        assert dead + "orders" not in topics and dead + "order-service" not in groups
        assert alive + "orders" in topics and alive + "order-service" in groups
    finally:
        member.close()
        admin.delete_topics([t for t in admin.list_topics() if t.startswith((dead, alive))])
        for g in admin.list_groups():
            if g.startswith((dead, alive)):
                with contextlib.suppress(BrokerError):  # tidying up only
                    admin.delete_group(g)


def test_topics_configs_of_an_unknown_topic_names_it_in_one_line(kafka_bootstrap, capsys):
    from scenarios.cli import main

    missing = f"polish-missing-{uuid.uuid4().hex[:6]}"
    capsys.readouterr()
    assert main(["topics", "configs", missing, "--bootstrap", kafka_bootstrap]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and f"no topic '{missing}' on {kafka_bootstrap}" in err, err
    assert "kafka-topics --list" in err
