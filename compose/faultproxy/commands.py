"""The fault commands, named like the simulator's story steps, and the checks on their arguments.

The in-process :class:`~compose.faultproxy.proxy.FaultProxy` and the control-channel
:class:`~compose.faultproxy.control.FaultProxyClient` share :class:`FaultCommands`, so a lab's Kafka world
drives either the same way — ``proxy.lose_ack(topic=...)`` or ``proxy.command(step.op, **step.args)``.
Arguments are checked where the command runs (:func:`validate`), so bad input from a lab, the CLI or a
raw control message gets the same one-line error and changes nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from compose.faultproxy.faults import DIRECTIONS, ISOLATION_MODES
from compose.faultproxy.wire import PRODUCE, api_key_of

MAX_MS = 3_600_000  # an hour: longer is a typo, not a lab
MAX_COUNT = 1_000_000

# op -> {argument: default}; a default of ... means required.
COMMANDS: dict[str, dict[str, Any]] = {
    "lose_ack": {"count": 1, "client_id": None, "topic": None},
    "delay_ack": {"ms": ..., "count": 1, "client_id": None, "topic": None},
    "drop_responses": {"api": ..., "count": 1, "client_id": None},
    "delay_responses": {"api": ..., "ms": ..., "count": 1, "client_id": None},
    "broker_down": {"ms": ..., "node": None},
    "slow_network": {"ms": ..., "direction": "both"},
    "isolate": {"client_id": ..., "mode": "blackhole"},
    "heal": {},
    "report": {},
}


class FaultProxyError(RuntimeError):
    """A fault proxy could not start, or a fault command was refused; the message says why."""


def validate(op: str, args: dict[str, Any], nodes: Collection[int]) -> dict[str, Any]:
    """``args`` with defaults filled in and types checked, or FaultProxyError naming the bad field."""
    if op not in COMMANDS:
        raise FaultProxyError(f"unknown fault {op!r}; known: {', '.join(COMMANDS)}")
    spec = COMMANDS[op]
    unknown = sorted(set(args) - set(spec))
    if unknown:
        raise FaultProxyError(f"{op}: unknown argument(s) {', '.join(unknown)}; it takes {', '.join(spec) or 'none'}")
    values = {name: args.get(name, default) for name, default in spec.items()}
    missing = [name for name, value in values.items() if value is ...]
    if missing:
        raise FaultProxyError(f"{op}: missing {', '.join(missing)}")
    if "count" in values:
        values["count"] = _int(op, "count", values["count"], 1, MAX_COUNT)
    if "ms" in values:
        values["ms"] = _int(op, "ms", values["ms"], 0 if op == "slow_network" else 1, MAX_MS)
    for name in ("client_id", "topic"):
        if name in values and values[name] is not None:
            values[name] = _text(op, name, values[name])
    if "api" in values:
        try:
            values["api"] = api_key_of(values["api"])
        except ValueError as exc:
            raise FaultProxyError(f"{op}: {exc}") from None
    if values.get("node") is not None:
        values["node"] = _int(op, "node", values["node"], 1, 10_000)
        if values["node"] not in nodes:
            raise FaultProxyError(f"{op}: no node {values['node']} behind this proxy (nodes: {sorted(nodes)})")
    if op == "slow_network" and values["direction"] not in DIRECTIONS:
        raise FaultProxyError(f"slow_network: direction must be one of {', '.join(DIRECTIONS)}")
    if op == "isolate" and values["mode"] not in ISOLATION_MODES:
        raise FaultProxyError(f"isolate: mode must be one of {', '.join(ISOLATION_MODES)}")
    return values


def _int(op: str, name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise FaultProxyError(f"{op}: {name} must be a whole number, not {value!r}")
    try:
        number = int(value)
    except ValueError:
        raise FaultProxyError(f"{op}: {name} must be a whole number, not {value!r}") from None
    if not low <= number <= high:
        raise FaultProxyError(f"{op}: {name} must be between {low} and {high}, not {number}")
    return number


def _text(op: str, name: str, value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 255:
        raise FaultProxyError(f"{op}: {name} must be a non-empty string of at most 255 characters")
    return value


class FaultCommands:
    """One method per fault; subclasses provide :meth:`command` (run here, or over the control channel)."""

    def command(self, op: str, **args: Any) -> dict[str, Any]:
        raise NotImplementedError

    def lose_ack(self, count: int = 1, *, client_id: str | None = None, topic: str | None = None) -> dict:
        """Forward the next ``count`` Produce requests (so the broker writes them) but drop their responses."""
        return self.command("lose_ack", count=count, client_id=client_id, topic=topic)

    def delay_ack(self, ms: int, count: int = 1, *, client_id: str | None = None, topic: str | None = None) -> dict:
        """Hold the responses to the next ``count`` Produce requests for ``ms``."""
        return self.command("delay_ack", ms=ms, count=count, client_id=client_id, topic=topic)

    def drop_responses(self, api: str | int, count: int = 1, *, client_id: str | None = None) -> dict:
        """Like lose_ack for any API (by name, e.g. "OffsetCommit", or key)."""
        return self.command("drop_responses", api=api, count=count, client_id=client_id)

    def delay_responses(self, api: str | int, ms: int, count: int = 1, *, client_id: str | None = None) -> dict:
        return self.command("delay_responses", api=api, ms=ms, count=count, client_id=client_id)

    def broker_down(self, ms: int, *, node: int | None = None) -> dict:
        """Cut every connection (to ``node``, or all) and refuse new ones for ``ms``."""
        return self.command("broker_down", ms=ms, node=node)

    def slow_network(self, ms: int, *, direction: str = "both") -> dict:
        """Hold every frame ``ms`` each way (or one way: "to_broker", "to_client"); 0 removes the latency."""
        return self.command("slow_network", ms=ms, direction=direction)

    def isolate(self, client_id: str, *, mode: str = "blackhole") -> dict:
        """Partition one client (by client.id): "blackhole" swallows its traffic, "cut" closes its connections."""
        return self.command("isolate", client_id=client_id, mode=mode)

    def heal(self) -> dict:
        """Clear every fault: armed acks, outages (listeners reopen now), latency, isolation."""
        return self.command("heal")

    def report(self) -> dict:
        """Active faults, counts (by action and by fault), traffic, and the latest events."""
        return self.command("report")


def response_rule_args(op: str, values: dict[str, Any]) -> dict[str, Any]:
    """The :class:`~compose.faultproxy.faults.ResponseRule` fields of a response fault command."""
    return {
        "fault": op,
        "action": "drop" if op in ("lose_ack", "drop_responses") else "delay",
        "api_key": values.get("api", PRODUCE),
        "remaining": values["count"],
        "delay_ms": values.get("ms", 0),
        "client_id": values.get("client_id"),
        "topic": values.get("topic"),
    }


RESPONSE_FAULTS = ("lose_ack", "delay_ack", "drop_responses", "delay_responses")
