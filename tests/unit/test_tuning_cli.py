"""``kafkalab tune`` on the command line: sim mode end to end, and bad input as one line."""

from __future__ import annotations

import json

import pytest

from scenarios.cli import main


def test_sim_mode_json_is_one_labelled_object_and_the_same_every_run(capsys) -> None:
    assert main(["tune", "--mode", "sim", "--json", "--rate", "20000"]) == 0
    first = capsys.readouterr().out
    assert main(["tune", "--mode", "sim", "--json", "--rate", "20000"]) == 0
    assert capsys.readouterr().out == first
    document = json.loads(first)
    assert document["kind"] == "model" and document["label"] == "model, not a measurement"
    assert document["workload"]["rate"] == 20_000


def test_sim_mode_writes_an_html_report(tmp_path, capsys) -> None:
    target = tmp_path / "model.html"
    assert main(["tune", "--mode", "sim", "--quick", "--html", str(target)]) == 0
    out = capsys.readouterr()
    assert "model, not a measurement" in out.out and str(target) in out.err
    assert "new Chart(" in target.read_text()


@pytest.mark.parametrize("argv", [
    ["--vary", "linger.ms=-5"],
    ["--set", "acks=1", "--set", "enable.idempotence=true"],
    ["--record-size", "0"],
    ["--vary", "compression.type=brotli"],
])
def test_bad_settings_are_one_line_on_stderr_and_exit_2(argv, capsys) -> None:
    assert main(["tune", "--mode", "sim", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kafkalab tune: error: ") and err.count("\n") == 1 and "Traceback" not in err
