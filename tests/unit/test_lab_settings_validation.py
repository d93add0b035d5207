"""Bad input in .kafkalab/lab.toml: one clear line on stderr, exit 2, never a traceback, never a PASS."""

from __future__ import annotations

import pytest

from scenarios.cli import main
from tests.unit.test_lab_helpers import edit_setting, lab_dir  # noqa: F401  (lab_dir is a fixture)


def check_says(capsys, name: str) -> str:
    capsys.readouterr()
    code = main(["lab", "check", name])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert "PASS" not in out and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """.kafkalab/ as `lab start` leaves it for three labs (written directly: a start also plays the lab)."""
    from scenarios import labs, learner, session

    files = learner.LabFiles(tmp_path_factory.mktemp("started"))
    for name in ("poison-pill", "consumer-lag", "connectivity"):
        lab = labs.get(name)
        files.write_knobs(lab, lab.start_knobs(session.context("sim")))
        files.save(learner.LabState(name))
    return files.root


@pytest.fixture
def started(template, lab_dir, capsys):  # noqa: F811
    for name in ("lab.json", "lab.toml"):
        (lab_dir / name).write_text((template / name).read_text())
    capsys.readouterr()
    return lab_dir


@pytest.mark.parametrize(("key", "value", "says"), [
    ("dlq_enabled", "True", "TOML booleans are lowercase: dlq_enabled = true"),
    ("dlq_enabled", "yes please", "TOML syntax error"),
])
def test_a_toml_syntax_error_names_file_line_column_and_the_fix(started, capsys, key, value, says):
    edit_setting(started, "poison-pill", key, value)
    err = check_says(capsys, "poison-pill")
    assert says in err and f"{started / 'lab.toml'}:" in err
    line = next(i for i, text in enumerate((started / "lab.toml").read_text().splitlines(), 1) if text.startswith(key))
    assert f"lab.toml:{line}:" in err


@pytest.mark.parametrize(("table", "key", "value", "says"), [
    ("poison-pill", "dlq_enabled", '"false"', 'dlq_enabled: expected true or false (a TOML boolean, without quotes), '
                                              'got the string "false"'),
    ("connectivity", "bootstrap", "9092", 'bootstrap: expected text in double quotes'),
    ("consumer-lag", "inventory_instances", '"3"', "inventory_instances: expected a whole number"),
])
def test_a_wrong_type_names_the_key_and_the_expected_type(started, capsys, table, key, value, says):
    edit_setting(started, table, key, value)
    assert says in check_says(capsys, table)


def test_an_unknown_key_is_refused_with_a_did_you_mean(started, capsys):
    path = started / "lab.toml"
    path.write_text(path.read_text().replace("dlq_enabled =", "dlq_enable ="))
    err = check_says(capsys, "poison-pill")
    assert "unknown setting 'dlq_enable' (did you mean 'dlq_enabled'?)" in err


def test_an_unknown_table_is_refused_with_a_did_you_mean(started, capsys):
    path = started / "lab.toml"
    path.write_text(path.read_text() + "\n[poison-pil]\ndlq_enabled = true\n")
    assert "[poison-pil] is not a lab (did you mean 'poison-pill'?)" in check_says(capsys, "poison-pill")


@pytest.mark.parametrize(("key", "value", "says"), [
    ("rate", "10", "rate = 10 is refused: the load is what the lab is about (it must stay greater than or equal to 20)"),
    ("duration_s", "2", "duration_s = 2 is refused: a shorter load ends before the lag shows"),
    ("inventory_work_ms", "1", "inventory_work_ms = 1 is refused: the slow service is the lab's premise"),
])
def test_a_guarded_knob_cannot_switch_the_problem_off(started, capsys, key, value, says):
    edit_setting(started, "consumer-lag", key, value)
    assert says in check_says(capsys, "consumer-lag")


def test_a_bad_bootstrap_format_is_refused(started, capsys):
    edit_setting(started, "connectivity", "bootstrap", '"localhost"')
    assert "bootstrap:" in check_says(capsys, "connectivity")
