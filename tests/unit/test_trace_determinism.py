"""Same seed + same script = same trace hash, in any process and under any PYTHONHASHSEED."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from services.ports import ConsumerConfig, ProducerConfig, TopicPartition
from sim import World

REPO = Path(__file__).resolve().parents[2]


def scripted_run(seed: int, tampered: int | None = None) -> str:
    """A little of everything: keyed and keyless produce, a group of three, crash, stall, lost ack, txns,
    the log cleaner. ``tampered``: the index of one order whose value changes by one byte."""
    w = World(seed=seed, trace=True)
    w.create_topic("orders", 6)
    w.create_topic("audit", 2, {"cleanup.policy": "compact", "segment.ms": "100", "min.cleanable.dirty.ratio": "0.01"})
    producer = w.producer(ProducerConfig(client_id="shop", enable_idempotence=True))
    tx = w.producer(ProducerConfig(client_id="auditor", transactional_id="audit-tx"))
    made = [0]

    def produce() -> int:
        if made[0] >= 300:
            return 0
        for i in range(made[0], made[0] + 30):
            value = f"order-{i}".encode() if i != tampered else f"order-{i}!".encode()
            producer.produce("orders", value, key=f"customer-{i % 17}".encode() if i % 3 else None)
        made[0] += 30
        if made[0] == 120:
            w.faults.lose_next_ack("orders")
        producer.flush()
        return 30

    consumers = []
    for n in range(3):
        c = w.consumer(ConsumerConfig("billing", client_id=f"billing-{n}", session_timeout_ms=6_000,
                                      max_poll_interval_ms=8_000, assignor=("range", "roundrobin", "range")[0]))
        c.subscribe(["orders"])
        consumers.append(c)

        def consume(c=c, n=n) -> int:
            got = c.poll(25)
            if not got:
                return 0
            tx.begin_transaction()
            for r in got:
                tx.produce("audit", r.value, key=r.key or b"none")
            tx.send_offsets_to_transaction({TopicPartition(r.topic, r.partition): r.offset + 1 for r in got}, c)
            if got[0].offset % 5 == 0:
                tx.abort_transaction()
                c.seek(got[0].tp, got[0].offset)
            else:
                tx.commit_transaction()
            return len(got)

        w.spawn(f"billing-{n}", consume, period_ms=7 + n)
    w.spawn("shop", produce, period_ms=5)
    w.run_for(200)
    w.faults.crash(consumers[0])
    w.stop_actor("billing-0")
    w.faults.slow("billing-1", 9_000)
    w.run_for(12_000)
    w.faults.heal_all()
    w.run_until_idle(max_steps=200_000)
    w.run_for(2_000)  # the cleaner's runs on the audit topic
    return w.trace.sha256()


def _in_subprocess(seed: int, hashseed: str) -> str:
    code = f"from tests.unit.test_trace_determinism import scripted_run; print(scripted_run({seed}))"
    env = {**os.environ, "PYTHONHASHSEED": hashseed}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                         check=True, timeout=120)
    return out.stdout.strip()


def test_same_seed_gives_same_trace_hash_across_processes_and_hash_seeds() -> None:
    first = _in_subprocess(7, "1")
    second = _in_subprocess(7, "4242")
    assert len(first) == 64
    assert first == second == scripted_run(7)


def test_different_seed_gives_different_trace_hash() -> None:
    assert scripted_run(7) != scripted_run(8)


def test_changing_one_record_value_changes_the_trace_hash() -> None:
    assert scripted_run(7, tampered=40) != scripted_run(7)


def test_the_produce_event_carries_a_digest_of_record_content() -> None:
    def produce_line(value: bytes, headers=()) -> dict:
        w = World(seed=3)
        w.create_topic("t", 1)
        p = w.producer()
        p.produce("t", value, key=b"k", headers=headers)
        p.flush()
        [event] = w.trace.events("produce")
        return event

    same, other = produce_line(b"x"), produce_line(b"y")
    assert same["digest"] == produce_line(b"x")["digest"] != other["digest"]
    assert produce_line(b"x", (("h", b"1"),))["digest"] != produce_line(b"x", (("h", b"2"),))["digest"]


def test_trace_lines_are_canonical_json_with_virtual_time() -> None:
    w = World(seed=3)
    w.create_topic("t", 1)
    p = w.producer()
    p.produce("t", b"x")
    w.clock.sleep(15)
    p.flush()
    line = w.trace.lines()[-1]
    assert line.startswith('{"base":0,"bytes":') and '"ev":"produce"' in line and '"t":15' in line
    assert " " not in line
