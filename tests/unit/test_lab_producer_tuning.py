"""producer-tuning on the simulator: the cost model's verdicts, labelled a model, with hints from what it saw."""

from __future__ import annotations

import pytest

from scenarios import session
from scenarios.engine.knobs import KnobError
from tests.unit.test_lab_helpers import edit_setting, lab_dir, lab_json  # noqa: F401  (lab_dir is a fixture)


def _checks(knobs):
    outcome = session.check("producer-tuning", knobs)
    return {c.name: c for c in outcome.checks}, outcome.last


def test_one_record_per_request_is_saturated_and_the_hint_says_to_batch():
    found, obs = _checks({})
    (figures,) = obs.measurements
    assert figures["kind"] == "model" and figures["saturated"] and figures["requests_per_s"] == 9_000
    assert figures["offer"] == {**figures["offer"], "one_per_request_msgs_per_s": 3_000, "offered_msgs_per_s": 9_000,
                                "target_msgs_per_s": 8_100, "capped": False}
    assert all("cost model, not a measurement" in name for name in found)
    throughput = found["at least 90% of 3 × what one record per request carries here (cost model, not a measurement)"]
    assert "3,000 msgs/s of 9,000 offered" in throughput.detail and "3 × 3,000/s" in throughput.detail
    assert not any(c.passed for c in found.values())
    assert "batch_num_messages = 10000" in next(iter(found.values())).hint


def test_a_long_linger_meets_the_throughput_but_not_the_p99():
    found, _ = _checks({"linger_ms": 200, "batch_num_messages": 10_000})
    throughput, p99 = found.values()
    assert throughput.passed and not p99.passed and "199.0 ms" in p99.detail
    assert "shorten linger_ms" in p99.hint


def test_librdkafkas_defaults_meet_the_target_in_the_model():
    found, _ = _checks({"linger_ms": 5, "batch_num_messages": 10_000})
    assert all(c.passed for c in found.values())


def test_the_offered_rate_is_guarded(lab_dir, capsys):  # noqa: F811
    with pytest.raises(KnobError, match="offer_multiple = 2 is refused: the offered load is the target"):
        session.check("producer-tuning", {"offer_multiple": 2})
    lab_json(capsys, "lab", "start", "producer-tuning")
    edit_setting(lab_dir, "producer-tuning", "compression", '"brotli"')
    capsys.readouterr()
    from scenarios.cli import main

    assert main(["lab", "check", "producer-tuning"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "compression" in err[0]


def test_the_offer_is_a_multiple_of_the_one_per_request_ceiling_capped_by_what_batching_carries():
    from scenarios.tuning.lab_run import offer_of

    free = offer_of(4, 10_000, 300_000, "measurement")  # a quiet machine: batching carries 30 × more
    assert (free["offered_msgs_per_s"], free["capped"], free["target_msgs_per_s"]) == (40_000, False, 36_000)
    capped = offer_of(4, 10_000, 120_000, "measurement")  # a quarter of 120,000 is below 4 ×
    assert (capped["offered_msgs_per_s"], capped["capped"], capped["effective_multiple"]) == (30_000, True, 3.0)
    floor = offer_of(4, 10_000, 40_000, "measurement")  # batching barely better: still twice the ceiling
    assert (floor["offered_msgs_per_s"], floor["effective_multiple"]) == (20_000, 2.0)
