"""``kafkalab dlq list|show|redrive TOPIC`` on the simulator: the commands a lab prints work as printed,
redrive sends letters back (counting redrives) and --max-redrives refuses one that keeps coming back."""

from __future__ import annotations

import json
import shlex

import pytest

from scenarios.cli import main
from tests.unit.test_lab_helpers import lab_dir  # noqa: F401  (lab_dir is a fixture)


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    """.kafkalab/ after `lab start poison-pill` and `lab solve poison-pill --apply`, and what solve printed."""
    folder = tmp_path_factory.mktemp("solved")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KAFKALAB_LAB_DIR", str(folder))
        assert main(["lab", "start", "poison-pill", "--json"]) == 0
        verdict = _last_json(lambda: main(["lab", "solve", "poison-pill", "--apply", "--json"]))
    assert verdict["passed"]
    return folder, verdict


def _last_json(run) -> dict:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        run()
    return json.loads(out.getvalue().strip().splitlines()[-1])


@pytest.fixture
def fixed_poison(solved, lab_dir, capsys):  # noqa: F811
    folder, verdict = solved
    for path in folder.iterdir():
        if path.is_file():
            (lab_dir / path.name).write_bytes(path.read_bytes())
    capsys.readouterr()
    return verdict


def test_the_dlq_commands_a_lab_prints_work_exactly_as_printed(fixed_poison, capsys):
    printed = [line[2:] for line in fixed_poison["notes"] if line.startswith("$ kafkalab dlq")]
    assert any(" show payments.dlq " in line for line in printed), printed
    for command in printed:
        argv = shlex.split(command)[1:]
        capsys.readouterr()
        assert main(argv) == 0, command
    show = next(c for c in printed if " show payments.dlq " in c)
    capsys.readouterr()
    main([*shlex.split(show)[1:], "--json"])
    letter = json.loads(capsys.readouterr().out)
    assert letter["headers"]["dlq-consumer-group"] == "inventory-service" and "prod_ignore" in letter["error"]


def test_redrive_sends_letters_back_and_max_redrives_refuses_one_that_keeps_failing(fixed_poison, capsys):
    def redrive() -> dict:
        capsys.readouterr()
        assert main(["dlq", "redrive", "payments.dlq", "--max-redrives", "2", "--json"]) == 0
        return json.loads(capsys.readouterr().out)

    # The bug is not fixed: each redrive fails again and comes back with one more redrive counted.
    for expected_letters in (2, 3):
        result = redrive()
        assert result["redriven"] == 1 and result["dead_letters"] == expected_letters, result
    result = redrive()
    assert result["redriven"] == 0 and "redriven 2 times" in result["refused"][0], result
    capsys.readouterr()
    assert main(["dlq", "list", "payments.dlq", "--json"]) == 0
    counts = sorted(row["redrives"] for row in json.loads(capsys.readouterr().out)["dead_letters"])
    assert counts == [0, 1, 2]


def test_dlq_before_any_lab_says_what_to_do(lab_dir, capsys):  # noqa: F811
    capsys.readouterr()
    assert main(["dlq", "list"]) == 2
    assert "kafkalab lab start" in capsys.readouterr().err


def test_a_topic_that_is_not_a_dlq_is_refused_in_one_line(fixed_poison, capsys):
    capsys.readouterr()
    assert main(["dlq", "show", "payments", "0", "0"]) == 2
    err = capsys.readouterr().err
    assert "is not a dead-letter topic" in err and len(err.strip().splitlines()) == 1
