"""startup-race: the broker and the three services come up one second apart, in every order; orders
are already waiting in the order service's outbox. The steps are the same in both worlds (``start
broker``, ``start order``...): the simulated broker's host network opens when it starts, the real one
is a private broker on shifted ports, launched by the step.
"""

from __future__ import annotations

import itertools

from scenarios.engine import checks as c
from scenarios.engine.knobs import Knobs, knob
from scenarios.engine.lab import Lab, LabContext, Observed
from scenarios.engine.model import Check, Phase, Step, check
from scenarios.engine.spec import ServiceSpec, StartupSpec, WorldSpec
from scenarios.engine.steps import orders, quiet
from services.handling import StartupPolicy

KINDS = ("order", "payment", "inventory")
COMPONENTS = ("broker", *KINDS)
GAP_MS = 1_000  # one component comes up every second, in the order being tried
ORDERS = 3
COORDINATOR_WORDS = ("Coordinator not available", "NOT_COORDINATOR", "COORDINATOR_NOT_AVAILABLE",
                     "COORDINATOR_LOAD_IN_PROGRESS")


class StartupKnobs(Knobs):
    wait_for_broker: bool = knob(False, lesson=True, help="wait for metadata and the group coordinator before consuming")
    startup_retries: int = knob(0, lesson=True, ge=0, help="startup attempts after the first before giving up")
    retry_backoff_ms: int = knob(200, ge=1, help="the first backoff; it doubles each attempt")
    retry_backoff_max_ms: int = knob(2_000, ge=1, help="the backoff's cap")


def start_orders(ctx: LabContext) -> list[tuple[str, ...]]:
    """Every order of the four on the simulator; on a real broker (each run starts a JVM) the broker's
    four positions among the services, which is what decides the race."""
    if ctx.real_time:
        return [(*KINDS[:i], "broker", *KINDS[i:]) for i in range(len(KINDS) + 1)]
    return list(itertools.permutations(COMPONENTS))


def story(knobs: StartupKnobs, ctx: LabContext) -> list[Phase]:
    startup = StartupSpec(wait=knobs.wait_for_broker, retries=knobs.startup_retries,
                          backoff_ms=knobs.retry_backoff_ms, backoff_max_ms=knobs.retry_backoff_max_ms)
    # Each admin request of a service gives up after 1 s: a component starts a second after the one before,
    # so a service started before the broker has given up before that broker can listen (a lab broker is
    # ready in a few seconds, so a longer bound would let naive services sometimes win the race).
    world = WorldSpec(deferred=COMPONENTS, services=ServiceSpec(startup=startup), client_timeout_s=1.0)
    phases = []
    for order in start_orders(ctx):
        steps: list[Step] = orders(ORDERS)
        for component in order:
            steps += [Step("start", {"component": component}), Step("advance", {"ms": GAP_MS})]
        phases.append(Phase(" > ".join(order), world, (*steps, quiet())))
    return phases


def _failures(observed: Observed) -> list[tuple[str, str]]:
    failed = []
    for obs in observed:
        if not c.terminal_check(obs, ORDERS).passed:
            died = "; ".join(f"{n} exited: {e}" for n, e in sorted(obs.exits.items())) or "no instance exited"
            failed.append((obs.phase.name, died))
    return failed


def _hint(observed: Observed, knobs: StartupKnobs) -> str:
    if not knobs.wait_for_broker:
        return ("A service that exits on the first broker error can never win a race it starts first. Turn on "
                "wait_for_broker, so startup waits for cluster metadata and the group coordinator.")
    budget = StartupPolicy(True, knobs.startup_retries, knobs.retry_backoff_ms, knobs.retry_backoff_max_ms).budget_ms()
    return (f"Waiting needs a budget: {knobs.startup_retries} retries with this backoff give up after {budget / 1000:.1f}s. "
            "The broker can be the last of four components to start, one second apart, and needs a moment more "
            "before its coordinator answers (a real broker 5-10 s): cover 15 s or more, e.g. startup_retries = 30.")


def checks(observed: Observed, knobs: StartupKnobs, ctx: LabContext) -> list[Check]:
    failed = _failures(observed)
    hint = _hint(observed, knobs)
    first = f"; first: start order {failed[0][0]}: {failed[0][1]}" if failed else ""
    found = [check("every saga completes in every start order (broker last included)", not failed,
                   f"{len(observed) - len(failed)}/{len(observed)} start orders OK{first}", hint)]
    if len(observed) <= 4:  # few enough to name each
        found += [check(f"broker {_position(obs.phase.name)} ({obs.phase.name}): every saga completes",
                        (t := c.terminal_check(obs, ORDERS)).passed, t.detail, hint) for obs in observed]
    return found


def _position(order: str) -> str:
    return ("first", "second", "third", "last")[order.split(" > ").index("broker")]


def symptoms(observed: Observed, knobs: StartupKnobs, ctx: LabContext) -> list[Check]:
    early = [obs for obs in observed if obs.phase.name.split(" > ")[0] != "broker"]
    refused = next((line for obs in observed for line in [*obs.client_errors, *obs.exits.values()]
                    if "Connection refused" in line), None)
    found = [check("a service started before the broker exits, its sagas never finish",
                   bool(early) and all(obs.exits and not c.terminal_check(obs, ORDERS).passed for obs in early),
                   f"{sum(1 for obs in early if obs.exits)}/{len(early)} such start orders lost a service")]
    found.append(check("'Connection refused' before the broker listens", refused is not None, refused or "-"))
    coordinator = next((e for obs in observed for e in obs.exits.values() if any(w in e for w in COORDINATOR_WORDS)),
                       None)
    if coordinator is not None or not ctx.real_time:  # on a real broker that one is a race: reported, not asserted
        found.append(check("'coordinator not available' while __consumer_offsets is created",
                           coordinator is not None, coordinator or str([o.exits for o in observed][:2])))
    return found


LAB = Lab.define(__file__, StartupKnobs, story, checks, symptoms,
                 demo=lambda ctx: [("naive startup", {})],
                 fix=lambda ctx: {"wait_for_broker": True, "startup_retries": 30, "retry_backoff_ms": 200})
