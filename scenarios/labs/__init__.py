"""The troubleshooting labs: break it, see it, fix it, prove it, in sim and kafka mode.

Each module defines one ``LabDefinition`` (``LAB``); ``LABS`` lists them in teaching order.
``SCENARIOS`` are the ones ``kafkalab scenario run`` gets from here (poison-pill's scenario is the
core one in scenarios/poison_pill.py; the lab adds the no-DLQ stage in learner mode).
"""

from __future__ import annotations

from scenarios.labs import connectivity, consumer_lag, poison, startup_race
from scenarios.labs.base import LabDefinition

LABS: dict[str, LabDefinition] = {m.LAB.name: m.LAB for m in (connectivity, startup_race, poison, consumer_lag)}


def get(name: str) -> LabDefinition:
    try:
        return LABS[name]
    except KeyError:
        raise KeyError(f"no lab {name!r}; try one of: {', '.join(LABS)}") from None


def lab_scenarios() -> dict:
    """Scenario objects for ``scenarios.catalog``: connectivity, startup-race, consumer-lag."""
    from scenarios.labs.scenario_entry import lab_scenario

    return {name: lab_scenario(LABS[name]) for name in ("connectivity", "startup-race", "consumer-lag")}
