"""A simulated host network for the sim world: which names resolve, which ports listen, what is
advertised, and whether the broker has started yet.

The simulator has no sockets, so the sim world puts this gate in front of the simulated broker when
a phase's services bootstrap somewhere of their own or the broker starts late. Errors carry librdkafka's own wording, so the learner sees in sim mode the
lines they will meet against a real broker:

    kafka:29092/bootstrap: Failed to resolve 'kafka:29092': Name or service not known
    kafka:29092/1: Failed to resolve 'kafka:29092': Name or service not known   (advertised listener)
    localhost:9092/bootstrap: Connect to ipv4#127.0.0.1:9092 failed: Connection refused
    Broker: Coordinator not available

Only reads the simulated clock; deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from compose.topology import BASE_PORTS, EXTERNAL, INTERNAL, INTERNAL_HOST
from services.ports import BrokerUnavailable, Clock, CoordinatorNotAvailable

# Port on the host -> the address that listener advertises (as compose/server.properties does).
DEFAULT_LISTENERS = {
    BASE_PORTS[EXTERNAL]: f"localhost:{BASE_PORTS[EXTERNAL]}",
    BASE_PORTS[INTERNAL]: f"{INTERNAL_HOST}:{BASE_PORTS[INTERNAL]}",
}
HOST_NAMES = ("localhost", "127.0.0.1")


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.strip().rpartition(":")
    try:
        return host, int(port)
    except ValueError:
        return address.strip(), 9092


COORDINATOR_DELAY_MS = 1_500  # from a broker's start until __consumer_offsets exists and answers
NOT_YET = 2**62  # a broker that has not started


@dataclass
class SimNetwork:
    """The host's view of one broker. ``up_at_ms``: when it listens; ``coordinator_at_ms``: when
    ``__consumer_offsets`` exists so FindCoordinator answers."""

    clock: Clock
    resolvable: Iterable[str] = HOST_NAMES
    listeners: Mapping[int, str] = field(default_factory=lambda: dict(DEFAULT_LISTENERS))
    up_at_ms: int = 0
    coordinator_at_ms: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # error text -> times seen

    def broker_starts(self) -> None:
        """The broker process starts now: it listens at once, its coordinator a moment later."""
        now = self.clock.now_ms()
        self.up_at_ms, self.coordinator_at_ms = now, now + COORDINATOR_DELAY_MS

    def resolves(self, host: str) -> bool:
        return host in set(self.resolvable)

    def check(self, bootstrap: str, *, data: bool = True, group: bool = False) -> None:
        """Raise what a client at ``bootstrap`` would get now. ``data``: a call that goes to the
        partition leader (produce, fetch, list offsets); ``group``: one that needs the coordinator."""
        try:
            self._check(bootstrap, data=data, group=group)
        except BrokerUnavailable as exc:
            text = str(exc)
            self.errors[text] = self.errors.get(text, 0) + 1
            raise

    def _check(self, bootstrap: str, *, data: bool, group: bool) -> None:
        address = bootstrap.split(",")[0].strip()
        host, port = split_address(address)
        if not self.resolves(host):
            raise BrokerUnavailable(
                f"{address}/bootstrap: Failed to resolve '{address}': Name or service not known "
                "(after 0ms in state CONNECT)"
            )
        now = self.clock.now_ms()
        if port not in self.listeners or now < self.up_at_ms:
            raise BrokerUnavailable(
                f"{address}/bootstrap: Connect to ipv4#127.0.0.1:{port} failed: Connection refused "
                "(after 0ms in state CONNECT)"
            )
        advertised = self.listeners[port]
        if data or group:
            advertised_host, _ = split_address(advertised)
            if not self.resolves(advertised_host):
                raise BrokerUnavailable(
                    f"{advertised}/1: Failed to resolve '{advertised}': Name or service not known "
                    "(after 0ms in state CONNECT)"
                )
        if group and now < self.coordinator_at_ms:
            raise CoordinatorNotAvailable(
                "Broker: Coordinator not available (FindCoordinator: __consumer_offsets is still being created)"
            )

    def first_errors(self, limit: int = 10) -> list[str]:
        return list(self.errors)[:limit]
