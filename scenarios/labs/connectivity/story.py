"""connectivity: the services bootstrap at the learner's address; the clients' own error lines say why
nothing moves (the simulated host network speaks librdkafka's wording; the real world *is* librdkafka).
"""

from __future__ import annotations

from scenarios.engine import checks as c
from scenarios.engine.knobs import Knobs, knob
from scenarios.engine.lab import Lab, LabContext, Observed
from scenarios.engine.model import Check, Phase, check
from scenarios.engine.spec import ServiceSpec, StartupSpec, WorldSpec
from scenarios.engine.steps import orders, quiet

ORDERS = 3
WAIT_MS = 10_000
PATIENT = StartupSpec(wait=True, retries=1_000, backoff_ms=200, backoff_max_ms=1_000)  # not the lesson here


class ConnectivityKnobs(Knobs):
    bootstrap: str = knob("kafka:29092", lesson=True, pattern=r"^[^\s:,]+:\d+(,[^\s:,]+:\d+)*$",
                          help="bootstrap.servers of every service (host:port)")


def story(knobs: ConnectivityKnobs, ctx: LabContext) -> list[Phase]:
    world = WorldSpec(bootstrap=knobs.bootstrap, services=ServiceSpec(startup=PATIENT), client_timeout_s=3.0)
    return [Phase(f"bootstrap {knobs.bootstrap}", world, (*orders(ORDERS), quiet(WAIT_MS)))]


def _errors(obs: c.Observation) -> tuple[list[str], bool, str | None]:
    unresolved = [e for e in obs.client_errors if "Failed to resolve" in e]
    bootstrap_failed = any("/bootstrap: Failed to resolve" in e for e in unresolved)
    advertised = next((e for e in unresolved if "/bootstrap" not in e), None)
    return unresolved, bootstrap_failed, advertised


def _hint(obs: c.Observation, knobs: ConnectivityKnobs, ctx: LabContext) -> str:
    _, bootstrap_failed, advertised = _errors(obs)
    host = knobs.bootstrap.split(":")[0]
    if bootstrap_failed:
        return (f"Read the first error: \"Failed to resolve '{knobs.bootstrap}'\". {host!r} is a Docker service name; "
                "it only resolves for containers on the compose network. Your services run on the host.")
    if advertised:
        return (f"\"{advertised.split(': ')[0]}: Failed to resolve\": you reached the broker on its INTERNAL listener, "
                "and its metadata answered with that listener's advertised address. Clients always reconnect to "
                f"the advertised address. Use the EXTERNAL listener: bootstrap = \"{ctx.bootstrap}\".")
    if obs.client_errors:
        return f"The clients say: {obs.client_errors[0]}. Is a broker listening at {knobs.bootstrap}?"
    return f"Point the services at the listener meant for the host: bootstrap = \"{ctx.bootstrap}\"."


def checks(observed: Observed, knobs: ConnectivityKnobs, ctx: LabContext) -> list[Check]:
    (obs,) = observed
    unresolved, bootstrap_failed, advertised = _errors(obs)
    hint = _hint(obs, knobs, ctx)
    return [
        check("the bootstrap address resolves on this host", not bootstrap_failed,
              f"bootstrap {knobs.bootstrap}" + (f": {unresolved[0]}" if bootstrap_failed else ""), hint),
        check("the advertised listener the broker hands back resolves", not advertised and not bootstrap_failed,
              advertised or ("not reached: the bootstrap address failed first" if bootstrap_failed
                             else "no unresolvable advertised address seen"), hint),
        check("no connection errors", not obs.client_errors,
              obs.client_errors[0] if obs.client_errors else "the clients connected", hint),
        check((t := c.terminal_check(obs, ORDERS)).name, t.passed, t.detail, hint),
    ]


def symptoms(observed: Observed, knobs: ConnectivityKnobs, ctx: LabContext) -> list[Check]:
    (obs,) = observed
    container = knobs.bootstrap == ctx.container_bootstrap
    expected = (f"{knobs.bootstrap}/bootstrap: Failed to resolve" if container
                else f"{ctx.container_bootstrap}/1: Failed to resolve")
    seen = next((e for e in obs.client_errors if e.startswith(expected)), None)
    pending = sum(1 for s in obs.statuses.values() if s == "PENDING")
    return [
        check(f"{expected!r} reproduced", seen is not None, seen or f"errors seen: {obs.client_errors[:3]}"),
        check("sagas stuck while the clients cannot connect", pending == ORDERS, f"{pending}/{ORDERS} PENDING"),
    ]


LAB = Lab.define(__file__, ConnectivityKnobs, story, checks, symptoms,
                 start=lambda ctx: {"bootstrap": ctx.container_bootstrap},
                 demo=lambda ctx: [("the containers' address", {"bootstrap": ctx.container_bootstrap}),
                      ("the internal listener's port on the host", {"bootstrap": ctx.internal_bootstrap})],
                 fix=lambda ctx: {"bootstrap": ctx.bootstrap})
