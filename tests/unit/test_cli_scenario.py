"""The ``kafkalab scenario`` and ``kafkalab replay`` command line, run as a user runs it: in subprocesses
where the process matters (one JSON line on stdout, hash seeds, pipes), in-process elsewhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OUTCOME_KEYS = {"scenario", "mode", "seed", "passed", "checks", "orders", "dlq", "trace_sha256", "stages",
                "not_available"}


def kafkalab(*args: str, hashseed: str = "0") -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PYTHONHASHSEED": hashseed}
    return subprocess.run(
        [sys.executable, "-m", "scenarios", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def only_json(proc: subprocess.CompletedProcess[str]) -> dict:
    """stdout must be exactly one JSON object (one line), nothing else."""
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, f"stdout is not one line: {proc.stdout!r} (stderr {proc.stderr[-2000:]!r})"
    payload = json.loads(lines[0])
    assert isinstance(payload, dict)
    return payload


def in_process(capsys, *args: str) -> tuple[int, str]:
    from scenarios.cli import main

    capsys.readouterr()
    code = main(list(args))
    return code, capsys.readouterr().out


def test_scenario_list_names_the_saga_labs_first_as_json(capsys):
    code, out = in_process(capsys, "scenario", "list", "--json")
    assert code == 0
    items = json.loads(out)["scenarios"]
    assert [s["name"] for s in items] == ["happy-path", "stock-rollback", "poison-pill", "chaos", "connectivity",
                                          "startup-race", "consumer-lag", "broker-failure"]
    assert all(set(s) == {"name", "summary"} and s["summary"] for s in items)


def test_scenario_list_prints_one_line_per_lab(capsys):
    code, out = in_process(capsys, "scenario", "list")
    listed = json.loads(in_process(capsys, "scenario", "list", "--json")[1])["scenarios"]
    assert code == 0
    assert len(out.splitlines()) == len(listed) and "stock-rollback" in out


@pytest.mark.parametrize("name", ["happy-path", "stock-rollback", "poison-pill", "chaos"])
def test_run_json_prints_one_object_with_the_outcome_shape_and_exits_zero(name):
    proc = kafkalab("scenario", "run", name, "--seed", "1", "--json")
    payload = only_json(proc)
    assert set(payload) == OUTCOME_KEYS
    assert (payload["scenario"], payload["mode"], payload["seed"]) == (name, "sim", 1)
    assert all(set(c) == {"name", "passed", "detail"} for c in payload["checks"])
    failed = [c for c in payload["checks"] if not c["passed"]]
    assert payload["passed"] and not failed, failed
    assert proc.returncode == 0
    assert len(payload["trace_sha256"]) == 64


def test_same_seed_gives_the_same_trace_hash_under_different_hash_seeds():
    a = only_json(kafkalab("scenario", "run", "chaos", "--seed", "5", "--json", hashseed="1"))
    b = only_json(kafkalab("scenario", "run", "chaos", "--seed", "5", "--json", hashseed="12345"))
    assert a["trace_sha256"] == b["trace_sha256"]
    assert a == b


def test_different_seed_gives_a_different_trace_hash():
    from scenarios import session

    fixed = {"dlq_enabled": True, "idempotent_consumers": True}
    a, b = (session.check("chaos", fixed, seed=seed) for seed in (5, 6))
    assert a.trace_sha256 != b.trace_sha256


def test_replay_of_a_script_reproduces_the_trace_exactly(tmp_path):
    script = tmp_path / "poison-9.json"
    recorded = only_json(kafkalab("scenario", "run", "poison-pill", "--seed", "9", "--json", "--script-out",
                                  str(script)))
    replayed = kafkalab("replay", str(script), "--json", hashseed="777")
    payload = only_json(replayed)
    assert replayed.returncode == 0, replayed.stderr
    assert payload["replay"]["reproduced"] is True
    assert payload["trace_sha256"] == recorded["trace_sha256"]


def test_replay_of_a_trace_file_reproduces_and_reports_it(tmp_path):
    trace = tmp_path / "poison.trace"
    proc = kafkalab("scenario", "run", "poison-pill", "--trace", str(trace))
    assert proc.returncode == 0, proc.stderr
    head = json.loads(trace.read_text().splitlines()[0])
    assert head["script"]["lab"] == "poison-pill"
    replayed = kafkalab("replay", str(trace))
    assert replayed.returncode == 0, replayed.stderr
    assert "reproduced exactly" in replayed.stdout


def test_replay_says_when_a_run_does_not_reproduce(tmp_path):
    script = tmp_path / "happy.json"
    kafkalab("scenario", "run", "happy-path", "--json", "--script-out", str(script))
    data = json.loads(script.read_text())
    data["expect"]["trace_sha256"] = "0" * 64
    script.write_text(json.dumps(data))
    replayed = kafkalab("replay", str(script), "--json")
    assert replayed.returncode == 1
    assert only_json(replayed)["replay"]["reproduced"] is False


def test_replay_of_a_malformed_file_exits_2_with_a_message(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    proc = kafkalab("replay", str(bad))
    assert proc.returncode == 2 and "replay:" in proc.stderr and proc.stdout == ""


def test_every_lab_demonstration_passes_on_the_simulator(demos):
    from scenarios import labs

    failed = {name: [c.name for c in demos[name].checks if not c.passed] for name in labs.LABS if not demos[name].passed}
    assert failed == {}


def test_run_all_runs_every_lab_and_exits_zero_when_all_pass(capsys, demos, monkeypatch):
    from scenarios import labs, session

    outcomes = {name: demos[name] for name in labs.LABS}  # played (or cached) before session.demo is replaced
    played = []
    monkeypatch.setattr(session, "demo", lambda name, mode, seed, settings: played.append(name) or outcomes[name])
    code, out = in_process(capsys, "scenario", "run-all", "--json")
    payload = json.loads(out)
    assert played == [r["scenario"] for r in payload["results"]] == [
        "happy-path", "stock-rollback", "poison-pill", "chaos", "connectivity", "startup-race", "consumer-lag",
        "broker-failure"]
    assert payload["passed"] is True and code == 0


def test_human_output_narrates_the_saga():
    proc = kafkalab("scenario", "run", "stock-rollback")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for word in ("PaymentCompleted", "InventoryFailed", "PaymentRefunded", "PASSED"):
        assert word in proc.stdout


def test_help_lists_every_lab_and_every_command():
    proc = kafkalab("--help")
    for word in ("happy-path", "stock-rollback", "poison-pill", "chaos", "connectivity", "startup-race",
                 "consumer-lag", "scenario", "replay", "lab", "dlq", "load", "up", "down", "scale", "ps",
                 "kafka", "kafka-cli", "db", "up --mode sim"):
        assert word in proc.stdout, word


def test_output_piped_into_head_ends_quietly():
    done = subprocess.run(f"{sys.executable} -m scenarios scenario run poison-pill --verbose | head -3",
                          shell=True, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert len(done.stdout.splitlines()) == 3
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
