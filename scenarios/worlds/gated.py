"""The broker port behind a SimNetwork: every call first asks the network whether it would get through.

Wraps the simulator's clients without changing them; everything not gated is passed through, so
fault injection (``crash``) still reaches the simulated client.
"""

from __future__ import annotations

from typing import Any

from scenarios.worlds.network import SimNetwork
from services.ports import Broker, ConsumerConfig, ProducerConfig

# Admin calls that need only metadata (answered by the bootstrap broker itself).
_METADATA_CALLS = {"create_topics", "delete_topics", "list_topics"}
_GROUP_CALLS = {"committed_offsets", "lag", "describe_group", "list_groups"}


class _Gated:
    def __init__(self, inner: Any, network: SimNetwork, bootstrap: str) -> None:
        self._inner = inner
        self._network = network
        self._bootstrap = bootstrap

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _check(self, *, data: bool = True, group: bool = False) -> None:
        self._network.check(self._bootstrap, data=data, group=group)


class GatedProducer(_Gated):
    def produce(self, *args: Any, **kwargs: Any) -> None:
        self._check()
        self._inner.produce(*args, **kwargs)

    def flush(self, timeout: float = 10.0) -> Any:
        self._check()
        return self._inner.flush(timeout)


class GatedConsumer(_Gated):
    def poll(self, max_records: int = 500, timeout: float = 1.0) -> Any:
        self._check(group=True)
        return self._inner.poll(max_records, timeout)

    def commit(self, offsets: Any = None) -> None:
        self._check(group=True)
        self._inner.commit(offsets)


class GatedAdmin(_Gated):
    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name in _METADATA_CALLS or name in _GROUP_CALLS or name == "end_offsets":

            def call(*args: Any, **kwargs: Any) -> Any:
                self._check(data=name not in _METADATA_CALLS, group=name in _GROUP_CALLS)
                return attr(*args, **kwargs)

            return call
        return attr


class GatedBroker:
    """``services.ports.Broker`` as a client bootstrapping at ``bootstrap`` would experience it."""

    def __init__(self, inner: Broker, network: SimNetwork, bootstrap: str) -> None:
        self.inner = inner
        self.network = network
        self.bootstrap = bootstrap

    def producer(self, config: ProducerConfig | None = None) -> GatedProducer:
        return GatedProducer(self.inner.producer(config), self.network, self.bootstrap)

    def consumer(self, config: ConsumerConfig) -> GatedConsumer:
        return GatedConsumer(self.inner.consumer(config), self.network, self.bootstrap)

    def admin(self) -> GatedAdmin:
        return GatedAdmin(self.inner.admin(), self.network, self.bootstrap)
