"""The exactly-once lab's own components, built from the broker port like the shop's services.

- ``payer``: writes ``count`` payment events (one per step, each flushed) to ``payment-events``; each
  carries its event id and the producer's own sequence number (``producer-seq``) as headers.
- ``ledger``: consume-process-produce. Reads payments, books one ledger entry per payment, and either
  produces then commits its input offsets separately, or does all of it in one Kafka transaction
  (``transactional.id``, ``send_offsets_to_transaction``). Its crash fault point is between the
  produce and the commit. A crashed transactional instance leaves its producer behind, transaction
  still open: the zombie. Its replacement (same transactional id) fences it; once the replacement has
  committed, the zombie wakes and tries to commit, and the broker refuses it by epoch.
- ``auditor``: the downstream reader of the ledger, with the isolation level the learner chose.

Everything they see goes into ``Ports.notes`` for the checker (scenarios.labs.exactly_once.tally).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from scenarios.engine.components import Ports
from services.ports import (
    BrokerError,
    ConsumerConfig,
    ProducerConfig,
    ProducerFenced,
    Record,
    TopicPartition,
)

PAYMENTS, LEDGER = "payment-events", "ledger"
SESSION_TIMEOUT_MS = 10_000
BATCH = 4  # records the ledger books per transaction
ZOMBIES = "zombies"  # Ports.shared key: transactional id -> (producer, attempt) of a crashed instance


def header(record: Record, name: str) -> str:
    value = record.header(name)
    return value.decode("utf-8", "replace") if value is not None else ""


def is_fenced(exc: BaseException) -> bool:
    return isinstance(exc, ProducerFenced) or "fenced" in str(exc).lower() or "epoch" in str(exc).lower()


class _Part:
    """What every component shares: names, notes, no consumer until it makes one."""

    def __init__(self, part: Ports) -> None:
        self.part = part
        self.name, self.index = part.name, part.index
        self.group_id: str | None = None
        self.subscriptions: list[str] = []
        self.consumer: Any = None
        self.producer: Any = None
        self.exited: str | None = None
        self.blocked: dict[tuple[str, int], tuple[int, str]] = {}
        self.polled_empty = False
        self.crashed = False
        self.waits_for_fault_point = True  # an armed crash lands at its fault point, not in an idle step

    def note(self, kind: str, **fields: Any) -> None:
        self.part.notes.append({"kind": kind, "by": self.name, **fields})

    def join(self, group: str, topic: str, isolation: str = "read_committed") -> None:
        self.group_id = self.part.group(group)
        self.subscriptions = [self.part.topic(topic)]
        self.consumer = self.part.broker.consumer(ConsumerConfig(
            group_id=self.group_id, client_id=self.name, session_timeout_ms=SESSION_TIMEOUT_MS,
            isolation_level=isolation))  # type: ignore[arg-type]
        self.consumer.subscribe(self.subscriptions)

    def poll(self, max_records: int) -> list[Record]:
        records = self.consumer.poll(max_records, timeout=self.part.poll_timeout_s)
        self.polled_empty = not records
        return records

    def idle(self) -> bool:
        return self.consumer is not None and self.polled_empty

    def close(self) -> None:
        # Zombies never woken are closed with the phase, by a live instance (a crashed one leaves its own).
        zombies = {} if self.crashed else self.part.shared.pop(ZOMBIES, {})
        for client in (self.consumer, self.producer, *(producer for producer, _ in zombies.values())):
            if client is not None:
                with contextlib.suppress(BrokerError):  # a fenced or crashed instance's client: nothing to say
                    client.close()


class Payer(_Part):
    def __init__(self, part: Ports) -> None:
        super().__init__(part)
        cfg = part.config
        self.count = int(cfg["count"])
        self.topic = part.topic(PAYMENTS)
        self.sent = 0
        self.producer = part.broker.producer(ProducerConfig(
            client_id=self.name, acks=cfg["acks"], enable_idempotence=bool(cfg["idempotence"]), linger_ms=0))

    def step(self) -> int:
        if self.sent >= self.count:
            return 0
        i = self.sent
        event_id, account = f"pay-{i:03d}", f"acct-{i % 4}"
        value = json.dumps({"event_id": event_id, "account": account, "amount_cents": 1_000 + i}).encode()
        self.producer.produce(self.topic, value, key=account.encode(),
                              headers=(("event-id", event_id.encode()), ("producer-seq", str(i).encode())))
        try:
            (meta,) = self.producer.flush(30.0)
        except BrokerError as exc:  # not acked: the application sends it again (at least once)
            self.note("send_failed", event_id=event_id, error=str(exc)[:200])
            return 1
        self.note("sent", event_id=event_id, seq=i, partition=meta.partition, offset=meta.offset)
        self.sent += 1
        return 1

    def idle(self) -> bool:
        return self.sent >= self.count


class Ledger(_Part):
    def __init__(self, part: Ports) -> None:
        super().__init__(part)
        cfg = part.config
        self.transactional = bool(cfg["transactional"])
        self.transactional_id = str(cfg["transactional_id"]).format(instance=part.index) if self.transactional else None
        self.join("ledger", PAYMENTS)
        self.out = part.topic(LEDGER)
        self.attempts = 0
        self.producer = part.broker.producer(ProducerConfig(
            client_id=self.name, enable_idempotence=True, transactional_id=self.transactional_id, linger_ms=0))

    def step(self) -> int:
        if self.exited is not None:
            return 0
        try:
            records = self.poll(BATCH)
        except BrokerError:
            return 1
        if not records:
            return 0
        attempt = f"{self.name}#{self.attempts}"
        self.attempts += 1
        firsts: dict[TopicPartition, int] = {}
        nexts: dict[TopicPartition, int] = {}
        for r in records:
            firsts.setdefault(r.tp, r.offset)
            nexts[r.tp] = r.offset + 1
        try:
            self._book(records, attempt, nexts)
        except BrokerError as exc:
            if is_fenced(exc):
                self.exited = f"fenced: {exc}"
                self.note("fenced", attempt=attempt, transactional_id=self.transactional_id, error=str(exc)[:300])
                return 1
            self._give_back(attempt, firsts, exc)
            return 1
        except Exception:  # the crash fault point: the process dies here
            if self.transactional:  # its transaction stays open on the broker: a zombie
                self.part.shared.setdefault(ZOMBIES, {})[self.transactional_id] = (self.producer, attempt)
                self.producer = None
            self.crashed = True
            self.note("crashed", attempt=attempt, between="produce and commit")
            raise
        self._wake_zombie()
        return len(records)

    def _book(self, records: list[Record], attempt: str, nexts: dict[TopicPartition, int]) -> None:
        producer = self.producer
        if self.transactional:
            producer.begin_transaction()
        for r in records:
            event = json.loads(r.value or b"{}")
            entry = json.dumps({"event_id": event.get("event_id"), "booked_cents": event.get("amount_cents")}).encode()
            producer.produce(self.out, entry, key=r.key, headers=(
                ("event-id", r.header("event-id") or b""), ("attempt", attempt.encode()),
                ("source", f"{r.partition}@{r.offset}".encode())))
        producer.flush(30.0)  # written (in the open transaction, if any)
        self.note("wrote", attempt=attempt, transactional=self.transactional,
                  event_ids=[header(r, "event-id") for r in records])
        if self.transactional:
            self.consumer.fault_point()  # a crash lands between produce and commit
            producer.send_offsets_to_transaction(nexts, self.consumer)
            producer.commit_transaction()
            self.note("committed", attempt=attempt, transactional_id=self.transactional_id)
        else:
            self.consumer.commit(nexts)  # a crash lands here, after the produce: the input is read again

    def _give_back(self, attempt: str, firsts: dict[TopicPartition, int], exc: BrokerError) -> None:
        """The batch did not go through: abort it and read it again."""
        if self.transactional:
            with contextlib.suppress(BrokerError):
                self.producer.abort_transaction()
                self.note("aborted", attempt=attempt, error=str(exc)[:200])
        for tp, offset in firsts.items():
            with contextlib.suppress(BrokerError):  # no longer ours: its next owner reads from the committed offset
                self.consumer.seek(tp, offset)

    def _wake_zombie(self) -> None:
        """Once this instance has committed, a zombie of its transactional id tries to commit its own."""
        zombie = self.part.shared.get(ZOMBIES, {}).pop(self.transactional_id, None) if self.transactional else None
        if zombie is None:
            return
        producer, attempt = zombie
        try:
            producer.commit_transaction()
        except BrokerError as exc:
            self.note("zombie_fenced", attempt=attempt, transactional_id=self.transactional_id, fenced=is_fenced(exc),
                      error=str(exc)[:300])
        else:
            self.note("zombie_committed", attempt=attempt, transactional_id=self.transactional_id)
        finally:
            with contextlib.suppress(BrokerError):
                producer.close()


class Auditor(_Part):
    def __init__(self, part: Ports) -> None:
        super().__init__(part)
        self.isolation = str(part.config["isolation_level"])
        self.join("audit", LEDGER, self.isolation)

    def step(self) -> int:
        try:
            records = self.poll(500)
        except BrokerError:
            return 1
        for r in records:
            self.note("read", event_id=header(r, "event-id"), attempt=header(r, "attempt"), partition=r.partition,
                      offset=r.offset, isolation=self.isolation)
        if records:
            # The position, past a transaction's marker, so the group's lag comes back to 0. A failed commit
            # means reading again after a rebalance: the checker counts reads per offset, not per read.
            with contextlib.suppress(BrokerError):
                self.consumer.commit({tp: pos for tp in self.consumer.assignment()
                                      if (pos := self.consumer.position(tp)) is not None})
        return len(records)
