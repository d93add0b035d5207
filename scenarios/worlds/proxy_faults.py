"""The Kafka world's fault backend: the fault proxy (compose.faultproxy) in front of a private broker.

A phase whose spec says ``network_faults`` gets a broker of its own (so the FAULTY listener is ours and
nobody else's clients meet the faults) and an in-process proxy in front of it; the services' clients
bootstrap at the proxy, the world itself looks directly. Both are servers of the world, so they stop
with the phase, also when it fails. The story's steps map one to one onto the proxy's commands.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from compose.faultproxy import FaultProxy, FaultProxyError
from scenarios.engine.model import Step
from scenarios.engine.world import WorldError

OPS = ("lose_ack", "broker_down", "slow_network", "heal")
# The services' clients behind the proxy give up on an unanswered request after this long and send it
# again (librdkafka's default is 30 s, one lost ack would cost half a minute); the broker answers a
# healthy request in milliseconds.
PROXIED_CLIENT_SETTINGS = {"socket.timeout.ms": 3_000}


class ProxyFaults:
    """``KafkaWorld(fault_backend=...)``: supports(op) and apply(step), over one FaultProxy."""

    def __init__(self, proxy: Any, physical: Callable[[str], str]) -> None:
        self.proxy = proxy
        self.physical = physical  # the story's topic names -> this run's

    @classmethod
    def start(cls, port_offset: int, physical: Callable[[str], str]) -> ProxyFaults:
        """An in-process proxy for the single-node cluster at ``port_offset``, listening once this returns."""
        return cls(FaultProxy.for_cluster(1, port_offset).start(), physical)

    @property
    def bootstrap(self) -> str:
        return self.proxy.bootstrap

    def supports(self, op: str) -> bool:
        return op in OPS

    def apply(self, step: Step) -> None:
        try:
            if step.op == "lose_ack":
                topic = step.get("topic")
                self.proxy.lose_ack(topic=self.physical(topic) if topic else None)
            elif step.op == "broker_down":
                self.proxy.broker_down(step.get("ms"))  # the proxy checks its arguments, in one line
            elif step.op == "slow_network":
                self.proxy.slow_network(step.get("ms"), direction=step.get("direction", "both"))
            elif step.op == "heal":
                self.proxy.heal()
        except FaultProxyError as exc:
            raise WorldError(f"{step.describe()}: {exc}") from None  # one line for the person, no traceback

    def counts(self) -> dict[str, Any]:
        """What the proxy did, by fault (lose_ack...) and by action (response_dropped, connection_cut...)."""
        try:
            report = self.proxy.report()
        except FaultProxyError:
            return {}
        return {"by_fault": dict(report.get("by_fault", {})), "by_action": dict(report.get("counts", {}))}

    def stop(self) -> None:
        self.proxy.stop()
