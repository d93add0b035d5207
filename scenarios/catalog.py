"""The labs, by name, in the order ``scenario list`` and ``run-all`` show them."""

from __future__ import annotations

from scenarios import chaos, happy_path, poison_pill, stock_rollback
from scenarios.labs import lab_scenarios
from scenarios.model import Scenario

SCENARIOS: dict[str, Scenario] = {
    m.SCENARIO.name: m.SCENARIO for m in (happy_path, stock_rollback, poison_pill, chaos)
}
SCENARIOS.update(lab_scenarios())  # the troubleshooting labs (scenarios/labs/)
RUN_ALL = tuple(SCENARIOS)  # the four saga labs, then the troubleshooting labs


def get(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise KeyError(f"no scenario {name!r}; try one of: {', '.join(SCENARIOS)}") from None
