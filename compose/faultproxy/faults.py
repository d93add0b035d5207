"""What the fault proxy does to each frame: the armed faults, the decisions, and the record of both.

Pure and thread-safe: no sockets here, the clock is passed in. The proxy asks :meth:`FaultState.on_request`
about every request it reads and :meth:`FaultState.on_response` about every response, and applies
the verdict; a lab (or the control channel) arms and heals faults from another thread.

A response fault is decided when its *request* passes, so "the next N Produce requests" means the next
N sent after the fault was armed, whatever order their responses come back in.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from compose.faultproxy.wire import ProduceInfo, RequestHeader, api_name

DIRECTIONS = ("both", "to_broker", "to_client")
ISOLATION_MODES = ("blackhole", "cut")
MAX_EVENTS = 1000  # the report keeps the latest ones; counts cover all


@dataclass(slots=True)
class ResponseRule:
    """Drop or delay the responses to the next ``remaining`` matching requests."""

    fault: str  # the name it was armed by: lose_ack, delay_ack, drop_responses, delay_responses
    action: str  # "drop" | "delay"
    api_key: int
    remaining: int
    delay_ms: int = 0
    client_id: str | None = None
    topic: str | None = None

    def matches(self, header: RequestHeader, produce: ProduceInfo | None) -> bool:
        if header.api_key != self.api_key or self.remaining <= 0:
            return False
        if self.client_id is not None and header.client_id != self.client_id:
            return False
        return self.topic is None or bool(produce and self.topic in produce.topics)

    def to_dict(self) -> dict:
        found = {"fault": self.fault, "response": self.action, "api": api_name(self.api_key),
                 "remaining": self.remaining}
        if self.action == "delay":
            found["delay_ms"] = self.delay_ms
        found.update({k: v for k, v in (("client_id", self.client_id), ("topic", self.topic)) if v is not None})
        return found


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    node: int
    connection: int  # the proxy's own connection number
    client_id: str | None  # learnt from the connection's first request


@dataclass(frozen=True, slots=True)
class RequestVerdict:
    action: str  # "forward" | "swallow" (blackholed: never reaches the broker) | "cut"
    delay_s: float = 0.0  # before it reaches the broker
    expects_response: bool = True
    response: str = "pass"  # "pass" | "drop" | "delay"
    response_extra_s: float = 0.0  # a delay fault's hold, on top of the latency when the response comes
    fault: str | None = None  # which fault decided the response's fate


@dataclass(slots=True)
class InFlight:
    """A forwarded request whose response has not come back yet."""

    header: RequestHeader
    verdict: RequestVerdict
    topics: tuple[str, ...] = ()


@dataclass(slots=True)
class _Armed:
    rules: list[ResponseRule] = field(default_factory=list)
    down_until: dict[int | None, float] = field(default_factory=dict)  # node (None: all) -> monotonic
    latency_s: dict[str, float] = field(default_factory=lambda: {"to_broker": 0.0, "to_client": 0.0})
    isolated: dict[str, str] = field(default_factory=dict)  # client id -> mode


class FaultState:
    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 on_event: Callable[[dict], None] | None = None) -> None:
        self._clock = clock
        self._started = clock()
        self._lock = threading.Lock()
        self._armed = _Armed()
        self._events: deque[dict] = deque(maxlen=MAX_EVENTS)
        self._counts: Counter[str] = Counter()  # what was done, by action: response_dropped, connection_cut, ...
        self._by_fault: Counter[str] = Counter()  # the same, by the fault that did it
        self._traffic: Counter[str] = Counter()
        self._seq = 0
        self._on_event = on_event

    # ------------------------------------------------------------------ arming (any thread)
    def arm_response_rule(self, rule: ResponseRule) -> None:
        with self._lock:
            self._armed.rules.append(rule)
            self._note_locked(rule.fault, "armed", **{k: v for k, v in rule.to_dict().items() if k != "fault"})

    def broker_down(self, ms: int, node: int | None = None) -> float:
        """Nodes (``None``: all) unavailable for ``ms`` from now; returns the monotonic end."""
        with self._lock:
            until = self._clock() + ms / 1000
            self._armed.down_until[node] = max(until, self._armed.down_until.get(node, 0.0))
            self._note_locked("broker_down", "armed", ms=ms, node=node)
            return until

    def slow_network(self, ms: int, direction: str = "both") -> None:
        with self._lock:
            for side in ("to_broker", "to_client"):
                if direction in ("both", side):
                    self._armed.latency_s[side] = ms / 1000
            self._note_locked("slow_network", "armed", ms=ms, direction=direction)

    def isolate(self, client_id: str, mode: str = "blackhole") -> None:
        with self._lock:
            self._armed.isolated[client_id] = mode
            self._note_locked("isolate", "armed", client_id=client_id, mode=mode)

    def heal(self) -> None:
        with self._lock:
            self._armed = _Armed()
            self._note_locked("heal", "healed")

    # ------------------------------------------------------------------ questions (the proxy's loop)
    def down_nodes(self) -> dict[int | None, float]:
        """Nodes down now (``None``: all) and the monotonic time each comes back; expired ones forgotten."""
        with self._lock:
            now = self._clock()
            self._armed.down_until = {n: t for n, t in self._armed.down_until.items() if t > now}
            return dict(self._armed.down_until)

    def is_down(self, node: int) -> bool:
        down = self.down_nodes()
        return None in down or node in down

    def isolation(self, client_id: str | None) -> str | None:
        with self._lock:
            return self._armed.isolated.get(client_id) if client_id is not None else None

    def on_request(self, conn: ConnectionInfo, header: RequestHeader, produce: ProduceInfo | None) -> RequestVerdict:
        with self._lock:
            expects = not (produce is not None and produce.acks == 0)
            mode = self._armed.isolated.get(header.client_id) if header.client_id is not None else None
            if mode is not None:
                action = "cut" if mode == "cut" else "swallow"
                # (cut: the proxy records the cut itself; this event names the request that revealed the client)
                self._note_request_locked("isolate", "request_refused" if mode == "cut" else "request_blackholed",
                                          conn, header, produce)
                return RequestVerdict(action, expects_response=expects, fault="isolate")
            delay = self._armed.latency_s["to_broker"]
            rule = next((r for r in self._armed.rules if r.matches(header, produce)), None) if expects else None
            if rule is None:
                return RequestVerdict("forward", delay, expects)
            rule.remaining -= 1
            if rule.remaining <= 0:
                self._armed.rules.remove(rule)
            self._note_request_locked(rule.fault, f"request_passed_response_to_{rule.action}", conn, header,
                                      produce, remaining=rule.remaining)
            return RequestVerdict("forward", delay, True, rule.action, rule.delay_ms / 1000, rule.fault)

    def on_response(self, conn: ConnectionInfo, pending: InFlight) -> tuple[bool, float]:
        """(forward?, seconds to hold it) for the response to ``pending``; records what it does."""
        verdict = pending.verdict
        with self._lock:
            if conn.client_id is not None and self._armed.isolated.get(conn.client_id) == "blackhole":
                self._note_request_locked("isolate", "response_blackholed", conn, pending.header, None)
                return False, 0.0
            latency = self._armed.latency_s["to_client"]  # now, not when the request passed: heal is immediate
            if verdict.response == "drop":
                self._note_request_locked(verdict.fault or "", "response_dropped", conn, pending.header, None,
                                          topics=list(pending.topics))
                return False, 0.0
            if verdict.response == "delay":
                self._note_request_locked(verdict.fault or "", "response_delayed", conn, pending.header, None,
                                          delay_ms=round(verdict.response_extra_s * 1000),
                                          topics=list(pending.topics))
                return True, latency + verdict.response_extra_s
            return True, latency

    # ------------------------------------------------------------------ the record
    def note(self, fault: str, action: str, **detail) -> None:
        """Record something the proxy did on a fault's behalf (a cut connection, a closed listener)."""
        with self._lock:
            self._note_locked(fault, action, **detail)

    def count(self, name: str, n: int = 1) -> None:
        """Traffic figures (connections, frames, bytes): reported, not events."""
        with self._lock:
            self._traffic[name] += n

    def report(self) -> dict:
        with self._lock:
            now = self._clock()
            armed = self._armed
            return {
                "active": {
                    "responses": [rule.to_dict() for rule in armed.rules],
                    "broker_down": [{"node": n, "remaining_ms": round((t - now) * 1000)}
                                    for n, t in armed.down_until.items() if t > now],
                    "latency_ms": {side: round(s * 1000) for side, s in armed.latency_s.items()},
                    "isolated": dict(armed.isolated),
                },
                "counts": dict(self._counts),
                "by_fault": dict(self._by_fault),
                "traffic": dict(self._traffic),
                "events": list(self._events),
            }

    def _note_request_locked(self, fault: str, action: str, conn: ConnectionInfo, header: RequestHeader,
                             produce: ProduceInfo | None, **extra) -> None:
        detail = {"node": conn.node, "connection": conn.connection, "api": header.api,
                  "api_key": header.api_key, "api_version": header.api_version,
                  "correlation_id": header.correlation_id, "client_id": header.client_id}
        if produce is not None:
            detail["topics"] = list(produce.topics)
        detail.update(extra)
        self._note_locked(fault, action, **detail)

    def _note_locked(self, fault: str, action: str, **detail) -> None:
        self._seq += 1
        event = {"seq": self._seq, "t": round(self._clock() - self._started, 3), "fault": fault,
                 "action": action, **detail}
        self._events.append(event)
        if action != "armed":
            self._counts[action] += 1
            self._by_fault[fault] += 1
        if self._on_event is not None:
            self._on_event(event)
