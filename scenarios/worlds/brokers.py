"""The brokers of a replicated cluster as a world's steps see them: which broker a role names
(the leader of orders-0, its followers), killing, pausing and starting one, describing a topic's
partitions, and a probe write that shows what the broker answers.

Both worlds share this; each says how a broker dies, pauses and comes back (the simulator's broker
faults; a real node's process: SIGKILL, SIGSTOP/SIGCONT, a new JVM). Roles are resolved when the
step runs, through the admin port, because on a real cluster who leads is the cluster's choice.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from scenarios.engine.model import Step
from scenarios.engine.world import NotAvailable
from services.ports import BrokerError, PartitionInfo, ProducerConfig, TopicSpec

PROBE_TOPIC = "replication-probe"
PROBE_TIMEOUT_S = 8.0
# A describe step shows the cluster once it has acted on the brokers the story killed or started: it
# looks again every second (world time) until then, for at most this long. A real controller fences a
# dead broker after broker.session.timeout.ms and a restarted one needs a JVM start and a catch-up; the
# simulated one acts at once, so there the first look is the answer.
SETTLE_TIMEOUT_MS = 60_000
SETTLE_POLL_MS = 1_000


class ClusterSteps:
    """Mixed into a world; the world provides ``kill_broker``, ``pause_broker``, ``start_broker``."""

    mode: str
    spec: Any
    prefix: str
    broker: Any

    def _init_cluster(self) -> None:
        self.killed: list[int] = []  # in the order they were killed
        self.started: list[int] = []
        self.describe_admins: list[Any] = []

    def kill_broker(self, node_id: int) -> None:
        raise NotAvailable("broker_kill", self.mode, "this world has one broker (world.brokers = 3 replicates)")

    def pause_broker(self, node_id: int, ms: int) -> None:
        raise NotAvailable("broker_pause", self.mode, "this world has one broker (world.brokers = 3 replicates)")

    def start_broker(self, node_id: int) -> None:
        raise NotAvailable("broker_start", self.mode, "this world has one broker (world.brokers = 3 replicates)")

    def is_down(self, node_id: int) -> bool:
        return node_id in self.killed and node_id not in self.started

    # ------------------------------------------------------------ topics
    def cluster_topics(self, admin: Any) -> None:
        """The probe's topic: replicated and configured like the saga topics."""
        if self.spec.brokers > 1:
            admin.create_topics([TopicSpec(self.prefix + PROBE_TOPIC, 1, self.spec.replication_factor,
                                           dict(self.spec.topic_config))], exist_ok=True)

    def describe(self, topic: str) -> list[PartitionInfo]:
        """Leader, replicas and ISR of ``topic`` once no partition is led by a dead broker and every live
        replica is back in the ISR (or ``SETTLE_TIMEOUT_MS`` passed: then as it is)."""
        deadline = self.now_ms() + SETTLE_TIMEOUT_MS  # type: ignore[attr-defined]
        while True:
            try:
                rows = self.describe_now(topic)
            except BrokerError:
                if self.now_ms() >= deadline:  # type: ignore[attr-defined]
                    raise
                rows = []
            if rows and self.acted_on(rows) or self.now_ms() >= deadline:  # type: ignore[attr-defined]
                return rows
            self.advance(SETTLE_POLL_MS)  # type: ignore[attr-defined]

    def acted_on(self, rows: list[PartitionInfo]) -> bool:
        """The controller is done with the failures: no dead leader, no live replica out of the ISR."""
        return all((r.leader is None or not self.is_down(r.leader))
                   and all(n in r.isr for n in r.replicas if not self.is_down(n)) for r in rows)

    def describe_now(self, topic: str) -> list[PartitionInfo]:
        # A fresh admin each time: a long-lived librdkafka admin client kept failing DescribeTopics after
        # the broker it had been talking to was killed (seen on 4.4 with librdkafka 2.16).
        # They are kept until the world closes: an AdminClient collected in librdkafka's own thread aborts
        # the process (confluent-kafka-python PR #2131).
        if self.spec.brokers > 1:
            admin = self.broker.admin()
            self.describe_admins.append(admin)
        else:
            admin = self.admin()  # type: ignore[attr-defined]
        rows = admin.describe_partitions([self.physical(topic)])  # type: ignore[attr-defined]
        return [replace(r, topic=topic) for r in rows]

    # ------------------------------------------------------------ steps
    def broker_fault(self, step: Step) -> str:
        if step.op == "broker_start":  # which: the n-th broker killed (1 = the first), or "last"
            which = step.get("which", "last")
            index = len(self.killed) - 1 if which == "last" else int(which) - 1
            if not 0 <= index < len(self.killed) or self.killed[index] in self.started:
                return f"no broker killed {which}: nothing to start"
            node = self.killed[index]
            self.start_broker(node)
            self.started.append(node)
            return f"broker {node} started again"
        topic, partition, role = step.get("topic", "orders"), int(step.get("partition", 0)), step.get("role", "leader")
        info = next((r for r in self.describe_now(topic) if r.partition == partition), None)
        if info is None:
            raise NotAvailable(step.op, self.mode, f"{topic} has no partition {partition}")
        if role == "leader":
            targets = [] if info.leader is None or self.is_down(info.leader) else [info.leader]
        else:
            targets = [r for r in info.replicas if r != info.leader and not self.is_down(r)]
        if not targets:
            return f"{topic}-{partition} has no {'leader' if role == 'leader' else 'followers'} to {step.op[7:]}"
        for node in targets:
            if step.op == "broker_kill":
                self.kill_broker(node)
                self.killed.append(node)
                if node in self.started:
                    self.started.remove(node)
            else:
                self.pause_broker(node, int(step.get("ms", 1_000)))
        what = "killed (kill -9)" if step.op == "broker_kill" else f"paused for {int(step.get('ms', 1_000))} ms"
        return f"broker {','.join(map(str, targets))} ({role} of {topic}-{partition}) {what}"

    def probe(self) -> str:
        acks = self.spec.services.acks
        producer = self.broker.producer(ProducerConfig(client_id="kafkalab-probe", acks=acks, retries=0))
        try:
            producer.produce(self.prefix + PROBE_TOPIC, b"probe")
            producer.flush(PROBE_TIMEOUT_S)
            return ""
        except BrokerError as exc:
            return str(exc) or type(exc).__name__
        finally:
            producer.close()
