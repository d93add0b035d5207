"""Broker contract cases about the consumer group protocol (KIP-848, ``group_protocol="consumer"``):
the broker assigns, heartbeats carry the assignment, revocation is incremental, session timing is the
broker's, and a duplicate static member is refused rather than fencing the one already there.

The lab broker sets ``group.consumer.session.timeout.ms=10000`` and a 1 s heartbeat
(compose/server.properties); the simulator's broker the same (sim/broker_config.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from services.ports import Consumer, InvalidConfig, TopicPartition, UnreleasedInstance
from tests.contract.broker_harness import ContractHarness, tps

BROKER_SESSION_MS = 10_000


class ConsumerProtocolCases(ContractHarness):
    def kip848(self, group: str, topics: Sequence[str] = (), **overrides: object) -> Consumer:
        # The harness's classic defaults (session 6 s, heartbeat 1 s) are the broker's business here.
        settings = {"group_protocol": "consumer", "session_timeout_ms": 45_000, "heartbeat_interval_ms": 3_000,
                    **overrides}
        return self.consumer(group, topics, **settings)

    @pytest.mark.parametrize(("field", "value", "named"), [
        ("session_timeout_ms", 6_000, "session.timeout.ms"),
        ("heartbeat_interval_ms", 1_000, "heartbeat.interval.ms"),
        ("assignor", "cooperative-sticky", "partition.assignment.strategy"),
    ])
    def test_consumer_protocol_refuses_the_settings_the_broker_owns(self, field, value, named) -> None:
        with pytest.raises(InvalidConfig, match=named):
            self.kip848(self.unique("g"), **{field: value})

    @pytest.mark.parametrize(("assignor", "sizes"), [("uniform", [3, 3]), ("range", [2, 4])])
    def test_the_broker_assigns_uniform_over_all_topics_and_range_per_topic(self, assignor, sizes) -> None:
        first, second = self.topic("left", partitions=3), self.topic("right", partitions=3)
        group = self.unique("g")
        a = self.kip848(group, [first, second], remote_assignor=assignor)
        self.poll_until_assigned(a, 6)
        b = self.kip848(group, [first, second], remote_assignor=assignor)
        self.drive([a, b], lambda _: len(b.assignment()) > 0 and len(a.assignment()) + len(b.assignment()) == 6,
                   what="the second member to get its share")
        assert sorted([len(a.assignment()), len(b.assignment())]) == sizes
        assert self.admin.describe_group(group).protocol == assignor

    def test_revocation_is_incremental_only_what_moves_is_revoked(self) -> None:
        topic = self.topic("incremental", partitions=4)
        group = self.unique("g")
        revoked: list[TopicPartition] = []
        first = self.kip848(group)
        first.subscribe([topic], on_revoke=revoked.extend)
        self.poll_until_assigned(first, 4)
        second = self.kip848(group, [topic])
        self.drive([first, second], lambda _: len(first.assignment()) == 2 and len(second.assignment()) == 2,
                   what="two partitions each")
        assert sorted(revoked) == sorted(second.assignment())  # never "everything, then back"
        assert sorted(first.assignment() + second.assignment()) == tps(topic, range(4))

    def test_a_static_member_restarted_within_the_broker_session_gets_its_partitions_back(self) -> None:
        topic = self.topic("static-848", partitions=2)
        group = self.unique("g")
        revoked: list[TopicPartition] = []
        other = self.kip848(group, client_id="other")
        other.subscribe([topic], on_revoke=revoked.extend)
        static = self.kip848(group, [topic], client_id="static", group_instance_id="static-1")
        self.drive([other, static], lambda _: len(other.assignment()) == 1 and len(static.assignment()) == 1,
                   what="one partition each")
        kept, revoked[:] = static.assignment(), []
        static.close()  # leaves as a static member: the broker keeps its assignment for the session
        restarted = self.kip848(group, [topic], client_id="static", group_instance_id="static-1")
        self.drive([restarted, other], lambda _: restarted.assignment() == kept, what="the restart to get its partition")
        assert revoked == []

    def test_a_static_member_that_left_keeps_its_partitions_until_the_broker_session_timeout(self) -> None:
        topic = self.topic("session-848", partitions=2)
        group = self.unique("g")
        other = self.kip848(group, [topic], client_id="other")
        static = self.kip848(group, [topic], client_id="static", group_instance_id="static-1")
        self.drive([other, static], lambda _: len(other.assignment()) == 1 and len(static.assignment()) == 1,
                   what="one partition each")
        static.close()
        left = self.now_ms()
        self.drive([other], lambda _: len(other.assignment()) == 2, what="the other member to take over",
                   deadline_s=self.deadline_s + BROKER_SESSION_MS / 1000)
        waited = self.now_ms() - left
        # group.consumer.session.timeout.ms, not the client's session.timeout.ms (the port default, 45 s)
        assert BROKER_SESSION_MS * 0.8 <= waited < 45_000, waited

    def test_a_duplicate_static_member_is_refused_and_the_existing_one_keeps_its_place(self) -> None:
        topic = self.topic("unreleased")
        self.produce(self.producer(), topic, [b"a", b"b"])
        group = self.unique("g")
        holder = self.kip848(group, [topic], group_instance_id="instance-1")
        self.poll_until(holder, 2)
        newcomer = self.kip848(group, [topic], group_instance_id="instance-1")
        refused = self.poll_until_raises(newcomer, what="the newcomer to be refused",
                                         between=lambda: holder.poll(timeout=self.poll_timeout_s))
        assert isinstance(refused, UnreleasedInstance)  # classic fences the existing member instead
        assert holder.assignment() == [TopicPartition(topic, 0)] and newcomer.assignment() == []
        holder.commit({TopicPartition(topic, 0): 2})  # the holder is still a member in good standing
        self.eventually(lambda: self._committed(group, {TopicPartition(topic, 0): 2}), what="the holder's commit")

    def test_the_broker_assigns_partitions_added_to_a_topic_without_a_client_metadata_refresh(self) -> None:
        topic = self.topic("grow-848", partitions=2)
        group = self.unique("g")
        member = self.kip848(group, [topic], topic_metadata_refresh_interval_ms=-1)  # it never refreshes itself
        self.poll_until_assigned(member, 2)
        self.admin.create_partitions(topic, 3)
        self.poll_until_assigned(member, 3)
