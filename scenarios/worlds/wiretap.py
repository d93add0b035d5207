"""The services' broker as the world observes it: rebalances and redeliveries, in either world; and
the crash fault point (an instance dies after handling a batch, before committing it).

Wraps the broker port without changing what it does: each consumer's ``subscribe`` gets assignment
callbacks (the simulator calls them inside poll, confluent-kafka inside poll too), and ``poll``
notes offsets a group is handed again. Everything else passes through (fault injection still
reaches the simulated client underneath).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from scenarios.engine.observation import Rebalance
from services.ports import Broker, ConsumerConfig, ProducerConfig, Record, TopicPartition


class Killed(Exception):
    """The instance's process dies here: after handling and publishing a batch, before committing it."""


class Wiretap:
    """What every consumer of the world saw. Thread-safe: kafka-world instances run in threads."""

    def __init__(self, now_ms: Callable[[], int], group_name: Callable[[str], str] = str) -> None:
        self.now_ms = now_ms
        self.group_name = group_name  # physical group id -> the one people read (no run prefix)
        self.rebalances: list[Rebalance] = []
        self.redeliveries: dict[str, int] = {}
        self.joined: list[tuple[int, str, str]] = []  # (at_ms, group, member) per subscribe
        self._seen: dict[str, dict[tuple[str, int], int]] = {}  # group -> partition -> highest offset + 1
        self.acked: dict[str, set[str]] = {}  # topic -> event ids of records the broker acknowledged
        self.produce_errors: list[str] = []  # the first refusal of each kind, as the producer was told
        self._lock = threading.Lock()

    def delivered(self, topic: str, event_id: str | None, error: BaseException | None, offset: int | None) -> None:
        with self._lock:
            if error is not None:
                kind = type(error).__name__
                if len(self.produce_errors) < 20 and not any(e.startswith(kind + ":") for e in self.produce_errors):
                    self.produce_errors.append(f"{kind}: {error}")
            elif event_id is not None and offset is not None:  # acks=0: no offset, nothing acknowledged
                self.acked.setdefault(topic, set()).add(event_id)

    def assigned(self, group: str, member: str, assigned: Sequence[TopicPartition],
                 revoked: Sequence[TopicPartition], *, first: bool = False, closing: bool = False) -> None:
        with self._lock:
            self.rebalances.append(Rebalance(self.now_ms(), self.group_name(group), member,
                                             tuple(map(str, assigned)), tuple(map(str, revoked)), first, closing))

    def subscribed(self, group: str, member: str) -> None:
        with self._lock:
            self.joined.append((self.now_ms(), self.group_name(group), member))

    def polled(self, group: str, records: Sequence[Record]) -> None:
        with self._lock:
            seen = self._seen.setdefault(group, {})
            again = 0
            for r in records:
                key = (r.topic, r.partition)
                if r.offset < seen.get(key, 0):
                    again += 1
                else:
                    seen[key] = r.offset + 1
            if again:
                name = self.group_name(group)
                self.redeliveries[name] = self.redeliveries.get(name, 0) + again


class TappedConsumer:
    def __init__(self, inner: Any, tap: Wiretap, config: ConsumerConfig) -> None:
        self._inner = inner
        self._tap = tap
        self._config = config
        self._armed = False
        self._assigned_once = False
        self._closing = False

    def close(self) -> None:
        self._closing = True  # what it gives up now is its own leaving, not a rebalance
        self._inner.close()

    def arm_crash(self) -> None:
        """A crash fault: the next commit does not happen; the process dies there instead."""
        self._armed = True

    def commit(self, offsets: Any = None) -> None:
        if self._armed:
            raise Killed(self._config.client_id)
        self._inner.commit(offsets)

    def fault_point(self) -> None:
        """Where a component that commits some other way (in a transaction) would commit: an armed
        crash lands here."""
        if self._armed:
            raise Killed(self._config.client_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def subscribe(self, topics: Sequence[str], *, on_assign: Any = None, on_revoke: Any = None) -> None:
        group, member = self._config.group_id, self._config.client_id

        def assigned(partitions: list[TopicPartition]) -> None:
            first = not self._assigned_once  # until it holds something: a join, not a rebalance of the others
            self._assigned_once = self._assigned_once or bool(partitions)
            self._tap.assigned(group, member, partitions, (), first=first)
            if on_assign is not None:
                on_assign(partitions)

        def revoked(partitions: list[TopicPartition]) -> None:
            self._tap.assigned(group, member, (), partitions, closing=self._closing)
            if on_revoke is not None:
                on_revoke(partitions)

        self._inner.subscribe(topics, on_assign=assigned, on_revoke=revoked)
        self._tap.subscribed(group, member)

    def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Record]:
        records = self._inner.poll(max_records, timeout)
        if records:
            self._tap.polled(self._config.group_id, records)
        return records


class TappedProducer:
    """A producer whose delivery reports also go to the tap (which records the broker acknowledged)."""

    def __init__(self, inner: Any, tap: Wiretap) -> None:
        self._inner = inner
        self._tap = tap

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def produce(self, topic: str, value: bytes | None, *, key: bytes | None = None, headers: Any = (),
                partition: int | None = None, timestamp: int | None = None, on_delivery: Any = None) -> None:
        event_id = next((v.decode(errors="replace") for k, v in headers if k == "event-id" and v is not None), None)

        def delivered(error: Any, metadata: Any) -> None:
            self._tap.delivered(topic, event_id, error, metadata.offset)
            if on_delivery is not None:
                on_delivery(error, metadata)

        self._inner.produce(topic, value, key=key, headers=headers, partition=partition, timestamp=timestamp,
                            on_delivery=delivered)


class TappedBroker:
    """``services.ports.Broker`` whose consumers and producers report to ``tap``."""

    def __init__(self, inner: Broker, tap: Wiretap) -> None:
        self.inner = inner
        self.tap = tap

    def producer(self, config: ProducerConfig | None = None) -> Any:
        return TappedProducer(self.inner.producer(config), self.tap)

    def consumer(self, config: ConsumerConfig) -> Any:
        return TappedConsumer(self.inner.consumer(config), self.tap, config)

    def admin(self) -> Any:
        return self.inner.admin()
