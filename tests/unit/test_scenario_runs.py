"""Lab runs on the simulator: each demonstration passes, chaos holds every invariant for many seeds,
runs repeat exactly, and the checks themselves can fail (they are not decoration)."""

from __future__ import annotations

import dataclasses
import os

import pytest

from scenarios import session
from scenarios.engine.checks import dlq_checks, invariant_checks
from scenarios.engine.model import Script, Stage, Step

CHAOS_SEEDS = int(os.environ.get("KAFKALAB_CHAOS_SEEDS", "12"))
FIXED = {"dlq_enabled": True, "idempotent_consumers": True}


def failed(outcome) -> list:
    return [(c.name, c.detail) for c in outcome.checks if not c.passed]


@pytest.mark.parametrize("name", ["happy-path", "stock-rollback", "poison-pill"])
def test_lab_passes_every_check_on_the_simulator(name, demos):
    outcome = demos[name]  # session.demo(name, "sim", seed=0), played once per test process
    assert outcome.passed, failed(outcome)


def test_happy_path_completes_one_order_and_dead_letters_nothing():
    outcome = session.check("happy-path", {"amount": 250.50})
    assert outcome.orders == {"COMPLETED": 1}
    assert sum(outcome.dlq.values()) == 0


def test_stock_rollback_cancels_after_a_refund():
    outcome = session.check("stock-rollback", {"payment_topics": ["orders", "inventory"]})
    assert outcome.orders == {"CANCELLED": 1}
    kinds = [e.event_type for e in outcome.last.timeline if e.event_type]
    assert kinds == ["OrderCreated", "PaymentCompleted", "InventoryFailed", "PaymentRefunded"]


def test_poison_pill_dead_letters_one_raw_record_and_one_poison_event():
    outcome = session.check("poison-pill", {"dlq_enabled": True})
    assert outcome.dlq == {"inventory.dlq": 0, "orders.dlq": 1, "payments.dlq": 1}
    assert outcome.orders == {"CANCELLED": 1, "COMPLETED": 13}


@pytest.mark.parametrize("seed", range(CHAOS_SEEDS))
def test_chaos_holds_every_invariant(seed):
    outcome = session.check("chaos", FIXED, seed=seed)
    assert outcome.passed, failed(outcome)


def test_chaos_without_idempotent_consumers_applies_a_redelivered_event_twice():
    outcome = session.check("chaos", {**FIXED, "idempotent_consumers": False}, seed=0)
    verdicts = {c.name: c.passed for c in outcome.checks}
    assert verdicts["no effect applied twice"] is False and sum(outcome.last.redeliveries.values()) > 0


def test_a_run_repeats_exactly_in_process():
    a, b = session.check("chaos", FIXED, seed=3), session.check("chaos", FIXED, seed=3)
    assert a.trace_sha256 == b.trace_sha256 and a.trace_lines == b.trace_lines


def test_replaying_a_script_does_not_need_the_generator(tmp_path):
    from scenarios import labs

    script = labs.get("chaos").check_script(labs.get("chaos").knobs_of(FIXED), session.context("sim", 4))
    (stage,) = script.stages
    (phase,) = stage.phases
    steps = phase.steps[:-1] + (Step("advance", {"ms": 5}), phase.steps[-1])
    edited = Script(script.lab, script.seed, "sim",
                    (Stage(stage.label, stage.expect, stage.knobs, (dataclasses.replace(phase, steps=steps),)),))
    path = tmp_path / "edited.json"
    path.write_text(edited.dumps())
    report = session.replay(path)
    assert report.outcome.script == edited and report.reproduced is None  # nothing recorded to compare


def test_invariant_checks_catch_a_lost_order_and_unbalanced_money():
    obs = session.check("happy-path", {"amount": 250.50}).last
    broken = dataclasses.replace(obs, statuses={k: "PENDING" for k in obs.statuses},
                                 final={**obs.final, "money": {"charged": 999, "refunded": 0}})
    verdicts = {c.name: c.passed for c in invariant_checks(broken)}
    assert verdicts["every accepted order is terminal"] is False
    assert verdicts["charged - refunded == total of completed orders"] is False


def test_invariant_checks_catch_stock_below_zero():
    obs = session.check("happy-path", {"amount": 250.50}).last
    broken = dataclasses.replace(obs, min_stock={**obs.min_stock, "prod_123": -1})
    assert {c.name: c.passed for c in invariant_checks(broken)}["stock never below zero"] is False


@pytest.fixture(scope="module")
def poison_observation():
    return session.check("poison-pill", {"dlq_enabled": True}).last


def test_dlq_checks_catch_a_missing_dead_letter(poison_observation):
    obs = poison_observation
    records = {**obs.records, "orders.dlq": []}
    verdicts = {c.name: c.passed for c in dlq_checks(dataclasses.replace(obs, records=records))}
    assert verdicts["raw poison dead-lettered exactly once each"] is False


def test_dlq_checks_catch_a_dead_letter_without_its_headers(poison_observation):
    obs = poison_observation
    (letter,) = obs.records["orders.dlq"]
    stripped = dataclasses.replace(letter, headers=tuple(h for h in letter.headers if h[0] != "dlq-attempts"))
    records = {**obs.records, "orders.dlq": [stripped]}
    verdicts = {c.name: c.passed for c in dlq_checks(dataclasses.replace(obs, records=records))}
    assert verdicts["dead letters name source topic, partition, offset, error, attempts"] is False
