"""connectivity: ENOTFOUND. The host bootstraps through the container-only name, or reaches the broker
and is handed an advertised listener it cannot resolve. Fix: use the listener meant for the host."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compose.topology import BASE_PORTS, EXTERNAL_BOOTSTRAP, INTERNAL, INTERNAL_HOST
from scenarios.labs.base import LabDefinition, Verdict, combine, note, order_steps, run_phase, terminal_check
from scenarios.labs.labshop import ServiceKnobs
from scenarios.model import Check, Step, check
from scenarios.runner import Outcome

NAME = "connectivity"
INTERNAL_ADDRESS = f"{INTERNAL_HOST}:{BASE_PORTS[INTERNAL]}"  # kafka:29092
INTERNAL_ON_HOST = f"localhost:{BASE_PORTS[INTERNAL]}"  # reaches the broker, then is told "kafka:29092"
ORDERS = 3
WAIT_MS = 10_000

TASK = f"""\
The three services run on your machine, not in a container, but they were configured with the
bootstrap address that containers use: {INTERNAL_ADDRESS}. No order gets past PENDING.
Find out what the clients actually report, then point them at the listener meant for the host.
The setting is `bootstrap` in .kafkalab/lab.toml, table [connectivity]."""

LOOK = (
    f"getent hosts {INTERNAL_HOST}    # does this name resolve on your machine?",
    "kafkalab lab check connectivity    # shows librdkafka's own error lines",
    "kafkalab kafka-cli kafka-configs --describe --entity-type brokers --entity-name 1 --all"
    " | grep listeners    # listeners vs advertised.listeners (kafka mode)",
    "kafkalab kafka-cli kafka-topics --list    # works: the CLI uses localhost:9092",
)

HINTS = (
    f"Read the first error: \"Failed to resolve '{INTERNAL_ADDRESS}'\". {INTERNAL_HOST!r} is a Docker "
    "service name; it only resolves for containers on the compose network. Your services run on the host.",
    f"If you now see \"{INTERNAL_ADDRESS}/1: Failed to resolve\": you reached the broker (on its INTERNAL "
    "listener), and its metadata answered with that listener's advertised address, kafka:29092. Clients "
    "always reconnect to the advertised address, whatever they bootstrapped with.",
    f"Use the EXTERNAL listener, advertised as {EXTERNAL_BOOTSTRAP}: set bootstrap = \"{EXTERNAL_BOOTSTRAP}\" "
    "in [connectivity] of .kafkalab/lab.toml and run the check again.",
)

SOLUTION_TEXT = f"""\
The broker has one listener per network. INTERNAL is advertised as {INTERNAL_ADDRESS} for clients on
the Docker network; EXTERNAL is advertised as {EXTERNAL_BOOTSTRAP} for clients on the host. A client
uses the bootstrap address only for its first metadata request; after that it connects to whatever
the broker advertises for the listener it came in on. So a host client must both bootstrap through,
and be handed, an address the host can resolve: {EXTERNAL_BOOTSTRAP}."""


# ------------------------------------------------------------ sim


def _sim_run(bootstrap: str, seed: int, mode: str = "sim") -> tuple[Outcome, list[str]]:
    from scenarios.labs.simworld import LabSim

    lab = LabSim(seed, bootstrap=bootstrap, knobs=ServiceKnobs(startup_retries=1_000))
    network = lab.network
    steps = [*order_steps(ORDERS), Step("advance", {"ms": WAIT_MS})]
    outcome = run_phase(lab, NAME, seed, mode, steps, lambda obs: [terminal_check(obs.statuses, ORDERS)])
    return outcome, network.first_errors()


def _verdict_checks(bootstrap: str, errors: list[str], statuses: Mapping[str, str]) -> list[Check]:
    unresolved = [e for e in errors if "Failed to resolve" in e]
    bootstrap_failed = any("/bootstrap: Failed to resolve" in e for e in unresolved)
    advertised_failed = any("/bootstrap" not in e for e in unresolved)
    return [
        check("the bootstrap address resolves on this host", not bootstrap_failed,
              f"bootstrap {bootstrap}" + (f": {unresolved[0]}" if bootstrap_failed else "")),
        check("the advertised listener the broker hands back resolves", not advertised_failed and not bootstrap_failed,
              next((e for e in unresolved if "/bootstrap" not in e),
                   "not reached: the bootstrap address failed first" if bootstrap_failed
                   else "no unresolvable advertised address seen")),
        check("no connection errors", not errors, errors[0] if errors else "clients connected"),
        terminal_check(statuses, ORDERS),
    ]


def verify(mode: str, seed: int, knobs: Mapping[str, Any], options: Any = None) -> Verdict:
    bootstrap = str(knobs.get("bootstrap", INTERNAL_ADDRESS))
    if mode == "kafka":
        from scenarios.labs import kafka_side

        return kafka_side.verify_connectivity(bootstrap, options)
    outcome, errors = _sim_run(bootstrap, seed)
    notes = [f"client errors (librdkafka wording): {e}" for e in errors] or ["no client errors"]
    return Verdict(NAME, mode, _verdict_checks(bootstrap, errors, outcome.observation.statuses), notes)


def scenario(mode: str, seed: int, options: Any = None) -> Outcome:
    if mode == "kafka":
        from scenarios.labs import kafka_side

        return kafka_side.connectivity_scenario(seed, options)
    stages: list[Check] = []
    notes = []
    for bootstrap, expected in ((INTERNAL_ADDRESS, f"{INTERNAL_ADDRESS}/bootstrap: Failed to resolve"),
                                (INTERNAL_ON_HOST, f"{INTERNAL_ADDRESS}/1: Failed to resolve")):
        broken, errors = _sim_run(bootstrap, seed)
        seen = next((e for e in errors if e.startswith(expected)), None)
        pending = sum(1 for s in broken.observation.statuses.values() if s == "PENDING")
        stages.append(check(f"bootstrap {bootstrap}: {expected!r} reproduced", seen is not None,
                            seen or f"errors seen: {errors}"))
        stages.append(check(f"bootstrap {bootstrap}: sagas stuck while broken", pending == ORDERS,
                            f"{pending}/{ORDERS} PENDING"))
        notes.append(note(0, f"bootstrap {bootstrap}", seen or "no error"))
    fixed, errors = _sim_run(EXTERNAL_BOOTSTRAP, seed)
    stages.append(check(f"bootstrap {EXTERNAL_BOOTSTRAP}: no connection errors", not errors, "; ".join(errors)))
    return combine(fixed, stages, notes)


LAB = LabDefinition(
    name=NAME,
    title="Connectivity: ENOTFOUND and advertised listeners",
    summary="host clients bootstrap through kafka:29092 (container-only name); fix the listener",
    task=TASK,
    look=LOOK,
    knobs={"bootstrap": INTERNAL_ADDRESS},
    knob_help={"bootstrap": "bootstrap.servers of every service (host:port)"},
    solution={"bootstrap": EXTERNAL_BOOTSTRAP},
    solution_text=SOLUTION_TEXT,
    hints=HINTS,
    verify=verify,
    scenario=scenario,
)
