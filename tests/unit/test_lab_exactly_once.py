"""exactly-once on the simulator: the duplicates made (a lost ack, a crash between produce and commit)
are shown by event id, offsets and producer-seq and counted per event id; each half of the fix removes
its half; read_uncommitted still reads the aborted transaction; impossible settings are refused before
anything runs."""

from __future__ import annotations

import json

import pytest

from scenarios import session
from scenarios.cli import main
from tests.unit.test_lab_helpers import edit_setting, lab_dir, lab_json  # noqa: F401  (lab_dir is a fixture)

ZERO = {"lost": 0, "duplicated": 0, "read_while_aborted": 0}


def counts(outcome, name: str) -> dict:
    (found,) = [c for c in outcome.checks if c.name.endswith(name)]
    return dict(found.counts)


def test_the_demo_shows_both_duplicates_then_the_fix_counts_zero_of_each(demos):
    outcome = demos["exactly-once"]
    assert outcome.passed, [c for c in outcome.checks if not c.passed]
    broken, fixed = outcome.stages
    log = next(c for c in broken.checks if "lost ack" in c.name)
    assert log.counts == {**ZERO, "duplicated": 1}
    assert "pay-000 at payment-events-0@0 (producer-seq 0) and payment-events-0@1 (producer-seq 0)" in log.detail
    down = next(c for c in broken.checks if "downstream" in c.name)
    assert down.counts["duplicated"] >= 1 and down.counts["lost"] == 0 and "ledger-" in down.detail
    assert [c.counts for c in fixed.checks if c.counts] == [ZERO, ZERO]
    fenced = next(c for c in fixed.checks if "zombie" in c.name)
    assert fenced.passed and "epoch" in fenced.detail


@pytest.mark.parametrize(("knobs", "aborted_reads", "hint"), [
    ({"enable_idempotence": True}, False, "transactional = true"),
    ({"transactional": True, "enable_idempotence": True}, True, 'isolation_level = "read_committed"'),
])
def test_each_half_of_the_fix_removes_its_half(knobs, aborted_reads, hint):
    outcome = session.check("exactly-once", knobs)
    assert not outcome.passed
    assert counts(outcome, "in the payments log") == ZERO  # idempotence: the resend was dropped
    down = counts(outcome, "booked once downstream")
    assert down["lost"] == 0 and down["duplicated"] >= 1 and bool(down["read_while_aborted"]) is aborted_reads
    failing = next(c for c in outcome.checks if not c.passed)
    assert hint in failing.hint


def test_the_counts_are_in_the_json_output(capsys):
    capsys.readouterr()
    assert main(["scenario", "run", "exactly-once", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    shown = [c["counts"] for c in payload["checks"] if "counts" in c]
    assert shown[-2:] == [ZERO, ZERO] and shown[0]["duplicated"] == 1


@pytest.mark.parametrize(("key", "value", "reason"), [
    ("acks", '"1"', "an idempotent producer needs every in-sync replica's ack"),
    ("transactional_id", '"ledger"', "is shared by 2 ledger instances"),
    ("transactional_id", '"ledger-{pod}"', "the only placeholder it may hold is {instance}"),
])
def test_impossible_settings_are_refused_with_the_reason_before_anything_runs(key, value, reason, lab_dir,  # noqa: F811
                                                                             capsys):
    assert lab_json(capsys, "lab", "start", "exactly-once")[0] == 0
    edit_setting(lab_dir, "exactly-once", "enable_idempotence", "true")
    edit_setting(lab_dir, "exactly-once", "transactional", "true")
    edit_setting(lab_dir, "exactly-once", "ledger_instances", "2")
    edit_setting(lab_dir, "exactly-once", key, value)
    state = (lab_dir / "lab.json").read_text()
    capsys.readouterr()
    assert main(["lab", "check", "exactly-once"]) == 2
    captured = capsys.readouterr()
    assert reason in captured.err and len(captured.err.strip().splitlines()) == 1 and "Traceback" not in captured.err
    assert captured.out == "" and (lab_dir / "lab.json").read_text() == state  # nothing ran, nothing changed


def test_slow_network_is_not_available_on_the_simulator_and_says_so():
    from scenarios.engine.model import Phase, Step
    from scenarios.engine.runner import play_phase
    from scenarios.engine.spec import WorldSpec
    from scenarios.settings import Settings
    from scenarios.worlds import open_world_now

    world = open_world_now("sim", 0, WorldSpec(), Settings.resolve())
    try:
        obs = play_phase(Phase("latency", WorldSpec(), (Step("slow_network", {"ms": 50}),)), world)
    finally:
        world.close()
    assert obs.not_available == ["slow_network ms=50: not available in the sim world (the simulator has no network "
                                 "latency; use slow)"]
