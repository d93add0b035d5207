"""The live console: what the page shows, read again and again through the broker port.

One code path for both worlds. What differs is handed in as a ``Gate``: how to hold the world while
reading it (the simulator is single-threaded: its driver's lock; a real broker: a lock of our own),
how long one read may wait, and the world's clock (virtual or wall) for lag in time and the charts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import Any, Protocol

from scenarios.console import views
from scenarios.ops import dlq
from scenarios.ops.browse import TopicTail
from scenarios.ops.groups import GroupWatch, behind_ms
from services.ports import Broker, BrokerError, Record

CONSOLE_GROUP = "kafkalab-console"


@dataclass(frozen=True)
class Gate:
    hold: Callable[[], AbstractContextManager[Any]]
    patience: Callable[[], Callable[[], bool]]  # a fresh "go on?" for one read
    now_ms: Callable[[], int]


class LabPanel(Protocol):
    """The current lab as the learner left it: its task, its last check, the next hint."""

    def view(self) -> dict[str, Any] | None: ...

    def check(self) -> None:
        """Check the learner's settings now (in the background); ``view`` shows it when done."""


class Refused(Exception):
    """An action the console will not do (the loop guard, a letter sent back already): a 409."""


class LiveConsole:
    def __init__(self, broker: Broker, gate: Gate, *, mode: str, prefix: str = "", title: str = "kafkalab",
                 max_redrives: int = dlq.DEFAULT_MAX_REDRIVES, lab: LabPanel | None = None,
                 reader: Any = None) -> None:
        self.mode, self.prefix, self.title = mode, prefix, title
        self.reader = reader  # a registry's WireReader: Avro values shown as records (None: schema id + hex)
        self.max_redrives = max_redrives
        self.lab = lab
        self._broker = broker
        self._gate = gate
        self._tail = TopicTail(broker, f"{prefix}{CONSOLE_GROUP}", self._ours)
        self._admin: Any = None
        self._watch = GroupWatch(self._get_admin, gate.now_ms, self._our_group, self._logical_group)
        self._producer: Any = None
        self._lock = threading.Lock()  # guards what the page reads
        self._reading = threading.RLock()  # one refresh or redrive at a time
        self._consumed: dict[str, list[tuple[str, dict[int, int]]]] = {}
        self._records: list[Record] = []
        self._snapshot: dict[str, Any] = {"ready": False}
        self._redriven: set[str] = set()
        self._error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ names
    def _ours(self, topic: str) -> bool:
        return topic.startswith(self.prefix) and not topic.startswith("__")

    def _our_group(self, group: str) -> bool:
        return group.startswith(self.prefix) and not group.endswith(CONSOLE_GROUP) and "kafkalab-" not in group

    def _logical(self, topic: str) -> str:
        return topic.removeprefix(self.prefix)

    def _logical_group(self, name: str) -> str:
        return self._logical(name)

    def _get_admin(self) -> Any:
        if self._admin is None:
            self._admin = self._broker.admin()
        return self._admin

    # ------------------------------------------------------------ reading
    def refresh(self) -> None:
        """Read what is new and build the snapshot the page polls."""
        with self._reading:
            self._refresh()

    def _refresh(self) -> None:
        try:
            with self._gate.hold():
                self._tail.refresh(self._gate.patience())
                self._watch.sample()
                now = self._gate.now_ms()
        except BrokerError as exc:
            with self._lock:
                self._error = f"the broker did not answer: {exc}"
                self._snapshot = {**self._snapshot, "error": self._error}
            return
        records = [r if not self.prefix else replace(r, topic=self._logical(r.topic)) for r in self._tail.all_records()]
        snapshot = self._build(records, now)
        consumed = self._consumers()
        with self._lock:
            self._records, self._snapshot, self._error, self._consumed = records, snapshot, None, consumed

    def _build(self, records: list[Record], now: int) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for r in records:
            counts[r.topic] = counts.get(r.topic, 0) + 1
        offsets = [replace(o, topic=self._logical(o.topic)) for o in self._tail.offsets.values()]
        by_tp = self._tail.records
        groups = []
        for name, h in sorted(self._watch.groups.items()):
            desc = h.last
            groups.append({
                "group": self._logical(name), "state": desc.state if desc else "?",
                "protocol": desc.protocol if desc else "",
                "members": [{"member": m.member_id, "client": m.client_id, "instance": m.group_instance_id,
                             "assignment": [f"{self._logical(tp.topic)}[{tp.partition}]" for tp in m.assignment]}
                            for m in (desc.members if desc else ())],
                "partitions": [{"topic": self._logical(p.topic), "partition": p.partition, "committed": p.committed,
                                "end": p.end, "lag": p.lag, "behindMs": behind_ms(p, by_tp, now)}
                               for p in h.partitions],
                "timesMs": list(h.times_ms), "series": views.lag_series(h.times_ms, h.lags),
                "rebalances": [{"atMs": t, "text": text} for t, text in h.rebalances],
            })
        return {"ready": True, "mode": self.mode, "title": self.title, "nowMs": now,
                "elapsedMs": now - self._watch.started_ms, "maxRedrives": self.max_redrives,
                "topics": views.topics_view(offsets, counts), "groups": groups,
                "sagas": views.correlation_ids(records)[:200],
                "dlq": views.dlq_view(records, self._redriven, self.max_redrives, self.prefix),
                "lab": self.lab.view() if self.lab else None, "error": self._error}

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return self._snapshot

    def _consumers(self) -> dict[str, list[tuple[str, dict[int, int]]]]:
        found: dict[str, dict[str, dict[int, int]]] = {}
        for name, h in self._watch.groups.items():
            for p in h.partitions:
                found.setdefault(self._logical(p.topic), {}).setdefault(self._logical(name), {})[p.partition] = \
                    p.committed or 0
        return {t: sorted(gs.items()) for t, gs in found.items()}

    def messages(self, topic: str | None, header: str | None, value: str | None) -> dict[str, Any]:
        with self._lock:
            records = self._records
            topics = [t["name"] for t in self._snapshot.get("topics", [])]
        return views.messages_view(records, topics, topic=topic, header=header, value=value, reader=self.reader)

    def saga(self, correlation_id: str) -> dict[str, Any]:
        with self._lock:
            records, consumed = self._records, self._consumed
        return views.saga_view(records, correlation_id, consumed, self.prefix)

    # ------------------------------------------------------------ acting
    def redrive(self, topic: str | None, partition: int | None, offset: int | None) -> dict[str, Any]:
        """Send one dead letter (or every one not sent back yet) to its source topic, loop guard on."""
        with self._lock:
            letters = [r for r in self._records if r.topic.endswith(".dlq")]
        if topic is not None:
            where = f"{topic}[{partition}]@{offset}"
            letters = [r for r in letters if (r.topic, r.partition, r.offset) == (topic, partition, offset)]
            if not letters:
                raise views.ViewError(f"no dead letter at {where}: it is gone (deleted, or never there); "
                                      "redrive one from the list")
            if where in self._redriven:
                raise Refused(f"{where} was sent back already; redrive the dead letter its copy became")
            try:
                dlq.redrive_of(letters[0], self.max_redrives)
            except dlq.RedriveRefused as exc:
                raise Refused(f"loop guard: {str(exc).replace(self.prefix, '') if self.prefix else exc}") from None
        else:
            letters = [r for r in letters if f"{r.topic}[{r.partition}]@{r.offset}" not in self._redriven]
        physical = [replace(r, topic=self.prefix + r.topic) for r in letters]
        with self._reading, self._gate.hold():
            if self._producer is None:
                self._producer = self._broker.producer()
            sent, refused = dlq.redrive(self._producer, physical, self.max_redrives)
        refused_at = {line.split(" ")[0] for line in refused}
        for r in physical:
            if f"{r.topic}[{r.partition}]@{r.offset}" not in refused_at:
                self._redriven.add(f"{self._logical(r.topic)}[{r.partition}]@{r.offset}")
        self.refresh()
        return {"sent": len(sent), "refused": [line.replace(self.prefix, "") for line in refused]}

    # ------------------------------------------------------------ running
    def start(self, every_s: float) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                self.refresh()
                self._stop.wait(every_s)

        self.refresh()
        self._thread = threading.Thread(target=loop, name="kafkalab-console", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._reading, self._gate.hold():
            self._tail.close()
            if self._producer is not None:
                self._producer.close()
