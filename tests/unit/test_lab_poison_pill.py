from __future__ import annotations

import json

import pytest

from scenarios.cli import main
from tests.unit.test_lab_helpers import edit_setting, lab_dir, lab_json  # noqa: F401  (lab_dir is a fixture)


def test_poison_pill_lab_is_stuck_without_dlq_and_passes_with_it(lab_dir, capsys):  # noqa: F811
    assert lab_json(capsys, "lab", "start", "poison-pill")[0] == 0
    code, verdict = lab_json(capsys, "lab", "check", "poison-pill")
    failed = {c["name"]: c["detail"] for c in verdict["checks"] if not c["passed"]}
    assert code == 1 and "no stuck partition" in failed and verdict["hint"]

    edit_setting(lab_dir, "poison-pill", "dlq_enabled", "true")
    code, verdict = lab_json(capsys, "lab", "check", "poison-pill")
    assert code == 0 and verdict["passed"], verdict

    capsys.readouterr()
    assert main(["dlq", "list", "payments.dlq", "--json"]) == 0
    letters = json.loads(capsys.readouterr().out)["dead_letters"]
    assert len(letters) == 1
    assert letters[0]["source"].startswith("payments[") and "prod_ignore" in letters[0]["error"]


def test_poison_demo_one_partition_stuck_others_flow_then_dlq(demos):
    outcome = demos["poison-pill"]
    assert outcome.passed, [c for c in outcome.checks if not c.passed]
    assert outcome.dlq.get("payments.dlq") == 1


def test_redrive_adds_a_count_and_refuses_a_record_that_keeps_failing():
    from scenarios.ops import dlq
    from services.ports import Record

    headers = (("event-type", b"PaymentCompleted"), ("dlq-source-topic", b"payments"), ("dlq-error", b"boom"))
    letter = Record("payments.dlq", 0, 7, b"k", b"v", headers)
    copy = dlq.redrive_of(letter)
    assert copy.topic == "payments"
    assert dict(copy.headers)["dlq-redrive-count"] == b"1" and "dlq-error" not in dict(copy.headers)
    tired = Record("payments.dlq", 0, 8, b"k", b"v", (*headers, ("dlq-redrive-count", b"3")))
    with pytest.raises(dlq.RedriveRefused, match="3 times"):
        dlq.redrive_of(tired, max_redrives=3)
