"""Kafka mode of the labs: the same questions asked of a real broker (kafkalab's launcher topology:
EXTERNAL localhost:9092, INTERNAL advertised kafka:29092, which the host cannot resolve).

Connectivity bootstraps a real librdkafka client at the learner's address, round-trips a record
through a lab-owned topic and reports librdkafka's own error lines. Poison-pill and consumer-lag run
the shop's services on the real broker (``kafka_poison``, ``kafka_lag``); startup-race starts private
brokers of its own on shifted ports (``kafka_startup``): the shared one is not ours to stop.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from adapters.kafka_broker import LIBRDKAFKA_LOGGER, KafkaBroker
from compose.topology import EXTERNAL_BOOTSTRAP
from scenarios.labs.base import Verdict
from scenarios.model import Check, Script, check
from scenarios.runner import Outcome
from services.ports import BrokerError, TopicSpec


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def probe(bootstrap: str, timeout_s: float = 8.0) -> tuple[bool, list[str]]:
    """(a record made it through, librdkafka's connection error lines in order of first sight)."""
    handler = _Lines()
    logger = logging.getLogger(LIBRDKAFKA_LOGGER)
    logger.addHandler(handler)
    old_level, old_propagate = logger.level, logger.propagate
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # the lines are the probe's findings, reported by the lab, not log noise
    topic = f"kafkalab-lab-connectivity-{uuid.uuid4().hex[:8]}"
    ok = False
    errors: list[str] = []
    broker = KafkaBroker(bootstrap, client_prefix="kafkalab-lab", timeout_s=timeout_s,
                         extra={"message.timeout.ms": int(timeout_s * 1000), "reconnect.backoff.max.ms": 1000})
    try:
        admin = broker.admin()
        admin.create_topics([TopicSpec(topic, 1)])
        producer = broker.producer()
        try:
            producer.produce(topic, b"ping")
            ok = bool(producer.flush(timeout_s))
        finally:
            producer.close()
        admin.delete_topics([topic])
    except BrokerError as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate
    seen = []
    for line in handler.lines:
        text = line.split("]: ", 1)[-1]
        if "Failed to resolve" in text or "Connect to" in text:
            text = text.split(" (after ")[0]
            if text not in seen:
                seen.append(text)
    return ok, seen + errors


def _checks(bootstrap: str, ok: bool, errors: list[str]) -> list[Check]:
    resolve = [e for e in errors if "Failed to resolve" in e]
    bootstrap_failed = any("/bootstrap: Failed to resolve" in e for e in resolve)
    advertised = next((e for e in resolve if "/bootstrap" not in e), None)
    return [
        check("the bootstrap address resolves on this host", not bootstrap_failed, f"bootstrap {bootstrap}"),
        check("the advertised listener the broker hands back resolves", advertised is None and not bootstrap_failed,
              advertised or ("not reached: the bootstrap address failed first" if bootstrap_failed
                             else "no unresolvable advertised address seen")),
        check("a record round-trips through the broker", ok, errors[0] if errors else "produced and acknowledged"),
    ]


def verify_connectivity(bootstrap: str, options: Any = None) -> Verdict:
    ok, errors = probe(bootstrap)
    notes = [f"librdkafka: {e}" for e in errors] or ["no client errors"]
    return Verdict("connectivity", "kafka", _checks(bootstrap, ok, errors), notes)


def connectivity_scenario(seed: int, options: Any = None) -> Outcome:
    from scenarios.labs.connectivity import INTERNAL_ADDRESS, INTERNAL_ON_HOST

    stages: list[Check] = []
    for bootstrap, expected in ((INTERNAL_ADDRESS, f"{INTERNAL_ADDRESS}/bootstrap: Failed to resolve"),
                                (INTERNAL_ON_HOST, f"{INTERNAL_ADDRESS}/1: Failed to resolve")):
        ok, errors = probe(bootstrap)
        seen = next((e for e in errors if e.startswith(expected)), None)
        stages.append(check(f"bootstrap {bootstrap}: {expected!r} reproduced (librdkafka)", seen is not None and not ok,
                            seen or f"errors seen: {errors[:3]}"))
    fixed = getattr(options, "bootstrap", None) or EXTERNAL_BOOTSTRAP
    ok, errors = probe(fixed)
    stages += _checks(fixed, ok, errors)
    return Outcome("connectivity", "kafka", seed, stages, {}, {}, None, [], Script("connectivity", seed, "kafka", ()))


def verify_poison(knobs: Any, options: Any = None) -> Verdict:
    from scenarios.labs.kafka_poison import verify_poison as verify

    return verify(knobs, options)


def poison_scenario(seed: int, options: Any = None) -> Outcome:
    from scenarios.labs.kafka_poison import poison_scenario as scenario

    return scenario(seed, options)


def verify_lag(knobs: Any, options: Any = None) -> Verdict:
    from scenarios.labs.kafka_lag import lag_verdict

    return lag_verdict(knobs, options)


def lag_scenario(seed: int, options: Any = None) -> Outcome:
    from scenarios.labs.kafka_lag import lag_story

    return lag_story(seed, options)
