"""The shop on the simulator, driven by JSON steps: what the saga state machine generates and replays.

Every action of the machine goes through ``SagaLab.apply(step)``, and the lab records the step, so
the recorded script *is* the run: ``replay(script)`` builds a fresh lab from the script's seed and
setup, applies the same steps with the same code, and runs the same checks. A failing example
prints its script (JSON, one line); save it to a file and run::

    python -m tests.property.saga_support FILE

The script has the shape of ``scenarios.model.Script`` ({"scenario", "seed", "mode", "steps"}) plus
a ``setup``; its ops are this machine's own (see ``OPS``), since mid-step crashes and store
outages are not among the scenario runner's ops.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.memory_store import MemoryStore, memory_stores
from services.catalog import Catalog
from services.ids import SeededIds
from services.order_api import ValidationError
from services.ports import StoreUnavailable
from services.runner import EventService
from services.shop import KINDS, build_shop
from sim import World

from .replay_cli import replay_file
from .saga_invariants import check_always, check_final, snapshot_writes
from .saga_traps import ProcessDied, TrapBroker

SCRIPT_SCENARIO = "saga-machine"
PERIOD_MS = 100  # a service polls every 100 ms of virtual time (kafka mode: a 0.5 s poll timeout)
QUIET_MAX_STEPS = 300_000
TRAP_WAIT_MS = 3_000  # how long a mid-step kill waits for its instance to reach the trap
OPS = (
    "place_order", "place_invalid", "inject", "crash", "crash_mid_step", "start", "stop", "slow",
    "broker_down", "lose_ack", "store_outage", "advance", "heal", "quiet",
)


class SilentLogger:
    """A structlog-shaped logger that drops everything: thousands of runs, no console flood.
    The world's trace keeps the facts a failure needs."""

    def bind(self, **_: Any) -> SilentLogger:
        return self

    def _drop(self, *_: Any, **__: Any) -> None:
        return None

    debug = info = warning = error = exception = _drop


@dataclass
class Ledger:
    """What the driver did, for the checks: the truth the stores and topics are compared with."""

    initial_stock: dict[str, int]
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)  # order id -> body
    injected: list[tuple[str, int, int]] = field(default_factory=list)  # raw poison coordinates
    last_status: dict[str, str] = field(default_factory=dict)  # for "terminal never changes"


class SagaLab:
    """A world, a TrapBroker and the whole shop, one actor per service instance."""

    def __init__(self, seed: int, *, stock: Mapping[str, int], instances: Mapping[str, int],
                 service_class: type[EventService] = EventService) -> None:
        self.seed = seed
        self.setup = {"stock": dict(stock), "instances": dict(instances)}
        self.steps: list[dict[str, Any]] = []
        self.world = World(seed)
        self.broker = TrapBroker(self.world)
        self.stores: dict[str, MemoryStore] = memory_stores()
        self.catalog = Catalog(stock=dict(stock))
        self.ledger = Ledger(initial_stock=dict(stock))
        self.service_class = service_class
        self.mid_step_deaths = 0
        self.shop = build_shop(self.broker, self.stores, self.broker.clock, SeededIds(seed),
                               instances=instances, catalog=self.catalog, logger=SilentLogger())
        for service in list(self.shop.services):
            self._run(service)

    # ------------------------------------------------------------ instances
    def _run(self, service: EventService) -> None:
        # Test-only wirings (the planted bug) swap in an EventService subclass; same state, same init.
        if type(service) is not self.service_class:
            service.__class__ = self.service_class

        def step() -> int:
            try:
                return service.step()
            except ProcessDied:
                self.mid_step_deaths += 1
                self._bury(service.name)
                return 1

        self.world.spawn(service.name, step, period_ms=PERIOD_MS)

    def live(self, kind: str | None = None) -> list[str]:
        return [s.name for s in self.shop.services if kind is None or s.name.startswith(f"{kind}-")]

    def _bury(self, name: str) -> None:
        """The process is gone: its clients crash (no LeaveGroup, no flush), its actor never runs again."""
        service = next((s for s in self.shop.services if s.name == name), None)
        if service is None:
            return
        for client in (service.consumer, service.producer):
            if client is not None:
                self.world.faults.crash(client)
        self.world.stop_actor(name)
        self.shop.remove_instance(name)  # close() on crashed clients is a no-op

    def start_instance(self, kind: str) -> str:
        service = self.shop.add_instance(kind)
        self._run(service)
        return service.name

    # ------------------------------------------------------------ steps
    def apply(self, step: Mapping[str, Any]) -> Any:
        """Record ``step``, perform it, return what it created (an order id or an instance name)."""
        step = dict(step)
        self.steps.append(step)
        op = step["op"]
        if op not in OPS:
            raise ValueError(f"unknown op {op!r}")
        return getattr(self, f"_op_{op}")(step)

    def _op_place_order(self, step: dict[str, Any]) -> str | None:
        body = {"customerId": step["customer_id"], "productId": step["product_id"],
                "quantity": step["quantity"], "amount": step["amount"]}
        before = snapshot_writes(self)
        try:
            order = self.shop.place_order(body)
        except StoreUnavailable:  # an injected database outage: the API answers 503, nothing stored
            assert snapshot_writes(self) == before, "a failed order transaction left something behind"
            return None
        except ProcessDied as died:  # the order instance publishing it was killed; the order is stored
            self.mid_step_deaths += 1
            self._bury(died.instance)
            order_id = self._newest_order_id()
            self.ledger.accepted[order_id] = body
            return order_id
        self.ledger.accepted[order.order_id] = body
        return order.order_id

    def _newest_order_id(self) -> str:
        """The one order in the store the ledger does not know yet (the API stored it, then died)."""
        (new,) = [o for o in self.stores["order"].orders if o not in self.ledger.accepted]
        return new

    def _op_place_invalid(self, step: dict[str, Any]) -> None:
        before = snapshot_writes(self)
        try:
            self.shop.place_order(step["body"])
        except ValidationError:
            pass
        else:
            raise AssertionError(f"invalid order accepted: {step['body']!r}")
        assert snapshot_writes(self) == before, f"a rejected order wrote or produced something: {step['body']!r}"

    def _op_inject(self, step: dict[str, Any]) -> None:
        key = None if step.get("key") is None else bytes.fromhex(step["key"])
        topic, partition = step["topic"], step["partition"]
        offset = self.world.faults.inject(topic, bytes.fromhex(step["value_hex"]), key=key, partition=partition)
        self.ledger.injected.append((topic, partition, offset))

    def _op_crash(self, step: dict[str, Any]) -> None:
        self._bury(step["instance"])

    def _op_crash_mid_step(self, step: dict[str, Any]) -> None:
        """Arm the trap and let time pass until it springs (the instance has work) or a while passed;
        an unsprung trap is disarmed, so the fault happens within this step or not at all."""
        name = step["instance"]
        if name not in self.live():
            return
        self.broker.arm(name, step["at"])
        for _ in range(TRAP_WAIT_MS // PERIOD_MS):
            if name not in self.broker.traps:
                return
            self.world.run_for(PERIOD_MS)
        self.broker.traps.pop(name, None)

    def _op_start(self, step: dict[str, Any]) -> str:
        return self.start_instance(step["service"])

    def _op_stop(self, step: dict[str, Any]) -> None:
        name = step["instance"]
        if name in self.live():
            self.world.stop_actor(name)
            self.shop.remove_instance(name)  # a clean shutdown: LeaveGroup, a prompt rebalance

    def _op_slow(self, step: dict[str, Any]) -> None:
        if step["instance"] in self.live():
            self.world.faults.slow(step["instance"], step["ms"])

    def _op_broker_down(self, step: dict[str, Any]) -> None:
        self.world.faults.broker_down(step["ms"])

    def _op_lose_ack(self, step: dict[str, Any]) -> None:
        self.world.faults.lose_next_ack(step.get("topic"))

    def _op_store_outage(self, step: dict[str, Any]) -> None:
        self.stores[step["service"]].fail_next(step["transactions"])

    def _op_advance(self, step: dict[str, Any]) -> None:
        self.world.run_for(step["ms"])

    def _op_heal(self, step: dict[str, Any]) -> None:
        self.world.faults.heal_all()
        self.broker.disarm_all()
        for store in self.stores.values():
            store.fail_next(0)
        # A broker outage and an armed lost ack end by themselves (time passes, the next batch goes).

    def _op_quiet(self, step: dict[str, Any]) -> None:
        """Heal, make sure every service runs somewhere, and run until nothing is left to do."""
        self._op_heal(step)
        for kind in KINDS:
            if not self.live(kind):
                self.start_instance(kind)
        self.world.run_until_idle(max_steps=QUIET_MAX_STEPS)
        assert self.world.idle(), f"not quiet after {QUIET_MAX_STEPS} steps (t={self.world.clock.now_ms()} ms)"

    # ------------------------------------------------------------ checks and scripts
    def check_always(self) -> None:
        check_always(self)

    def finish(self) -> None:
        """The final check: quiet, then every saga invariant."""
        self.apply({"op": "quiet"})
        check_final(self)

    def script(self) -> dict[str, Any]:
        return {"scenario": SCRIPT_SCENARIO, "seed": self.seed, "mode": "sim", "setup": self.setup,
                "steps": list(self.steps)}

    def dumps(self) -> str:
        return json.dumps(self.script(), sort_keys=True, separators=(",", ":"))


def replay(script: Mapping[str, Any], service_class: type[EventService] = EventService) -> SagaLab:
    """Run a recorded script again, checking after every step and at the end (AssertionError on a
    violation). A script that ends with "quiet" is not finished twice."""
    setup = script["setup"]
    lab = SagaLab(int(script["seed"]), stock=setup["stock"], instances=setup["instances"],
                  service_class=service_class)
    steps = list(script["steps"])
    if steps and steps[-1]["op"] == "quiet":
        steps.pop()
    for step in steps:
        lab.apply(step)
        lab.check_always()
    lab.finish()
    return lab


def main(argv: list[str]) -> int:
    return replay_file(argv, "tests.property.saga_support", replay,
                       lambda lab: f"{len(lab.ledger.accepted)} orders, trace sha256 {lab.world.trace.sha256()}")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
