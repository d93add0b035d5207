"""Producers in the simulator: idempotence, transactions, fencing, LSO."""

from __future__ import annotations

import pytest

from services.ports import ConsumerConfig, ProduceFailed, ProducerConfig, TopicPartition
from sim import ProducerFenced, TransactionStateError, World


def world(partitions: int = 1, **config: str) -> World:
    w = World(seed=2)
    w.create_topic("t", partitions, dict(config))
    return w


def read_all(w: World, isolation: str = "read_committed", group: str = "reader") -> list:
    c = w.consumer(ConsumerConfig(group, isolation_level=isolation))
    c.subscribe(["t"])
    return c.poll(10_000)


def test_offsets_are_dense_and_the_high_watermark_follows() -> None:
    w = world(partitions=2)
    p = w.producer()
    for i in range(7):
        p.produce("t", b"x", partition=i % 2)
    metas = p.flush()
    assert [(m.partition, m.offset) for m in metas] == [(0, 0), (1, 0), (0, 1), (1, 1), (0, 2), (1, 2), (0, 3)]
    assert w.admin().end_offsets(["t"]) == {TopicPartition("t", 0): 4, TopicPartition("t", 1): 3}


def test_non_idempotent_producer_duplicates_on_lost_ack() -> None:
    w = world()
    p = w.producer()
    p.produce("t", b"once")
    w.faults.lose_next_ack("t")
    assert p.flush()[0].offset == 1
    assert [r.value for r in read_all(w)] == [b"once", b"once"]


def test_idempotent_producer_does_not_duplicate_on_lost_ack() -> None:
    w = world()
    p = w.producer(ProducerConfig(enable_idempotence=True))
    p.produce("t", b"first")
    p.flush()
    p.produce("t", b"once")
    w.faults.lose_next_ack()
    assert p.flush()[0].offset == 1
    assert [r.value for r in read_all(w)] == [b"first", b"once"]
    assert w.trace.events("produce_retry")[0]["deduplicated"] is True


def test_read_committed_skips_aborted_records() -> None:
    w = world()
    p = w.producer(ProducerConfig(transactional_id="tx"))
    p.begin_transaction()
    p.produce("t", b"aborted")
    p.flush()
    p.abort_transaction()
    p.begin_transaction()
    p.produce("t", b"committed")
    p.commit_transaction()
    assert [r.value for r in read_all(w)] == [b"committed"]
    assert [r.value for r in read_all(w, "read_uncommitted", "dirty")] == [b"aborted", b"committed"]
    # two data records and two markers: the markers take offsets 1 and 3
    assert w.cluster.log("t", 0).high_watermark == 4
    assert [r.offset for r in read_all(w, group="again")] == [2]


def test_read_committed_stops_at_the_last_stable_offset() -> None:
    w = world()
    plain = w.producer()
    plain.produce("t", b"before")
    plain.flush()
    tx = w.producer(ProducerConfig(transactional_id="tx"))
    tx.begin_transaction()
    tx.produce("t", b"open")
    tx.flush()
    plain.produce("t", b"after")
    plain.flush()
    assert [r.value for r in read_all(w)] == [b"before"]
    assert w.admin().end_offsets(["t"]) == {TopicPartition("t", 0): 1}
    tx.commit_transaction()
    assert [r.value for r in read_all(w, group="later")] == [b"before", b"open", b"after"]


def test_lag_is_measured_against_the_lso_with_a_trailing_marker() -> None:
    w = world()
    tx = w.producer(ProducerConfig(transactional_id="tx"))
    tx.begin_transaction()
    tx.produce("t", b"a")
    tx.commit_transaction()
    c = w.consumer(ConsumerConfig("g"))
    c.subscribe(["t"])
    assert len(c.poll()) == 1
    c.commit({TopicPartition("t", 0): 1})  # last offset + 1, as applications do
    [lag] = w.admin().lag("g")
    assert (lag.committed, lag.end, lag.lag) == (1, 2, 1)


def test_send_offsets_to_transaction_commits_group_offsets_atomically() -> None:
    w = world()
    w.create_topic("out", 1)
    seed = w.producer()
    for i in range(3):
        seed.produce("t", str(i).encode())
    seed.flush()
    c = w.consumer(ConsumerConfig("eos"))
    c.subscribe(["t"])
    records = c.poll()
    tx = w.producer(ProducerConfig(transactional_id="eos-tx"))
    tx.begin_transaction()
    tx.produce("out", b"result")
    tx.send_offsets_to_transaction({TopicPartition("t", 0): 3}, c)
    assert w.admin().committed_offsets("eos") == {}
    tx.abort_transaction()
    assert w.admin().committed_offsets("eos") == {}
    tx.begin_transaction()
    tx.produce("out", b"result")
    tx.send_offsets_to_transaction({TopicPartition("t", 0): records[-1].offset + 1}, c)
    tx.commit_transaction()
    assert w.admin().committed_offsets("eos") == {TopicPartition("t", 0): 3}


def test_new_producer_with_same_transactional_id_fences_the_old_one() -> None:
    w = world()
    old = w.producer(ProducerConfig(transactional_id="tx"))
    old.begin_transaction()
    old.produce("t", b"zombie")
    old.flush()
    new = w.producer(ProducerConfig(transactional_id="tx"))  # aborts what the old one left open
    with pytest.raises(ProducerFenced):
        old.commit_transaction()
    new.begin_transaction()
    new.produce("t", b"fresh")
    new.commit_transaction()
    assert [r.value for r in read_all(w)] == [b"fresh"]


def test_open_transaction_is_aborted_after_the_transaction_timeout() -> None:
    w = world()
    tx = w.producer(ProducerConfig(transactional_id="tx"))
    tx.begin_transaction()
    tx.produce("t", b"stuck")
    tx.flush()
    w.faults.crash(tx)
    assert w.cluster.log("t", 0).last_stable_offset() == 0
    w.run_until_idle()
    assert w.clock.now_ms() == 60_000
    assert w.cluster.log("t", 0).last_stable_offset() == 2
    assert read_all(w) == []


def test_transactional_produce_outside_a_transaction_is_refused() -> None:
    w = world()
    tx = w.producer(ProducerConfig(transactional_id="tx"))
    with pytest.raises(TransactionStateError):
        tx.produce("t", b"x")


def test_compacted_topic_rejects_keyless_records() -> None:
    w = world(**{"cleanup.policy": "compact"})
    p = w.producer()
    p.produce("t", b"no key")
    with pytest.raises(ProduceFailed):
        p.flush()


def test_failed_flush_drops_the_undelivered_records_so_a_retry_does_not_duplicate() -> None:
    from services.ports import BrokerUnavailable

    w = world()
    p = w.producer()
    p.produce("t", b"x")
    w.faults.broker_down(1_000)
    with pytest.raises(BrokerUnavailable):
        p.flush()
    w.run_for(1_000)
    assert p.flush() == []  # the caller still owns the record and produces it again
    p.produce("t", b"x")
    assert [m.offset for m in p.flush()] == [0]
    assert w.cluster.log("t", 0).high_watermark == 1


def test_producing_to_a_missing_topic_auto_creates_it_with_one_partition() -> None:
    w = World(seed=2)
    p = w.producer()
    p.produce("fresh", b"x", key=b"k")
    assert [(m.partition, m.offset) for m in p.flush()] == [(0, 0)]
    assert w.admin().list_topics() == {"fresh": 1}


def test_auto_create_can_be_switched_off() -> None:
    from services.ports import UnknownTopic

    w = World(seed=2)
    w.cluster.auto_create_topics = False
    with pytest.raises(UnknownTopic):
        w.producer().produce("fresh", b"x")
