"""One contract for every implementation of the broker port (``services.ports.Broker``).

``BrokerContract`` has no ``Test`` prefix, so pytest collects it only through a leg that subclasses it:
``test_broker_sim.py`` (the simulator, always) and ``test_broker_kafka.py`` (a real broker, marked
``kafka``). A case that passes on the simulator and fails on Kafka means the simulator is wrong.

The cases live in ``broker_cases_log.py`` (topics, records, transactions), ``broker_cases_group.py``
(consumer groups), ``broker_cases_records.py`` (what is refused; what a record carries),
``broker_cases_consumer.py`` (a consumer's controls, librdkafka's group details) and
``broker_cases_log_admin.py`` (log start, cleaning, retention, group offsets by hand),
``broker_cases_protocol.py`` (the consumer group protocol, KIP-848); the hooks and
helpers in ``broker_harness.py``.
"""

from __future__ import annotations

from tests.contract.broker_cases_consumer import ConsumerCases
from tests.contract.broker_cases_group import GroupCases
from tests.contract.broker_cases_log import LogCases
from tests.contract.broker_cases_log_admin import LogAdminCases
from tests.contract.broker_cases_protocol import ConsumerProtocolCases
from tests.contract.broker_cases_records import RecordCases
from tests.contract.broker_cases_replication import ReplicationCases


class BrokerContract(LogCases, GroupCases, RecordCases, ConsumerCases, LogAdminCases, ConsumerProtocolCases,
                     ReplicationCases):
    """Every case; a leg subclasses this and fills in the harness hooks."""
