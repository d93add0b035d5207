"""Playing one phase's steps on a world and observing what happened.

Every step is one call on the ``World`` interface; after the last step the runner reads every topic
back through the broker port and asks the world what it saw (lag, members, rebalances...), so the
checks and the narration get the same facts in both worlds.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from scenarios.engine.model import Phase, Step
from scenarios.engine.observation import Observation, PlacedOrder, TimelineEntry
from scenarios.engine.timeline import record_timeline
from scenarios.engine.world import NO_ANSWER, NotAvailable, World
from services.ports import BrokerError
from services.registry import RegistryError

FAULTS = ("crash", "restart", "scale", "slow", "broker_down", "lose_ack", "slow_network", "heal", "bounce")
SCHEMA_OPS = ("set_compatibility", "deploy_schema", "read_as")
BROKER_FAULTS = ("broker_kill", "broker_pause", "broker_start")  # one broker of a replicated cluster


def play_phase(phase: Phase, world: World) -> Observation:
    """Run every step of ``phase`` on ``world`` (a fresh one, built from ``phase.world``), then observe."""
    obs = Observation(phase, world.mode, logical_topic=world.logical, started_ms=world.now_ms())
    obs.initial_stock = dict(world.stock())
    obs.min_stock = dict(obs.initial_stock)
    world.set_monitor(lambda: _sample_stock(world, obs))
    world.emit("phase", name=phase.name)
    for step in phase.steps:
        world.emit("step", op=step.op, args=body_digest(dict(step.args)))  # the trace records what was asked
        try:
            _apply(step, world, obs)
        except NotAvailable as exc:
            obs.not_available.append(str(exc))
            _note(world, obs, "fault", step.op, str(exc))
        except (BrokerError, RegistryError) as exc:  # said no to the runner itself: told, the story goes on
            obs.step_errors.append(f"{step.describe()}: {exc}")
            _note(world, obs, "fault", step.op, f"failed: {exc}")
    _observe_end(world, obs)
    return obs


def money_text(value: Any) -> str:
    """Money as people write it: two decimals (250.50, not 250.5)."""
    return f"{Decimal(str(value)):.2f}"


def order_body(step: Step, i: int | None = None) -> dict[str, Any]:
    """The API request a place_order step (or the i-th order of a load step) sends."""
    if i is None:
        return {"customerId": step.get("customer_id"), "productId": step.get("product_id"),
                "quantity": step.get("quantity"), "amount": step.get("amount")}
    spread = int(step.get("spread", 10))
    return {"customerId": f"{step.get('customer_id', 'cust_load')}_{i % 50}",
            "productId": f"{step.get('product_id', 'prod_load')}_{i % spread:02d}",
            "quantity": step.get("quantity", 1), "amount": step.get("amount", 5.0)}


def body_digest(body: dict[str, Any]) -> str:
    """What the trace records of an API write: the request's content, canonically (an edited quantity
    changes it)."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def _sample_stock(world: World, obs: Observation) -> None:
    for product, qty in world.stock().items():
        if qty < obs.min_stock.get(product, qty + 1):
            obs.min_stock[product] = qty


def _note(world: World, obs: Observation, kind: str, where: str, text: str) -> None:
    obs.timeline.append(TimelineEntry(world.now_ms() - obs.started_ms, kind, where, text))


def _place(world: World, obs: Observation, body: dict[str, Any], *, narrate: bool = True) -> None:
    order_id, error = world.place_order(body)
    obs.placed.append(PlacedOrder(order_id, body, error))
    world.emit("api_order", order=order_id, body=body_digest(body), refused=error or None)
    if narrate:
        verdict = (f"accepted, saga {order_id[:8]}" if order_id else
                   error if error.startswith(NO_ANSWER) else f"refused (400): {error}")
        what = (f"{body['customerId']} orders {body['quantity']} x {body['productId']} "
                f"for {_money_or_raw(body['amount'])}")
        _note(world, obs, "step", "POST /orders", f"{what}: {verdict}")


def _money_or_raw(value: Any) -> str:
    try:
        return money_text(value)
    except (ArithmeticError, ValueError, TypeError):
        return repr(value)


def _apply(step: Step, world: World, obs: Observation) -> None:
    op = step.op
    if op == "set_stock":
        product, quantity = step.get("product_id"), int(step.get("quantity"))
        world.set_stock(product, quantity)
        obs.initial_stock[product] = obs.min_stock[product] = quantity
        _note(world, obs, "step", "inventory", f"stock of {product} set to {quantity}")
    elif op == "place_order":
        _place(world, obs, order_body(step))
    elif op == "load":
        _load(step, world, obs)
    elif op == "inject":
        where = world.inject(step.get("topic"), bytes.fromhex(step.get("value_hex", "")), key=step.get("key"),
                             partition=step.get("partition"))
        obs.injected.append({"topic": step.get("topic"), "where": where, "note": step.get("note", "")})
        _note(world, obs, "fault", f"{where[0]}[{where[1]}]@{where[2]}",
              f"raw bytes written straight to the log ({step.get('note') or 'poison'})")
    elif op == "quiet":
        quiet = world.quiet(step.get("ms"))
        obs.quiet_reached.append(quiet)
        _note(world, obs, "step", "runner", "system quiet: every order terminal, every group caught up" if quiet
              else "not quiet before the deadline")
    elif op == "advance":
        world.advance(int(step.get("ms")))
    elif op == "ready":
        ok = world.ready()
        _note(world, obs, "step", "runner", "every group stable with partitions assigned" if ok
              else "groups not stable before the deadline")
    elif op == "snapshot":
        obs.snapshots[step.get("label")] = {"stock": dict(world.stock()), "money": world.money()}
    elif op == "watch":
        world.watch(step.get("service"), step.get("topic"), int(step.get("every_ms", 500)))
    elif op == "start":
        world.start(step.get("component"))
        _note(world, obs, "step", step.get("component"), "started")
    elif op == "compare_cli_lag":
        obs.cli_lag = world.compare_cli_lag(step.get("service"), step.get("topic"))
    elif op == "redrive":
        result = world.redrive(step.get("topic"), step.get("partition"), step.get("offset"),
                               int(step.get("max_redrives", 3)))
        obs.redrives.append(result)
        _note(world, obs, "step", f"dlq redrive {step.get('topic')}",
              f"{result['sent']} redriven, {len(result['refused'])} refused")
    elif op in SCHEMA_OPS:
        _schema_step(step, world, obs)
    elif op == "call":
        _call(step, world, obs)
    elif op == "measure_producer":
        _measure(step, world, obs)
    elif op in BROKER_FAULTS:
        _note(world, obs, "fault", op, world.broker_fault(step))
    elif op == "describe":
        rows = world.describe(step.get("topic", "orders"))
        obs.describes.append((world.now_ms() - obs.started_ms, rows))
        _note(world, obs, "step", f"describe {step.get('topic', 'orders')}", " | ".join(
            f"p{r.partition} leader {'none' if r.leader is None else r.leader} "
            f"replicas {','.join(map(str, r.replicas))} isr {','.join(map(str, r.isr)) or '-'}" for r in rows))
    elif op == "probe":
        answer = world.probe()
        obs.probes.append((world.now_ms() - obs.started_ms, answer))
        _note(world, obs, "step", "probe", f"refused: {answer}" if answer else "acknowledged")
    elif op in FAULTS:
        world.fault(step)
        if op == "scale":
            obs.marks[world.now_ms() - obs.started_ms] = f"{step.get('service')} scaled to {step.get('instances')}"
        _note(world, obs, "fault", op, step.describe())
    else:  # STEP_OPS and this function must name the same ops
        raise NotAvailable(op, world.mode, "the runner does not know this step")


def _schema_step(step: Step, world: World, obs: Observation) -> None:
    """The schema registry's steps; what it answered goes into the observation, the timeline and the
    trace (so a replay that gets another id or verdict differs)."""
    op = step.op
    if op == "read_as":
        readings = world.read_as(step.get("topic"), step.get("event_type"), dict(step.get("readers") or {}))
        obs.readings.update(readings)
        for label, seen in readings.items():
            world.emit("reading", label=label, digest=body_digest(seen))
            failed = seen["failed"]
            _note(world, obs, "step", label, f"read {seen['read']} of {seen['records']} records on {step.get('topic')}"
                  + (f"; cannot read {seen['failed_count']}, e.g. {failed[0]['where']}: {failed[0]['error']}"
                     if failed else ""))
        return
    if op == "set_compatibility":
        result = world.set_compatibility(step.get("event_type"), step.get("level"))
        text = f"compatibility of {result['subject']} set to {result['level']}"
    else:
        result = world.deploy_schema(step.get("event_type"), step.get("schema"), dict(step.get("renames") or {}))
        what = step.get("note") or f"a new {step.get('event_type')} schema"
        text = (f"deployed {what}: registered as version {result['version']} (id {result['schema_id']})"
                if result["accepted"] else f"deploy refused, the old version stays: {result['reason']}")
    obs.schema_steps.append({"op": op, **result})
    world.emit("schema", op=op, digest=body_digest(result))
    _note(world, obs, "step" if result.get("accepted", True) else "fault", "schema registry", text)
def _call(step: Step, world: World, obs: Observation) -> None:
    component, action, args = step.get("component"), step.get("action"), dict(step.get("args") or {})
    result = world.call(component, action, args)
    obs.calls.append({"component": component, "action": action, "args": args, "result": result})
    world.emit("call_result", component=component, action=action, digest=body_digest(result))
    if result.get("say"):
        _note(world, obs, "step", component.rpartition("/")[2], str(result["say"]))


def _measure(step: Step, world: World, obs: Observation) -> None:
    figures = world.measure_producer(dict(step.get("settings") or {}), dict(step.get("workload") or {}),
                                     int(step.get("runs", 1)))
    obs.measurements.append(figures)
    world.emit("measurement", digest=body_digest(figures))
    _note(world, obs, "step", "producer", str(figures.get("say", "")))


def _load(step: Step, world: World, obs: Observation) -> None:
    """``count`` orders at ``rate`` per second of world time, paced from the step's start."""
    rate, count = int(step.get("rate")), int(step.get("count"))
    began = world.now_ms()
    first = len(obs.placed)
    for i in range(count):
        world.advance_to(began + i * 1000 // rate)
        _place(world, obs, order_body(step, first + i), narrate=False)
    world.advance_to(began + count * 1000 // rate)
    refused = sum(1 for p in obs.placed[first:] if not p.accepted)
    _note(world, obs, "step", "POST /orders",
          f"load: {count} orders at {rate}/s" + (f", {refused} refused" if refused else ""))
    obs.load_end_ms = world.now_ms() - obs.started_ms


def _observe_end(world: World, obs: Observation) -> None:
    _sample_stock(world, obs)
    obs.statuses = dict(world.order_statuses())
    obs.final = {"stock": dict(world.stock()), "money": world.money()}
    obs.records = world.read_all_topics()
    world.collect(obs)
    obs.timeline = record_timeline(obs)
