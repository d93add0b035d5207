"""The broker contract against a real Kafka broker (marker ``kafka``): KAFKA_BOOTSTRAP, else the local one.

A case that passes on the simulator but fails here means the simulator is wrong, not Kafka.
"""

from __future__ import annotations

import time

import pytest

from adapters.kafka_broker import KafkaBroker
from services.ports import Broker, Consumer
from tests.contract.broker_contract import BrokerContract

pytestmark = pytest.mark.kafka


class TestBrokerKafka(BrokerContract):
    poll_timeout_s = 0.2
    deadline_s = 30.0

    def leg_setup(self, request: pytest.FixtureRequest) -> None:
        self.bootstrap = request.getfixturevalue("kafka_bootstrap")

    def make_broker(self) -> Broker:
        return KafkaBroker(self.bootstrap, client_prefix="contract")

    def now_ms(self) -> int:
        return int(time.time() * 1000)

    def crash(self, consumer: Consumer) -> None:
        # An in-process librdkafka client cannot vanish silently (its background thread keeps
        # heartbeating), so the Kafka leg's crash is "close without committing": the member leaves and
        # its partitions move at once instead of after session.timeout.ms. What is redelivered is the same.
        consumer.close()
