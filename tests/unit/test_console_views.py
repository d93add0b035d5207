"""The console's views and reading ops without a browser: over the simulator's broker port."""

from __future__ import annotations

import pytest

from scenarios import root
from scenarios.cli import main
from scenarios.console import views
from scenarios.console.serve import loopback
from scenarios.ops.browse import TopicTail, decode_value
from scenarios.validation import ConfigError
from services.ports import Record, TopicSpec


def _record(topic, offset, event, cid="o1", ts=0, eid=None, cause=None, extra=()) -> Record:
    headers = (("correlation-id", cid.encode()), ("event-type", event.encode()),
               ("event-id", (eid or f"{event}-{offset}").encode()), ("causation-id", (cause or "o1").encode()), *extra)
    return Record(topic, 0, offset, cid.encode(), b'{"eventType": "%s"}' % event.encode(), headers, ts)


def test_saga_steps_of_one_millisecond_follow_their_causes_and_name_dlq_and_compensation() -> None:
    created = _record("orders", 0, "OrderCreated", eid="e1")
    charged = _record("payments", 0, "PaymentCompleted", eid="e2", cause="e1")
    failed = _record("inventory", 0, "InventoryFailed", eid="e3", cause="e2")
    refunded = _record("payments", 1, "PaymentRefunded", eid="e4", cause="e3")
    parked = _record("payments.dlq", 0, "PaymentCompleted", eid="e2", cause="e1", extra=(
        ("dlq-source-topic", b"kl-x-payments"), ("dlq-source-partition", b"0"), ("dlq-source-offset", b"0"),
        ("dlq-consumer-group", b"kl-x-inventory-service"), ("dlq-error", b"boom"), ("dlq-attempts", b"3")))
    saga = views.saga_view([refunded, failed, parked, charged, created], "o1",
                           {"payments": [("inventory-service", {0: 1})]}, prefix="kl-x-")  # a kafka run's names
    assert [(s["event"], s["kind"]) for s in saga["steps"]] == [
        ("OrderCreated", "event"), ("PaymentCompleted", "event"), ("PaymentCompleted", "dlq"),
        ("InventoryFailed", "event"), ("PaymentRefunded", "compensation")]
    assert saga["status"] == "CANCELLED"
    assert saga["steps"][2]["error"] == "boom" and saga["steps"][2]["producer"] == "inventory-service"
    assert saga["steps"][2]["source"] == "payments[0]@0"
    assert [(d["group"], d["source"]) for d in views.dlq_view([parked], prefix="kl-x-")] == [
        ("inventory-service", "payments[0]@0")]
    assert saga["steps"][1]["consumedBy"] == ["inventory-service"]
    assert saga["steps"][4]["pendingFor"] == ["inventory-service"]  # committed 1: offset 1 not yet
    with pytest.raises(views.ViewError, match="no record carries correlation-id 'nope'"):
        views.saga_view([created], "nope")
    with pytest.raises(views.ViewError, match="no topic 'nope'"):
        views.messages_view([created], ["orders"], topic="nope")
    assert views.messages_view([created, charged], ["orders", "payments"], header="event-id", value="e2")["total"] == 1


def test_topic_tail_reads_incrementally_and_picks_up_new_topics() -> None:
    world = root.sim_world(1, trace=False)
    broker = root.sim_broker(world)
    admin = broker.admin()
    admin.create_topics([TopicSpec("a", 2)])
    producer = broker.producer()
    for i in range(5):
        producer.produce("a", b"%d" % i, key=b"k%d" % i)
    producer.flush()
    tail = TopicTail(broker, "console-test")
    tail.refresh(lambda: True)
    assert len(tail.all_records()) == 5
    admin.create_topics([TopicSpec("a.dlq", 1)])
    producer.produce("a", b"5", key=b"k5")
    producer.produce("a.dlq", b"x")
    producer.flush()
    tail.refresh(lambda: True)
    assert sorted(r.value for r in tail.all_records()) == [b"0", b"1", b"2", b"3", b"4", b"5", b"x"]
    assert {(o.topic, o.end) for o in tail.offsets.values() if o.topic == "a.dlq"} == {("a.dlq", 1)}
    tail.close()


def test_values_are_decoded_by_their_format() -> None:
    assert decode_value(b'{"a": 1}') == ("json", {"a": 1})
    assert decode_value(b"\x00\x00\x00\x00\x07abc")[1]["schemaId"] == 7
    assert decode_value(b"\xff garbage") == ("text", "\ufffd garbage")
    assert decode_value(None) == ("null", None)


def test_console_serves_loopback_only_and_bad_options_are_one_line(capsys) -> None:
    assert loopback("127.0.0.1") and loopback("::1") and loopback("localhost")
    with pytest.raises(ConfigError, match="loopback only"):
        loopback("0.0.0.0")
    assert main(["console", "--host", "0.0.0.0"]) == 2
    assert main(["console", "--prefix", "kl-x-"]) == 2
    assert main(["console", "--lab", "no-such-lab"]) == 2
    assert main(["report", "no-such-run.jsonl"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and all(line.startswith("kafkalab: ") for line in err), err
    assert "loopback only" in err[0] and "--attach" in err[1] and "no such lab" in err[2]
    assert "no such recording" in err[3]


def test_the_console_shows_avro_values_as_records_through_the_worlds_registry(tmp_path) -> None:
    import time

    from scenarios.console.serve import ConsoleStack
    from scenarios.engine.spec import WorldSpec
    from scenarios.settings import Settings
    from tests.console_flow import SEED_ORDERS, call

    stack = ConsoleStack("sim", Settings.resolve({"lab_dir": str(tmp_path)}), spec=WorldSpec(codec="avro"), seed=1)
    try:
        status, answer = call(f"{stack.url}/orders", "POST", SEED_ORDERS["normal"])
        assert status == 201, answer
        deadline, found = time.monotonic() + 20, []
        while not found and time.monotonic() < deadline:  # the simulated shop runs on the console's driver
            found = call(f"{stack.url}/console/api/messages?topic=orders")[1]["messages"]
            time.sleep(0.05)
    finally:
        stack.close()
    assert found and all(m["format"] == "avro" for m in found), found
    assert any(m["value"]["value"].get("orderId") == answer["orderId"] for m in found), found
