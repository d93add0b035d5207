"""broker-failure on the simulated three-broker cluster: each half-fix fails on its own check with its
own hint, and the run shows what kafka-topics --describe would (leader moving, ISR shrinking)."""

from __future__ import annotations

from scenarios import session
from scenarios.labs.broker_failure.story import lost

FIX = {"replication_factor": 3, "min_insync_replicas": 2, "acks": "all"}


def failing(outcome) -> dict[str, str]:
    return {c.name: c.hint for c in outcome.checks if not c.passed}


def test_replication_factor_one_loses_every_record_the_dead_broker_acknowledged():
    outcome = session.check("broker-failure", {})
    obs = outcome.last
    gone = lost(obs)
    assert gone.get("orders", 0) > 0, gone  # orders-0 lived on the dead broker only
    assert any("replication_factor = 3" in hint for hint in failing(outcome).values())
    assert all(len(r.replicas) == 1 for _, rows in obs.describes for r in rows)
    assert obs.describes[1][1][0].leader is None  # orders-0 offline: its only broker is gone


def test_acks_all_with_min_isr_one_loses_nothing_here_but_accepts_writes_on_one_copy():
    outcome = session.check("broker-failure", {"replication_factor": 3, "acks": "all"})
    obs = outcome.last
    assert lost(obs) == {}
    hints = failing(outcome)
    assert list(hints) == ["with one broker left, acks=all writes are refused (NOT_ENOUGH_REPLICAS), not kept on one copy"]
    assert "min_insync_replicas = 2" in next(iter(hints.values()))
    assert [answer for _, answer in obs.probes] == [""]  # the lone broker acknowledged it


def test_the_fix_moves_the_leader_within_the_isr_refuses_on_one_copy_and_loses_nothing():
    outcome = session.check("broker-failure", FIX)
    assert outcome.passed, [c for c in outcome.checks if not c.passed]
    obs = outcome.last
    leaders = [next(r.leader for r in rows if r.partition == 0) for _, rows in obs.describes]
    isr = [len(next(r.isr for r in rows if r.partition == 0)) for _, rows in obs.describes]
    assert leaders[0] != leaders[1] and isr == [3, 2, 1, 2]
    assert "NOT_ENOUGH_REPLICAS" in obs.probes[0][1]
    assert any("NotEnoughReplicas" in e for e in obs.produce_errors)  # the services were refused too
