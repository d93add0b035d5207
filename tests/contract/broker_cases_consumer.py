"""Broker contract cases about a consumer's own controls and librdkafka's group details: pause/resume,
manual assignment, unsubscribe, position before the first record, new partitions, the cooperative
assign callback, a fenced static member, and a deleted topic's group offsets."""

from __future__ import annotations

import pytest

from services.ports import (
    CommitFailed,
    FencedInstance,
    InvalidConfig,
    PartitionNotAssigned,
    TopicPartition,
)
from tests.contract.broker_harness import ContractHarness, tps


class ConsumerCases(ContractHarness):
    def test_pause_stops_fetching_a_partition_until_resume(self) -> None:
        topic = self.topic("pause", partitions=2)
        producer = self.producer()
        consumer = self.consumer(self.unique("g"), [topic])
        self.poll_until_assigned(consumer, 2)
        consumer.pause([self.tp(topic, 1)])
        assert consumer.paused() == [self.tp(topic, 1)]
        for p in (0, 1):
            self.produce(producer, topic, [f"p{p}-{i}".encode() for i in range(3)], partition=p)
        got = self.poll_until(consumer, 3)
        self.drive([consumer], lambda _: True, what="one more poll")  # nothing from the paused partition arrives
        assert {r.partition for r in got} == {0}
        consumer.resume([self.tp(topic, 1)])
        rest = self.poll_until(consumer, 3)
        assert [r.value for r in rest] == [b"p1-0", b"p1-1", b"p1-2"] and consumer.paused() == []
        with pytest.raises(PartitionNotAssigned):
            consumer.pause([self.tp(self.unique("other"), 0)])

    def test_manual_assignment_reads_without_joining_the_group(self) -> None:
        topic = self.topic("assign", partitions=2)
        self.produce(self.producer(), topic, [b"a", b"b", b"c"], partition=1)
        group = self.unique("g")
        reader = self.consumer(group)
        reader.assign([self.tp(topic, 1)])
        assert reader.assignment() == [self.tp(topic, 1)]
        assert [r.value for r in self.poll_until(reader, 3)] == [b"a", b"b", b"c"]
        assert self.admin.describe_group(group).members == ()
        reader.commit()  # the group is empty: a commit outside any generation is taken
        self.eventually(lambda: self._committed(group, {self.tp(topic, 1): 3}), what="the manual commit")
        with pytest.raises(InvalidConfig):
            reader.subscribe([topic])
        reader.unsubscribe()
        assert reader.assignment() == []

    def test_a_manual_commit_into_a_group_with_members_is_refused(self) -> None:
        topic = self.topic("assign-busy")
        self.produce(self.producer(), topic, [b"a"])
        group = self.unique("g")
        member = self.consumer(group, [topic])
        self.poll_until(member, 1)
        reader = self.consumer(group)
        reader.assign([self.tp(topic)])
        self.poll_until(reader, 1)
        with pytest.raises(CommitFailed):
            reader.commit({self.tp(topic): 1})

    def test_unsubscribe_revokes_everything_and_leaves_the_group(self) -> None:
        topic = self.topic("unsubscribe", partitions=2)
        group = self.unique("g")
        revoked: list[TopicPartition] = []
        consumer = self.consumer(group)
        consumer.subscribe([topic], on_revoke=revoked.extend)
        self.poll_until_assigned(consumer, 2)
        consumer.unsubscribe()
        assert sorted(revoked) == tps(topic, range(2)) and consumer.assignment() == []
        self.eventually(lambda: self._members(group, 0), what="the member to leave")

    def test_position_is_none_until_a_record_was_returned_or_sought(self) -> None:
        topic = self.topic("position", partitions=2)
        self.produce(self.producer(), topic, [b"a", b"b"], partition=0)
        consumer = self.consumer(self.unique("g"), [topic])
        self.poll_until(consumer, 2)
        assert consumer.position(self.tp(topic, 0)) == 2
        assert consumer.position(self.tp(topic, 1)) is None  # assigned, nothing fetched from it yet
        consumer.seek(self.tp(topic, 1), 0)
        assert consumer.position(self.tp(topic, 1)) == 0
        with pytest.raises(PartitionNotAssigned):
            consumer.seek(self.tp(topic, 7), 0)

    def test_a_group_picks_up_partitions_added_at_its_next_metadata_refresh(self) -> None:
        topic = self.topic("grow", partitions=1)
        consumer = self.consumer(self.unique("g"), [topic], topic_metadata_refresh_interval_ms=1_000)
        self.poll_until_assigned(consumer, 1)
        with pytest.raises(InvalidConfig):
            self.admin.create_partitions(topic, 1)
        self.admin.create_partitions(topic, 3)
        assert self.admin.list_topics()[topic] == 3
        self.poll_until_assigned(consumer, 3)
        producer = self.producer()  # a fresh producer: an old one learns of new partitions at its own refresh
        self.produce(producer, topic, [b"new"], partition=2)
        [record] = self.poll_until(consumer, 1)
        assert (record.partition, record.value) == (2, b"new")

    def test_cooperative_assign_callback_is_called_even_with_nothing_new(self) -> None:
        topic = self.topic("coop-empty", partitions=4)
        group = self.unique("g")
        first_assigned: list[list[int]] = []
        second_assigned: list[list[int]] = []
        first = self.consumer(group, assignor="cooperative-sticky")
        first.subscribe([topic], on_assign=lambda ps: first_assigned.append(sorted(p.partition for p in ps)))
        self.poll_until_assigned(first, 4)
        second = self.consumer(group, assignor="cooperative-sticky")
        second.subscribe([topic], on_assign=lambda ps: second_assigned.append(sorted(p.partition for p in ps)))
        self.drive([first, second], lambda _: len(second.assignment()) == 2, what="two partitions each")
        # librdkafka: the joining member is first assigned nothing (partitions move in a second round)
        assert second_assigned[0] == [] and second_assigned[-1] == sorted(tp.partition for tp in second.assignment())
        assert [] in first_assigned[1:]  # the member that gave partitions up is told "nothing new" too

    def test_a_static_member_replaced_by_a_new_instance_is_fenced(self) -> None:
        topic = self.topic("fenced-static")
        group = self.unique("g")
        old = self.consumer(group, [topic], group_instance_id="instance-1")
        self.poll_until_assigned(old, 1)
        new = self.consumer(group, [topic], group_instance_id="instance-1")
        fenced = self.poll_until_raises(old, what="the old instance to be fenced",
                                        between=lambda: new.poll(timeout=self.poll_timeout_s))
        assert isinstance(fenced, FencedInstance)
        self.poll_until_assigned(new, 1)

    def test_a_deleted_topics_group_offsets_disappear(self) -> None:
        topic, kept = self.topic("deleted"), self.topic("kept")
        group = self.unique("g")
        consumer = self.consumer(group, [topic, kept])
        self.poll_until_assigned(consumer, 2)
        consumer.commit({self.tp(topic): 0, self.tp(kept): 0})
        consumer.close()
        self.admin.delete_topics([topic])
        self.settle()
        self.eventually(lambda: self._committed(group, {self.tp(kept): 0}), what="the deleted topic's offsets to go")

    def test_a_static_member_restarted_after_partitions_were_added_keeps_its_old_assignment(self) -> None:
        topic = self.topic("grow-static", partitions=2)
        group = self.unique("g")
        old = self.consumer(group, [topic], group_instance_id="grow-1")  # refreshes metadata every 5 min
        self.poll_until_assigned(old, 2)
        self.admin.create_partitions(topic, 3)
        old.close()  # a static member sends no LeaveGroup: the restart takes its place, no rebalance
        self.settle()
        restarted = self.consumer(group, [topic], group_instance_id="grow-1")
        self.poll_until_assigned(restarted, 2)
        for _ in range(10):  # its first metadata already had 3 partitions: nothing grew, so it never rejoins
            restarted.poll(timeout=self.poll_timeout_s)
            self.tick()
        assert len(restarted.assignment()) == 2
        other = self.consumer(group, [topic])  # the next rebalance assigns the new partition
        self.drive([restarted, other], lambda _: len(restarted.assignment()) + len(other.assignment()) == 3,
                   what="the new partition assigned at the next rebalance")

    # ------------------------------------------------------------ helpers

    def _members(self, group: str, count: int) -> None:
        assert len(self.admin.describe_group(group).members) == count
