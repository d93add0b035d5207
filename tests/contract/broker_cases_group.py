"""Broker contract cases about consumer groups: offsets, commits, rebalances, membership and lag."""

from __future__ import annotations

import pytest

from services.ports import CommitFailed, PartitionLag, TopicPartition, TopicSpec, UnknownTopic
from tests.contract.broker_harness import ContractHarness, positions, tps


class GroupCases(ContractHarness):
    def test_new_member_resumes_after_the_committed_offset(self) -> None:
        topic = self.topic("resume")
        self.produce(self.producer(), topic, [f"m{i}".encode() for i in range(10)])
        group = self.unique("g")
        first = self.consumer(group, [topic])
        assert [r.offset for r in self.poll_until(first, 10)] == list(range(10))
        first.commit({TopicPartition(topic, 0): 6})
        assert self.admin.committed_offsets(group) == {TopicPartition(topic, 0): 6}
        first.close()
        self.settle()
        second = self.consumer(group, [topic])
        resumed = self.poll_until(second, 4)
        assert [r.offset for r in resumed] == [6, 7, 8, 9]
        second.commit()  # no arguments: the position after everything polled
        assert self.admin.committed_offsets(group) == {TopicPartition(topic, 0): 10}

    def test_redelivers_uncommitted_records_after_member_crash(self) -> None:
        topic = self.topic("crash", partitions=2)
        producer = self.producer()
        for p in (0, 1):
            self.produce(producer, topic, [f"p{p}-{i}".encode() for i in range(5)], partition=p)
        group = self.unique("g")
        doomed = self.consumer(group, [topic])
        assert len(self.poll_until(doomed, 10)) == 10
        doomed.commit({TopicPartition(topic, 0): 2, TopicPartition(topic, 1): 2})
        self.crash(doomed)
        heir = self.consumer(group, [topic])
        redelivered = self.poll_until(heir, 6)
        assert sorted(positions(redelivered)) == [(p, o) for p in (0, 1) for o in range(2, 5)]

    def test_seek_rewinds_the_position(self) -> None:
        topic = self.topic("seek")
        self.produce(self.producer(), topic, [f"m{i}".encode() for i in range(5)])
        consumer = self.consumer(self.unique("g"), [topic])
        self.poll_until(consumer, 5)
        tp = TopicPartition(topic, 0)
        assert consumer.position(tp) == 5
        consumer.seek(tp, 1)
        assert consumer.position(tp) == 1
        again = self.poll_until(consumer, 4)
        assert [r.offset for r in again] == [1, 2, 3, 4]

    def test_auto_offset_reset_earliest_reads_history_and_latest_only_new_records(self) -> None:
        topic = self.topic("reset")
        producer = self.producer()
        self.produce(producer, topic, [b"old-0", b"old-1", b"old-2"])
        earliest = self.consumer(self.unique("g"), [topic], auto_offset_reset="earliest")
        assert [r.value for r in self.poll_until(earliest, 3)] == [b"old-0", b"old-1", b"old-2"]
        latest = self.consumer(self.unique("g"), [topic], auto_offset_reset="latest")
        self.poll_until_assigned(latest, 1)

        def new_record_arrived(got: list[list]) -> bool:
            if got[0]:
                return True
            # "latest" resolves the start offset asynchronously: keep adding new records until one arrives.
            self.produce(producer, topic, [b"new"])
            return False

        got = self.drive([latest], new_record_arrived, what="a new record")[0]
        assert all(r.value == b"new" and r.offset >= 3 for r in got)

    def test_commit_for_a_partition_not_owned_is_rejected(self) -> None:
        topic = self.topic("owned")
        other = self.topic("other")
        consumer = self.consumer(self.unique("g"), [topic])
        self.poll_until_assigned(consumer, 1)
        with pytest.raises(CommitFailed):
            consumer.commit({TopicPartition(other, 0): 1})
        consumer.commit()  # nothing returned yet: no position, nothing committed, no error (both worlds)
        assert self.admin.committed_offsets(consumer.group_id) == {}

    def test_commit_from_a_fenced_member_is_rejected(self) -> None:
        topic = self.topic("fenced")
        self.produce(self.producer(), topic, [b"a", b"b", b"c"])
        group = self.unique("g")
        # The stalled member stops polling; past max.poll.interval.ms the group moves on without it.
        stalled = self.consumer(group, [topic], max_poll_interval_ms=6_000)
        self.poll_until(stalled, 3)
        successor = self.consumer(group, [topic])
        self.drive([successor], lambda _: len(successor.assignment()) == 1, what="the successor to take over")
        with pytest.raises(CommitFailed):
            stalled.commit({TopicPartition(topic, 0): 3})
        assert self.admin.committed_offsets(group) == {}

    def test_lag_is_end_offset_minus_committed_per_partition(self) -> None:
        topic = self.topic("lag", partitions=2)
        producer = self.producer()
        self.produce(producer, topic, [b"x"] * 5, partition=0)
        self.produce(producer, topic, [b"y"] * 3, partition=1)
        group = self.unique("g")
        consumer = self.consumer(group, [topic])
        self.poll_until_assigned(consumer, 2)
        consumer.commit({TopicPartition(topic, 0): 2})
        assert self.admin.end_offsets([topic]) == {TopicPartition(topic, 0): 5, TopicPartition(topic, 1): 3}
        lag = self.admin.lag(group, [topic])
        assert lag == [PartitionLag(topic, 0, 2, 5), PartitionLag(topic, 1, None, 3)]
        assert [entry.lag for entry in lag] == [3, 3]

    def test_rebalance_shares_partitions_on_join_and_gives_all_back_on_leave(self) -> None:
        topic = self.topic("rebalance", partitions=4)
        group = self.unique("g")
        revoked: list[TopicPartition] = []
        first = self.consumer(group)
        first.subscribe([topic], on_revoke=revoked.extend)
        self.poll_until_assigned(first, 4)
        second = self.consumer(group, [topic])
        self.drive(
            [first, second],
            lambda _: len(first.assignment()) == 2 and len(second.assignment()) == 2,
            what="two members with two partitions each",
        )
        assert sorted(first.assignment() + second.assignment()) == tps(topic, range(4))
        assert sorted(set(revoked)) == tps(topic, range(4))  # range is eager: everything was revoked first
        second.close()
        self.settle()
        self.drive([first], lambda _: len(first.assignment()) == 4, what="the survivor to own all four")

    def test_cooperative_sticky_revokes_only_the_partitions_that_move(self) -> None:
        topic = self.topic("sticky", partitions=4)
        group = self.unique("g")
        revoked: list[TopicPartition] = []
        first = self.consumer(group, assignor="cooperative-sticky")
        first.subscribe([topic], on_revoke=revoked.extend)
        self.poll_until_assigned(first, 4)
        second = self.consumer(group, [topic], assignor="cooperative-sticky")
        self.drive(
            [first, second],
            lambda _: len(first.assignment()) == 2 and len(second.assignment()) == 2,
            what="two members with two partitions each",
        )
        assert sorted(revoked) == sorted(second.assignment())
        assert not set(revoked) & set(first.assignment())

    def test_describe_group_reports_state_members_and_assignments(self) -> None:
        topic = self.topic("describe", partitions=2)
        group = self.unique("g")
        dynamic = self.consumer(group, [topic], client_id="dynamic-client")
        static = self.consumer(group, [topic], client_id="static-client", group_instance_id="static-1")
        self.drive(
            [dynamic, static],
            lambda _: len(dynamic.assignment()) == 1 and len(static.assignment()) == 1,
            what="one partition each",
        )
        desc = self.admin.describe_group(group)
        assert desc.state == "Stable"
        assert desc.protocol == "range"
        members = {m.client_id: m for m in desc.members}
        assert set(members) == {"dynamic-client", "static-client"}
        assert members["dynamic-client"].member_id == dynamic.member_id
        assert members["dynamic-client"].group_instance_id is None
        assert members["static-client"].group_instance_id == "static-1"
        assert members["dynamic-client"].assignment == tuple(dynamic.assignment())
        assert members["static-client"].assignment == tuple(static.assignment())
        assert group in self.admin.list_groups()
        assert self.admin.describe_group(self.unique("never-used")).state == "Dead"

    def test_group_is_empty_after_every_member_left(self) -> None:
        topic = self.topic("empty")
        group = self.unique("g")
        consumer = self.consumer(group, [topic])
        self.poll_until_assigned(consumer, 1)
        consumer.commit({TopicPartition(topic, 0): 0})
        consumer.close()
        self.settle()

        def is_empty() -> None:
            desc = self.admin.describe_group(group)
            assert (desc.state, desc.members) == ("Empty", ())

        self.eventually(is_empty, what="the group to become Empty")

    def test_static_member_restart_keeps_its_partitions_without_a_rebalance(self) -> None:
        topic = self.topic("static", partitions=2)
        group = self.unique("g")
        revoked: list[TopicPartition] = []
        other = self.consumer(group, client_id="other")
        other.subscribe([topic], on_revoke=revoked.extend)
        static = self.consumer(group, [topic], client_id="static", group_instance_id="static-1")
        self.drive(
            [other, static],
            lambda _: len(other.assignment()) == 1 and len(static.assignment()) == 1,
            what="one partition each",
        )
        kept, revoked[:] = static.assignment(), []
        static.close()  # a static member sends no LeaveGroup
        self.settle()
        restarted = self.consumer(group, [topic], client_id="static", group_instance_id="static-1")
        self.drive(
            [restarted, other],
            lambda _: restarted.assignment() == kept,
            what="the restart to get its partition",
        )
        assert revoked == []  # no rebalance: the other member kept its partition throughout
        members = {m.group_instance_id: m for m in self.admin.describe_group(group).members}
        assert members["static-1"].member_id == restarted.member_id

    def test_subscribing_before_the_topic_exists_reports_unknown_topic_then_recovers(self) -> None:
        topic = self.unique("late")
        consumer = self.consumer(self.unique("g"), [topic])
        assert isinstance(self.poll_until_raises(consumer, what="UnknownTopic from poll"), UnknownTopic)
        self.admin.create_topics([TopicSpec(topic, partitions=2)])
        producer = self.producer()
        producer.produce(topic, b"hello", partition=1)
        producer.flush()
        self.settle()
        [record] = self.poll_until(consumer, 1)
        assert (record.partition, record.value) == (1, b"hello")

    def test_auto_offset_reset_error_fails_the_poll_of_a_group_without_offsets(self) -> None:
        topic = self.topic("reset-error")
        self.produce(self.producer(), topic, [b"x"])
        consumer = self.consumer(self.unique("g"), [topic], auto_offset_reset="error")
        assert not self.poll_until_raises(consumer, what="an error from poll").retriable
