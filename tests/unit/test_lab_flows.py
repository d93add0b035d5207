"""Every lab in learner mode on the simulator: start -> check fails with a hint -> solve --apply, whose
check passes (solve --apply writes the fix and runs `lab check` itself)."""

from __future__ import annotations

import tomllib

import pytest

from scenarios import labs, session
from tests.unit.test_lab_helpers import lab_dir, lab_json  # noqa: F401  (lab_dir is a fixture)


@pytest.mark.parametrize("name", list(labs.LABS))
def test_start_check_fails_with_a_hint_solve_apply_then_check_passes(name, lab_dir, capsys):  # noqa: F811
    code, started = lab_json(capsys, "lab", "start", name)
    assert code == 0 and started["task"] and started["symptom"] and started["docs"] == f"docs/labs/{name}.md"

    code, verdict = lab_json(capsys, "lab", "check", name)
    assert code == 1 and verdict["passed"] is False and verdict["hint"], verdict
    assert any(not c["passed"] for c in verdict["checks"])

    code, solved = lab_json(capsys, "lab", "solve", name, "--apply")
    assert code == 0 and solved["passed"] is True and solved["hint"] is None, solved

    tables = tomllib.loads((lab_dir / "lab.toml").read_text())  # what solve wrote is valid TOML
    assert tables[name] == labs.get(name).fixed_knobs(session.context("sim")).values()


def test_solve_without_apply_prints_valid_toml_and_changes_nothing(lab_dir, capsys):  # noqa: F811
    lab_json(capsys, "lab", "start", "poison-pill")
    before = (lab_dir / "lab.toml").read_text()
    code, shown = lab_json(capsys, "lab", "solve", "poison-pill")
    assert code == 0 and tomllib.loads(shown["toml"]) == {"poison-pill": {"dlq_enabled": True}}
    assert "dlq_enabled = true" in shown["toml"] and "True" not in shown["toml"]
    assert (lab_dir / "lab.toml").read_text() == before


def test_check_before_start_says_to_start_the_lab(lab_dir, capsys):  # noqa: F811
    from scenarios.cli import main

    capsys.readouterr()
    assert main(["lab", "check", "consumer-lag"]) == 2
    err = capsys.readouterr().err
    assert "kafkalab lab start consumer-lag" in err and len(err.strip().splitlines()) == 1
