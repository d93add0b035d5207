"""The simulated broker's log cleaner and retention check: Kafka's rules on virtual time."""

from __future__ import annotations

from services.ports import ConsumerConfig, OffsetOutOfRange, ProducerConfig, TopicPartition
from sim import World

COMPACT = {"cleanup.policy": "compact", "segment.ms": "100", "min.cleanable.dirty.ratio": "0.01",
           "delete.retention.ms": "100"}


def world(config: dict[str, str], partitions: int = 1) -> World:
    w = World(seed=3)
    w.create_topic("t", partitions, config)
    return w


def produce(w: World, records, **config) -> None:
    p = w.producer(ProducerConfig(**config))
    for key, value in records:
        p.produce("t", value, key=key)
    p.flush()


def log_of(w: World) -> list[tuple[int, bytes | None, bytes | None]]:
    return [(r.offset, r.key, r.value) for r in w.cluster.log("t", 0).records]


def test_segments_roll_by_record_time_and_by_size() -> None:
    w = world({"segment.ms": "100", "segment.bytes": "1048576"})
    produce(w, [(b"a", b"x")])
    w.clock.sleep(50)
    produce(w, [(b"a", b"x")])
    assert len(w.cluster.log("t", 0).segments) == 1
    w.clock.sleep(60)  # 110 ms after the segment's first record
    produce(w, [(b"a", b"x")])
    assert [s.base for s in w.cluster.log("t", 0).segments] == [0, 2]
    # a flush of 1.2 MB goes as two batches (librdkafka's 1 MB limit); each would overflow segment.bytes
    produce(w, [(b"b", b"y" * 600_000), (b"c", b"y" * 600_000)])
    produce(w, [(b"d", b"y" * 600_000)])
    assert [s.base for s in w.cluster.log("t", 0).segments] == [0, 2, 4, 5]


def test_the_cleaner_keeps_the_latest_value_per_key_and_never_the_active_segment() -> None:
    w = world(COMPACT)
    produce(w, [(b"a", b"1"), (b"b", b"1"), (b"a", b"2"), (b"c", b"1")])
    w.run_for(5_000)
    assert len(log_of(w)) == 4, "the only segment is the active one: nothing to clean"
    w.clock.sleep(200)
    produce(w, [(b"a", b"3")])  # rolls: offsets 0-3 become cleanable
    w.run_for(1_000)
    assert log_of(w) == [(1, b"b", b"1"), (2, b"a", b"2"), (3, b"c", b"1"), (4, b"a", b"3")]
    assert w.admin().beginning_offsets(["t"]) == {TopicPartition("t", 0): 0}  # compaction never moves it
    [cleaned] = w.trace.events("log_cleaned")
    assert (cleaned["removed"], cleaned["cleaned_to"]) == (1, 4)


def test_a_tombstone_survives_one_cleaning_and_goes_at_a_later_one_after_delete_retention() -> None:
    w = world(COMPACT)
    produce(w, [(b"a", b"1"), (b"a", None)])
    w.clock.sleep(200)
    produce(w, [(b"b", b"1")])
    w.run_for(1_000)
    assert log_of(w) == [(1, b"a", None), (2, b"b", b"1")], "first cleaning stamps the tombstone"
    w.run_for(10_000)
    assert (1, b"a", None) in log_of(w), "no new dirty segment: no cleaning, the tombstone stays"
    w.clock.sleep(200)
    produce(w, [(b"c", b"1")])
    w.run_for(1_000)
    assert log_of(w) == [(2, b"b", b"1"), (3, b"c", b"1")]
    assert w.trace.events("log_cleaned")[-1]["tombstones_removed"] == 1


def test_min_compaction_lag_holds_young_segments_back() -> None:
    w = world({**COMPACT, "min.compaction.lag.ms": "5000"})
    produce(w, [(b"a", b"1"), (b"a", b"2")])
    w.clock.sleep(200)
    produce(w, [(b"b", b"1")])
    w.run_for(2_000)
    assert len(log_of(w)) == 3
    w.run_for(5_000)  # the cleaner wakes itself when the lag has passed
    assert log_of(w) == [(1, b"a", b"2"), (2, b"b", b"1")]


def test_below_the_dirty_ratio_nothing_is_cleaned_until_max_compaction_lag() -> None:
    w = world({**COMPACT, "min.cleanable.dirty.ratio": "0.9", "max.compaction.lag.ms": "10000"})
    produce(w, [(b"a", b"1"), (b"a", b"2")])
    w.clock.sleep(200)
    produce(w, [(b"b", b"1"), (b"b", b"2")])
    w.run_for(1_000)
    assert [o for o, _, _ in log_of(w)] == [1, 2, 3], "the first cleaning ran (nothing was clean yet)"
    w.clock.sleep(200)
    produce(w, [(b"c", b"1")])  # rolls: b's segment is dirty, but only about half the log
    w.run_for(3_000)
    assert [o for o, _, _ in log_of(w)] == [1, 2, 3, 4]
    w.run_for(10_000)  # b's records waited longer than max.compaction.lag.ms: cleaned anyway
    assert [o for o, _, _ in log_of(w)] == [1, 3, 4]
    assert len(w.trace.events("log_cleaned")) == 2


def test_keyless_records_left_from_a_delete_topic_are_dropped_when_it_becomes_compacted() -> None:
    w = world({"segment.ms": "100"})
    produce(w, [(None, b"keyless"), (b"a", b"1")])
    w.cluster.alter_topic_config("t", {"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.01"}, [])
    w.clock.sleep(200)
    produce(w, [(b"b", b"1")])
    w.run_for(1_000)
    assert log_of(w) == [(1, b"a", b"1"), (2, b"b", b"1")]


def test_retention_deletes_expired_segments_rolling_the_active_one_and_readers_reset() -> None:
    w = world({"retention.ms": "1000", "segment.ms": "100"})
    produce(w, [(None, b"old-1"), (None, b"old-2")])
    reader = w.consumer(ConsumerConfig("readers", auto_offset_reset="earliest"))
    reader.subscribe(["t"])
    assert len(reader.poll()) == 2
    reader.seek(TopicPartition("t", 0), 0)
    strict = w.consumer(ConsumerConfig("strict", auto_offset_reset="error"))
    strict.assign([TopicPartition("t", 0)])
    strict.seek(TopicPartition("t", 0), 1)
    w.run_for(2_000)
    log = w.cluster.log("t", 0)
    assert (log.log_start, log.high_watermark, len(log.keys)) == (2, 2, 0)
    assert w.trace.events("segments_deleted")[0]["reason"] == "retention.ms"
    produce(w, [(None, b"new")])
    assert [r.value for r in reader.poll()] == [b"new"]
    assert w.trace.events("offset_reset")[0]["now"] == 2
    try:
        strict.poll()
        raise AssertionError("an out-of-range position with auto_offset_reset=error must raise")
    except OffsetOutOfRange:
        pass


def test_retention_bytes_keeps_the_newest_segments_within_the_limit() -> None:
    w = world({"retention.bytes": "500", "segment.ms": "100"})
    for _ in range(5):
        produce(w, [(None, bytes(200))])  # ~270 bytes a batch: one segment each
        w.clock.sleep(150)
    w.run_for(2_000)
    log = w.cluster.log("t", 0)
    assert log.log_start == 3 and log.size_bytes <= 600
    assert {e["reason"] for e in w.trace.events("segments_deleted")} == {"retention.bytes"}


def test_an_idle_world_stays_idle_and_background_work_is_deterministic() -> None:
    def run(seed: int) -> tuple[str, int]:
        w = World(seed=seed)
        w.create_topic("t", 2, {**COMPACT, "segment.jitter.ms": "50"})
        for i in range(20):
            produce(w, [(f"k{i % 3}".encode(), f"v{i}".encode())])
            w.clock.sleep(40)
        w.run_for(5_000)
        return w.trace.sha256(), w.run_until_idle()

    assert run(1) == run(1)
    assert run(1)[1] == 0, "maintenance timers never make the world busy"
