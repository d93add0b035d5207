"""Differential test: a plain-dict model of partitioned logs and group offsets against the simulator.

Hypothesis drives produce / poll / commit / join / leave / crash / advance-time in any order; after
every step the simulator must agree with the model and keep Kafka's invariants. A planted bug (a
coordinator that commits a crashed member's fetch positions, so its unprocessed records are skipped)
shows the machine finds real at-least-once violations and shrinks them to a few steps.
"""

from __future__ import annotations

import confluent_kafka
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from services.ports import CommitFailed, ConsumerConfig, TopicPartition
from sim import World
from sim.group import Group

TOPIC = "t"
PARTITIONS = 3
SESSION_MS = 6_000
MAX_POLL_MS = 10_000
MAX_MEMBERS = 4
MAX_RECORDS = 150


class LogDifferential(RuleBasedStateMachine):
    members = Bundle("members")
    steps_of_last_run: list[str] = []

    def __init__(self) -> None:
        super().__init__()
        self.world = self.make_world()
        self.world.create_topic(TOPIC, PARTITIONS)
        self.producer = self.world.producer()
        self.admin = self.world.admin()
        self.model_log: dict[int, list[tuple[bytes | None, bytes]]] = {p: [] for p in range(PARTITIONS)}
        self.model_committed: dict[int, int] = {}
        self.delivered: dict[str, dict[int, set[int]]] = {}  # member -> partition -> offsets it was given
        self.processed: dict[int, set[int]] = {p: set() for p in range(PARTITIONS)}  # covered by its receiver's commit
        self.consumers: dict[str, object] = {}
        self.assignor = "range"
        self.produced = 0
        type(self).steps_of_last_run = []

    def make_world(self) -> World:
        return World(seed=0, trace=False)

    def _log(self, step: str) -> None:
        type(self).steps_of_last_run.append(step)

    # ---------------------------------------------------------------- rules
    @initialize(assignor=st.sampled_from(["range", "roundrobin", "cooperative-sticky"]))
    def choose_assignor(self, assignor: str) -> None:
        self.assignor = assignor

    @precondition(lambda self: self.produced < MAX_RECORDS)
    @rule(key=st.sampled_from([None, b"a", b"b", b"c", b"order-7"]), count=st.integers(1, 4))
    def produce(self, key: bytes | None, count: int) -> None:
        self._log("produce")
        values = [f"v{self.produced + i}".encode() for i in range(count)]
        for v in values:
            self.producer.produce(TOPIC, v, key=key)
        for v, meta in zip(values, self.producer.flush(), strict=True):
            if key is not None:
                assert meta.partition == confluent_kafka.murmur2(key, PARTITIONS)
            assert meta.offset == len(self.model_log[meta.partition]), "offsets must be dense"
            self.model_log[meta.partition].append((key, v))
        self.produced += count

    @precondition(lambda self: len(self.consumers) < MAX_MEMBERS)
    @rule(target=members)
    def join_member(self) -> str:
        self._log("join")
        name = f"m{len(self.delivered)}"
        cfg = ConsumerConfig("g", client_id=name, assignor=self.assignor, session_timeout_ms=SESSION_MS,
                             max_poll_interval_ms=MAX_POLL_MS)
        consumer = self.world.consumer(cfg)
        consumer.subscribe([TOPIC])
        self.consumers[name] = consumer
        self.delivered[name] = {p: set() for p in range(PARTITIONS)}
        return name

    @rule(name=members, max_records=st.sampled_from([1, 3, 10]))
    def poll(self, name: str, max_records: int) -> None:
        self._log("poll")
        records = self.consumers[name].poll(max_records)
        assert len(records) <= max_records
        last: dict[int, int] = {}
        for r in records:
            assert (r.key, r.value) == self.model_log[r.partition][r.offset], "fetched what was produced"
            if r.partition in last:
                assert r.offset == last[r.partition] + 1, "a fetch returns consecutive offsets"
            last[r.partition] = r.offset
            self.delivered[name][r.partition].add(r.offset)

    @rule(name=members)
    def commit(self, name: str) -> None:
        self._log("commit")
        consumer = self.consumers[name]
        positions = {tp.partition: consumer.position(tp) for tp in consumer.assignment()}
        try:
            consumer.commit()
        except CommitFailed:
            return
        for p, pos in positions.items():
            if pos is None:
                continue
            self.model_committed[p] = pos
            self.processed[p].update(o for o in self.delivered[name][p] if o < pos)

    @rule(name=consumes(members))
    def leave_member(self, name: str) -> None:
        self._log("leave")
        self.consumers.pop(name).close()

    @rule(name=consumes(members))
    def crash_member(self, name: str) -> None:
        self._log("crash")
        self.world.faults.crash(self.consumers.pop(name))

    @rule(ms=st.sampled_from([1, 100, 1_000, SESSION_MS, MAX_POLL_MS]))
    def advance_time(self, ms: int) -> None:
        self._log("advance")
        self.world.run_for(ms)

    # ---------------------------------------------------------------- invariants
    @invariant()
    def no_committed_record_is_lost(self) -> None:
        group = self.world.cluster.groups.get("g")
        committed = dict(group.committed) if group else {}
        for (_, p), offset in committed.items():
            missing = [o for o in range(offset) if o not in self.processed[p]]
            assert not missing, f"partition {p}: committed {offset} but offsets {missing[:5]} were never processed"

    @invariant()
    def logs_agree_with_the_model(self) -> None:
        for p in range(PARTITIONS):
            log = self.world.cluster.log(TOPIC, p)
            assert log.offsets == list(range(len(self.model_log[p]))), "offsets dense and increasing"
            assert log.high_watermark == len(self.model_log[p])

    @invariant()
    def committed_offsets_agree_and_lag_is_sane(self) -> None:
        group = self.world.cluster.groups.get("g")
        committed = {p: o for (_, p), o in group.committed.items()} if group else {}
        assert committed == self.model_committed
        for lag in self.admin.lag("g", [TOPIC]):
            assert lag.lag >= 0
            assert lag.committed is None or lag.committed <= lag.end

    @invariant()
    def no_partition_has_two_owners_in_one_generation(self) -> None:
        group = self.world.cluster.groups.get("g")
        if group is None:
            return
        owners: dict[TopicPartition, str] = {}
        for consumer in self.consumers.values():
            if consumer.member_id not in group.members or consumer.generation != group.generation:
                continue
            for tp in consumer.assignment():
                assert tp not in owners, f"{tp} owned by {owners[tp]} and {consumer.member_id}"
                owners[tp] = consumer.member_id


TestLogDifferential = LogDifferential.TestCase


# ---------------------------------------------------------------- planted bug


class CommitsPositionsOfExpiredMembers(Group):
    """Planted bug: when a crashed member's session expires, its fetch positions are committed, as if
    everything it fetched had been processed (a 'forgot to rewind to the committed offset' bug)."""

    def on_member_removed(self, member, reason: str) -> None:
        skipped = {tp: pos for tp, pos in (member.positions or {}).items() if pos > self.committed.get(tp, 0)}
        if reason == "session_timeout" and skipped:
            self.store(skipped, member.member_id)


class BuggyLogDifferential(LogDifferential):
    def make_world(self) -> World:
        world = super().make_world()
        world.cluster.group_class = CommitsPositionsOfExpiredMembers
        return world


def test_planted_crash_rewind_bug_is_found_and_shrunk() -> None:
    with pytest.raises(AssertionError, match="never processed|committed"):
        run_state_machine_as_test(
            BuggyLogDifferential,
            settings=settings(max_examples=1_000, derandomize=True, database=None, deadline=None,
                              suppress_health_check=list(HealthCheck), print_blob=False,
                              report_multiple_bugs=False),
        )
    shrunk = BuggyLogDifferential.steps_of_last_run
    # at heart: join, produce, poll, crash, advance past the session timeout.
    assert {"join", "produce", "poll", "crash", "advance"} <= set(shrunk)
    assert len(shrunk) <= 8, shrunk
