"""One contract for every implementation of the broker port (``services.ports.Broker``).

``BrokerContract`` has no ``Test`` prefix, so pytest collects it only through a leg that subclasses it:
``test_broker_sim.py`` (the simulator, always) and ``test_broker_kafka.py`` (a real broker, marked
``kafka``). A case that passes on the simulator and fails on Kafka means the simulator is wrong.

The cases live in ``broker_cases_log.py`` (topics, records, transactions) and ``broker_cases_group.py``
(consumer groups); the hooks and helpers in ``broker_harness.py``.
"""

from __future__ import annotations

from tests.contract.broker_cases_group import GroupCases
from tests.contract.broker_cases_log import LogCases


class BrokerContract(LogCases, GroupCases):
    """Every case; a leg subclasses this and fills in the harness hooks."""
