"""Is a Kafka cluster really ready? Metadata answers, every expected broker is in it, and the group
coordinator answers (the seed's "Group coordinator not available" race is exactly this gap).

It asks more than the broker port does (how many brokers registered), so it talks to confluent-kafka's
Admin client directly; it lives in adapters/ because only adapters import confluent_kafka.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

PROBE_GROUP = "kafkalab-readiness-probe"


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    brokers: int  # brokers seen in metadata (0: no answer)
    coordinator: bool  # FindCoordinator + DescribeGroups answered
    detail: str  # what is missing, or "ready"
    seconds: float  # time spent waiting


def probe(bootstrap: str, expected_brokers: int = 1, timeout: float = 5.0) -> Readiness:
    """One readiness check, bounded by ``timeout`` seconds."""
    started = time.monotonic()
    admin = AdminClient(
        {
            "bootstrap.servers": bootstrap,
            "socket.timeout.ms": int(timeout * 1000),
            "log_level": 0,  # librdkafka would print every refused connection while a broker starts
            "client.id": "kafkalab-readiness",
        }
    )

    def done(ready: bool, brokers: int, coordinator: bool, detail: str) -> Readiness:
        return Readiness(ready, brokers, coordinator, detail, time.monotonic() - started)

    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        return done(False, 0, False, f"no metadata from {bootstrap}: {_reason(exc)}")
    brokers = len(metadata.brokers)
    if brokers < expected_brokers:
        return done(False, brokers, False, f"{brokers} of {expected_brokers} brokers registered")
    try:
        # DescribeGroups first needs FindCoordinator, which fails with COORDINATOR_NOT_AVAILABLE
        # until __consumer_offsets exists and its partition is loaded.
        future = admin.describe_consumer_groups([PROBE_GROUP], request_timeout=timeout)[PROBE_GROUP]
        future.result(timeout=timeout + 1)
    except KafkaException as exc:
        error = exc.args[0] if exc.args else None
        if not (isinstance(error, KafkaError) and error.code() == KafkaError.GROUP_ID_NOT_FOUND):
            return done(False, brokers, False, f"group coordinator not available yet: {_reason(exc)}")
    except Exception as exc:  # a future that timed out raises concurrent.futures.TimeoutError
        return done(False, brokers, False, f"group coordinator did not answer: {exc!r}")
    return done(True, brokers, True, "ready")


def wait_until_ready(
    bootstrap: str,
    expected_brokers: int = 1,
    timeout: float = 120.0,
    still_alive: Callable[[], str | None] = lambda: None,
) -> Readiness:
    """Poll :func:`probe` until ready or ``timeout``; ``still_alive`` returns a reason to stop early."""
    started = time.monotonic()
    deadline = started + timeout
    last = Readiness(False, 0, False, "not probed", 0.0)
    while True:
        last = probe(bootstrap, expected_brokers, timeout=min(5.0, max(1.0, deadline - time.monotonic())))
        if last.ready:
            return Readiness(True, last.brokers, True, "ready", time.monotonic() - started)
        died = still_alive()
        if died:
            return Readiness(False, last.brokers, False, died, time.monotonic() - started)
        if time.monotonic() >= deadline:
            return Readiness(False, last.brokers, last.coordinator, last.detail, time.monotonic() - started)
        time.sleep(0.2)  # poll interval between probes, bounded by the deadline above


def _reason(exc: KafkaException) -> str:
    error = exc.args[0] if exc.args else None
    return error.str() if isinstance(error, KafkaError) else str(exc)
