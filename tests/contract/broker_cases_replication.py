"""Broker contract cases about replicas: describing a topic's partitions (leader, replicas, ISR) and
acks=all against min.insync.replicas. They hold on any cluster size: the topics have one replica."""

from __future__ import annotations

from services.ports import ProducerConfig
from tests.contract.broker_harness import ContractHarness


class ReplicationCases(ContractHarness):
    def test_describe_partitions_names_each_partitions_leader_replicas_and_isr(self) -> None:
        topic = self.topic("describe", partitions=2)
        rows = self.admin.describe_partitions([topic])
        assert [(r.topic, r.partition) for r in rows] == [(topic, 0), (topic, 1)]
        for r in rows:
            assert len(r.replicas) == 1 and r.leader == r.replicas[0] and r.isr == r.replicas
            assert f"Leader: {r.leader}" in r.describe()

    def test_min_insync_replicas_above_the_replication_factor_is_capped_at_it(self) -> None:
        # Kafka's effective min ISR is min(min.insync.replicas, replicas): one copy, one in sync, accepted.
        topic = self.topic("min-isr", min_insync_replicas="2")
        strict = self.producer(ProducerConfig(acks="all", retries=0))
        strict.produce(topic, b"accepted")
        assert [m.offset for m in strict.flush(10.0)] == [0]
