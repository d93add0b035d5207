"""Broker contract cases about the log's start and its background work, and a group's offsets by hand:
offsets for times, delete records, retention, compaction and tombstones, altering and deleting groups."""

from __future__ import annotations

import pytest

from services.offset_reset import ResetTarget, apply_reset, gather, partitions_of, plan_reset
from services.ports import (
    GroupNotEmpty,
    OffsetOutOfRange,
    PolicyViolation,
    UnknownGroup,
)
from tests.contract.broker_harness import ContractHarness


class LogAdminCases(ContractHarness):
    def test_offsets_for_times_finds_the_first_record_at_or_after_a_timestamp(self) -> None:
        topic = self.topic("times")
        base = self.now_ms() - 60_000
        producer = self.producer()
        for delta in (0, 1_000, 500, 2_000):  # offsets 0..3; timestamps need not grow
            producer.produce(topic, b"v", timestamp=base + delta)
        producer.flush()
        tp = self.tp(topic)
        found = {delta: self.admin.offsets_for_times({tp: base + delta})[tp] for delta in (-1, 0, 600, 1_500, 2_001)}
        assert found == {-1: 0, 0: 0, 600: 1, 1_500: 3, 2_001: None}
        assert self.admin.beginning_offsets([topic]) == {tp: 0}

    def test_delete_records_moves_the_log_start_and_readers_reset(self) -> None:
        topic = self.topic("delete-records")
        self.produce(self.producer(), topic, [f"m{i}".encode() for i in range(5)])
        tp = self.tp(topic)
        group, strict = self.unique("g"), self.unique("g")
        self.admin.alter_group_offsets(group, {tp: 1})
        self.admin.alter_group_offsets(strict, {tp: 1})
        assert self.admin.delete_records({tp: 3}) == {tp: 3}
        assert self.admin.beginning_offsets([topic]) == {tp: 3}
        with pytest.raises(OffsetOutOfRange):
            self.admin.delete_records({tp: 99})
        # committed 1 is below the log start now: earliest resets to 3, error refuses to guess
        assert [r.offset for r in self.poll_until(self.consumer(group, [topic]), 2)] == [3, 4]
        reader = self.consumer(strict, [topic], auto_offset_reset="error")
        assert isinstance(self.poll_until_raises(reader, what="an out-of-range error"), OffsetOutOfRange)
        compacted = self.topic("delete-compacted", cleanup_policy="compact")
        with pytest.raises(PolicyViolation):
            self.admin.delete_records({self.tp(compacted): 0})

    def test_retention_deletes_expired_segments_and_moves_the_log_start(self) -> None:
        topic = self.topic("retention", retention_ms="1000", segment_ms="100")
        self.produce(self.producer(), topic, [b"a", b"b", b"c"])
        tp = self.tp(topic)
        # retention.ms after the newest record, then the next retention check (1 s on the lab broker)
        self.eventually(lambda: self._beginning(topic, 3), what="retention to delete the segment",
                        deadline_s=max(self.deadline_s, 20.0))
        assert self.admin.end_offsets([topic]) == {tp: 3}

    def test_compaction_keeps_the_latest_value_per_key_and_tombstones_until_delete_retention(self) -> None:
        topic = self.topic("compact", cleanup_policy="compact", segment_ms="100",
                           min_cleanable_dirty_ratio="0.01", delete_retention_ms="100")
        producer = self.producer()
        start = self.now_ms()
        for key, value in [(b"k1", b"v1"), (b"k2", b"v2"), (b"k1", b"v3"), (b"k2", None)]:
            producer.produce(topic, value, key=key, timestamp=start)
        producer.flush()
        # segments roll by record time: a record 1 s newer than the segment's first rolls it at once
        producer.produce(topic, b"roll", key=b"k3", timestamp=start + 1_000)
        producer.flush()
        self.eventually(lambda: self._log(topic, [(2, b"k1", b"v3"), (3, b"k2", None), (4, b"k3", b"roll")]),
                        what="the cleaner to compact the rolled segment (the tombstone stays for now)")
        assert self.admin.beginning_offsets([topic]) == {self.tp(topic): 0}  # compaction never moves it
        # The tombstone goes at a later cleaning once delete.retention.ms passed: roll more dirty segments.
        rolled = [2_000]

        def tombstone_gone() -> None:
            rolled[0] += 1_000
            producer.produce(topic, b"more", key=b"k4", timestamp=start + rolled[0])
            producer.flush()
            assert (3, b"k2", None) not in self._read(topic)

        self.eventually(tombstone_gone, what="the tombstone to be removed")
        assert {(o, k, v) for o, k, v in self._read(topic)} >= {(2, b"k1", b"v3"), (4, b"k3", b"roll")}

    def test_a_groups_offsets_can_be_set_only_while_it_is_empty(self) -> None:
        topic = self.topic("alter-offsets")
        self.produce(self.producer(), topic, [f"m{i}".encode() for i in range(4)])
        tp = self.tp(topic)
        group = self.unique("g")
        member = self.consumer(group, [topic])
        self.poll_until(member, 4)
        with pytest.raises(GroupNotEmpty):
            self.admin.alter_group_offsets(group, {tp: 1})
        member.close()
        self.settle()

        def altered() -> None:
            self.admin.alter_group_offsets(group, {tp: 2})
            assert self.admin.committed_offsets(group) == {tp: 2}

        self.eventually(altered, what="the offsets of the emptied group", retry_on=(AssertionError, GroupNotEmpty))
        assert [r.offset for r in self.poll_until(self.consumer(group, [topic]), 2)] == [2, 3]

    def test_resetting_a_groups_offsets_plans_first_then_writes(self) -> None:
        topic = self.topic("reset", partitions=2)
        producer = self.producer()
        stamp = self.now_ms() - 60_000
        for p in (0, 1):
            for i in range(4):
                producer.produce(topic, b"v", partition=p, timestamp=stamp + i * 1_000)
        producer.flush()
        group = self.unique("g")
        self.admin.alter_group_offsets(group, {self.tp(topic, 0): 3, self.tp(topic, 1): 1})
        partitions = partitions_of(self.admin, [topic])

        def plan(target: ResetTarget) -> list[tuple[int, int | None, int]]:
            rows = plan_reset(target, partitions, gather(self.admin, group, partitions, target))
            return [(r.tp.partition, r.current, r.target) for r in rows]

        assert plan(ResetTarget("earliest")) == [(0, 3, 0), (1, 1, 0)]
        assert plan(ResetTarget("shift", -2)) == [(0, 3, 1), (1, 1, 0)]  # clamped to the log start
        assert plan(ResetTarget("offset", 99)) == [(0, 3, 4), (1, 1, 4)]  # clamped to the end
        assert plan(ResetTarget("timestamp", stamp + 1_500)) == [(0, 3, 2), (1, 1, 2)]
        assert self.admin.committed_offsets(group) == {self.tp(topic, 0): 3, self.tp(topic, 1): 1}  # a dry run
        target = ResetTarget("latest")
        apply_reset(self.admin, group, plan_reset(target, partitions, gather(self.admin, group, partitions, target)))
        self.eventually(lambda: self._committed(group, {self.tp(topic, 0): 4, self.tp(topic, 1): 4}),
                        what="the reset offsets")

    def test_deleting_a_group_needs_it_empty_and_forgets_its_offsets(self) -> None:
        topic = self.topic("delete-group")
        group = self.unique("g")
        member = self.consumer(group, [topic])
        self.poll_until_assigned(member, 1)
        member.commit({self.tp(topic): 0})
        with pytest.raises(GroupNotEmpty):
            self.admin.delete_group(group)
        with pytest.raises(UnknownGroup):
            self.admin.delete_group(self.unique("never"))
        member.close()
        self.settle()
        self.eventually(lambda: self.admin.delete_group(group), what="deleting the emptied group",
                        retry_on=(AssertionError, GroupNotEmpty))
        assert self.admin.committed_offsets(group) == {}
        assert group not in self.admin.list_groups()

    # ------------------------------------------------------------ helpers

    def _beginning(self, topic: str, offset: int) -> None:
        assert self.admin.beginning_offsets([topic]) == {self.tp(topic): offset}

    def _read(self, topic: str) -> list[tuple[int, bytes | None, bytes | None]]:
        """Every record from the log start to the end offset, by a fresh reader."""
        end = self.admin.end_offsets([topic])[self.tp(topic)]
        reader = self.consumer(self.unique("reader"))
        reader.assign([self.tp(topic)])
        got = self.drive([reader], lambda g: bool(g[0]) and g[0][-1].offset >= end - 1, what="the whole log")[0]
        reader.close()
        return [(r.offset, r.key, r.value) for r in got]

    def _log(self, topic: str, expected: list) -> None:
        assert self._read(topic) == expected
