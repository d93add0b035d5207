"""The harness under the broker contract: per-leg hooks, unique names, and polling with a deadline.

A leg (``test_broker_sim.py``, ``test_broker_kafka.py``) subclasses ``BrokerContract`` and provides:

- ``make_broker()``: a fresh Broker;
- ``tick()``: let the world move between polls (sim: advance virtual time and run it; kafka: nothing,
  the poll timeout already lets real time pass);
- ``crash(consumer)``: the member disappears without committing;
- ``now_ms()``: the world's clock (record timestamps are set from it);
- ``poll_timeout_s`` / ``deadline_s``: how long one poll blocks and how long any wait may take.

Every case uses fresh topic and group names, and waits by polling with a deadline, never by sleeping.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Sequence

import pytest

from services.ports import (
    Broker,
    BrokerError,
    Consumer,
    ConsumerConfig,
    Producer,
    ProducerConfig,
    Record,
    TopicPartition,
    TopicSpec,
)

Collected = list[list[Record]]


class ContractHarness:
    """Hooks a leg overrides, plus the helpers every case uses."""

    poll_timeout_s: float = 0.2
    deadline_s: float = 30.0

    # ------------------------------------------------------------ hooks

    def make_broker(self) -> Broker:
        raise NotImplementedError

    def leg_setup(self, request: pytest.FixtureRequest) -> None:
        """Per-test preparation a leg needs before ``make_broker`` (e.g. fetch a fixture)."""

    def tick(self) -> None:
        """Let the world move between polls."""

    def settle(self) -> None:
        """Let in-flight work finish (sim: run until idle)."""

    def crash(self, consumer: Consumer) -> None:
        raise NotImplementedError

    def now_ms(self) -> int:
        """The world's clock in ms since the epoch (the sim's virtual clock starts at a fixed date)."""
        raise NotImplementedError

    # ------------------------------------------------------------ fixture

    @pytest.fixture(autouse=True)
    def _contract_clients(self, request: pytest.FixtureRequest):
        self.leg_setup(request)
        self.broker = self.make_broker()
        self.admin = self.broker.admin()
        self._closers: list[Callable[[], None]] = []
        yield
        for close in reversed(self._closers):
            with contextlib.suppress(Exception):  # teardown must close everything it can
                close()

    # ------------------------------------------------------------ helpers

    @staticmethod
    def unique(name: str) -> str:
        return f"contract-{name}-{uuid.uuid4().hex[:10]}"

    def topic(self, name: str, partitions: int = 1, **config: str) -> str:
        """A fresh topic; ``config`` with underscores for dots (segment_ms="100")."""
        topic = self.unique(name)
        settings = {k.replace("_", "."): v for k, v in config.items()}
        self.admin.create_topics([TopicSpec(topic, partitions=partitions, config=settings)])
        return topic

    @staticmethod
    def tp(topic: str, partition: int = 0) -> TopicPartition:
        return TopicPartition(topic, partition)

    def producer(self, config: ProducerConfig | None = None) -> Producer:
        producer = self.broker.producer(config)
        self._closers.append(producer.close)
        return producer

    def consumer_config(self, group: str, **overrides: object) -> ConsumerConfig:
        settings: dict[str, object] = {
            "group_id": group,
            "client_id": "contract",
            "auto_offset_reset": "earliest",
            "session_timeout_ms": 6_000,
            "heartbeat_interval_ms": 1_000,
            "max_poll_interval_ms": 30_000,
        }
        settings.update(overrides)
        return ConsumerConfig(**settings)  # type: ignore[arg-type]

    def consumer(self, group: str, topics: Sequence[str] = (), **overrides: object) -> Consumer:
        consumer = self.broker.consumer(self.consumer_config(group, **overrides))
        self._closers.append(consumer.close)
        if topics:
            consumer.subscribe(list(topics))
        return consumer

    def produce(
        self,
        producer: Producer,
        topic: str,
        values: Sequence[bytes],
        *,
        key: bytes | None = None,
        partition: int | None = None,
    ) -> None:
        for value in values:
            producer.produce(topic, value, key=key, partition=partition)
        producer.flush()
        self.settle()

    def drive(
        self,
        consumers: Sequence[Consumer],
        until: Callable[[Collected], bool],
        *,
        what: str,
        deadline_s: float | None = None,
    ) -> Collected:
        """Poll every consumer in turn until ``until(collected)`` holds; fail with ``what`` at the deadline."""
        collected: Collected = [[] for _ in consumers]
        deadline = time.monotonic() + (deadline_s or self.deadline_s)
        while True:
            for records, consumer in zip(collected, consumers, strict=True):
                records.extend(consumer.poll(max_records=500, timeout=self.poll_timeout_s))
            if until(collected):
                return collected
            if time.monotonic() > deadline:
                seen = [len(r) for r in collected]
                owned = [[str(tp) for tp in c.assignment()] for c in consumers]
                pytest.fail(f"timed out waiting for {what}: records per consumer {seen}, assignments {owned}")
            self.tick()

    def poll_until(self, consumer: Consumer, n: int, deadline_s: float | None = None) -> list[Record]:
        """At least ``n`` records from ``consumer`` (all it returned, in order)."""
        return self.drive(
            [consumer], lambda got: len(got[0]) >= n, what=f"{n} records", deadline_s=deadline_s
        )[0]

    def eventually(self, check: Callable[[], None], *, what: str, deadline_s: float | None = None,
                   retry_on: tuple[type[BaseException], ...] = (AssertionError,)) -> None:
        """Retry ``check`` (which asserts) until it passes: for state a broker makes visible asynchronously."""
        deadline = time.monotonic() + (deadline_s or self.deadline_s)
        while True:
            try:
                check()
                return
            except retry_on as exc:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{what}: still failing at the deadline: {exc}") from exc
            self.tick()
            time.sleep(self.poll_timeout_s)  # nothing to poll here; a short pause between admin queries

    def _committed(self, group: str, expected: dict) -> None:
        """An assertion for ``eventually``: the group's committed offsets are ``expected``."""
        assert self.admin.committed_offsets(group) == expected

    def poll_until_raises(self, consumer: Consumer, *, what: str,
                          between: Callable[[], object] | None = None) -> BrokerError:
        """Poll until ``poll`` raises a port error (calling ``between`` before each poll); return it."""
        raised: list[BrokerError] = []

        def attempt(_: object) -> bool:
            if between is not None:
                between()
            try:
                consumer.poll(timeout=self.poll_timeout_s)
            except BrokerError as exc:
                raised.append(exc)
            return bool(raised)

        self.drive([], attempt, what=what)
        return raised[0]

    def poll_until_assigned(self, consumer: Consumer, count: int) -> list[Record]:
        return self.drive(
            [consumer],
            lambda _: len(consumer.assignment()) == count,
            what=f"an assignment of {count} partitions",
        )[0]


def positions(records: Sequence[Record]) -> list[tuple[int, int]]:
    return [(r.partition, r.offset) for r in records]


def by_partition(records: Sequence[Record]) -> dict[int, list[Record]]:
    grouped: dict[int, list[Record]] = {}
    for record in records:
        grouped.setdefault(record.partition, []).append(record)
    return grouped


def tps(topic: str, partitions: range | Sequence[int]) -> list[TopicPartition]:
    return [TopicPartition(topic, p) for p in partitions]


def assert_equal(actual: object, expected: object) -> None:
    """An assertion usable inside ``eventually(lambda: ...)``."""
    assert actual == expected, f"{actual!r} != {expected!r}"
