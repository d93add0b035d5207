"""The Kafka world's fault backend maps the story's steps one to one onto the fault proxy's commands,
with the run's topic names; a proxy refusal becomes one line naming the step (a WorldError, which the
command line prints without a traceback)."""

from __future__ import annotations

import pytest

from compose.faultproxy import FaultProxyError
from scenarios.engine.model import Step
from scenarios.engine.world import WorldError
from scenarios.worlds.proxy_faults import ProxyFaults


class RecordingProxy:
    """Stands in for compose.faultproxy's FaultProxy (our own class, not a library): keeps the commands."""

    bootstrap = "127.0.0.1:17094"

    def __init__(self, refuse: bool = False) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []
        self.refuse = refuse

    def __getattr__(self, op: str):
        def call(*args, **kwargs):
            if self.refuse:
                raise FaultProxyError(f"{op}: ms must be a whole number, not 'soon'")
            self.calls.append((op, args, kwargs))
            return {}
        return call


def test_steps_become_proxy_commands_with_the_runs_topic_names():
    proxy = RecordingProxy()
    backend = ProxyFaults(proxy, physical=lambda topic: f"kl-run-{topic}")
    for step in (Step("lose_ack", {"topic": "payments"}), Step("lose_ack"), Step("broker_down", {"ms": 500}),
                 Step("slow_network", {"ms": 20, "direction": "to_client"}), Step("heal")):
        assert backend.supports(step.op)
        backend.apply(step)
    assert proxy.calls == [("lose_ack", (), {"topic": "kl-run-payments"}), ("lose_ack", (), {"topic": None}),
                           ("broker_down", (500,), {}), ("slow_network", (20,), {"direction": "to_client"}),
                           ("heal", (), {})]
    assert not backend.supports("crash") and backend.bootstrap == "127.0.0.1:17094"


def test_a_refused_command_is_one_line_naming_the_step():
    backend = ProxyFaults(RecordingProxy(refuse=True), physical=str)
    with pytest.raises(WorldError, match="^broker_down ms=soon: broker_down: ms must be a whole number"):
        backend.apply(Step("broker_down", {"ms": "soon"}))
