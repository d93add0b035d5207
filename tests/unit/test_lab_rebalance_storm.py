"""rebalance-storm on the simulator: each lever alone is not enough, the consumer protocol passes with
static members and a bounded batch; and the figures, from hand-made callbacks."""

from __future__ import annotations

from scenarios import session
from scenarios.engine.model import Phase
from scenarios.engine.observation import Observation, Rebalance
from scenarios.labs.rebalance_storm.figures import figures


def _failed(outcome) -> dict[str, str]:
    return {c.name: c.hint for c in outcome.checks if not c.passed}


def test_static_members_with_an_eager_assignor_still_stop_the_world_at_the_scale_out():
    failed = _failed(session.check("rebalance-storm", {"static_membership": True, "max_records": 10}))
    assert list(failed) == ["no stop-the-world pause"] and "cooperative-sticky" in failed["no stop-the-world pause"]


def test_the_consumer_protocol_with_static_members_and_a_bounded_batch_passes():
    outcome = session.check("rebalance-storm", {"group_protocol": "consumer", "static_membership": True,
                                                "max_records": 10})
    assert outcome.passed, _failed(outcome)


def _rb(at, member, assigned=(), revoked=(), *, first=False, closing=False) -> Rebalance:
    return Rebalance(at, "g", member, tuple(assigned), tuple(revoked), first, closing)


def test_figures_count_idle_members_bursts_and_redeliveries_but_not_starts_and_stops():
    obs = Observation(Phase("p", None, ()), "sim")  # type: ignore[arg-type]
    obs.joined = [(0, "g", "a"), (0, "g", "b"), (5_000, "g", "a")]
    obs.rebalances = [
        _rb(0, "a", ["t-0", "t-1"], first=True), _rb(0, "b", [], first=True),
        _rb(1_000, "a", revoked=["t-0", "t-1"]),  # eager: a gives everything up...
        _rb(1_400, "b", ["t-1"]), _rb(1_400, "a", ["t-0"]),  # ...and waits 400 ms: one burst
        _rb(4_000, "a", revoked=["t-0"], closing=True),  # a restarts (its own stop)...
        _rb(5_100, "a", ["t-0"], first=True),  # ...and start: no rebalance of the others
    ]
    obs.redeliveries = {"g": 7}
    fig = figures(obs, "g", since_ms=500, end_ms=6_500)
    assert (fig.stop_the_world_ms, fig.longest_stop_ms, fig.rebalances, fig.redelivered) == (400, 400, 1, 7)
    assert fig.per_minute == 10.0 and "stop-the-world 0.4s" in fig.text()
