"""Replay proves something: for every lab, a recorded run replays line for line; a one-line edit of the
trace body, a truncated trace, or an edited script step does not (exit 1, with the reason)."""

from __future__ import annotations

import json

import pytest

from scenarios import labs
from scenarios.cli import main
from scenarios.engine import record


def run_json(capsys, *argv: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out.strip().splitlines()[-1])


class _Recordings(dict):
    """name -> its trace file: the lab's demonstration as ``scenario run NAME --trace f`` writes it."""

    def __init__(self, folder, demos) -> None:
        super().__init__()
        self.folder, self.demos = folder, demos

    def __missing__(self, name: str):
        path = self.folder / f"{name}.jsonl"
        record.write_trace(self.demos[name], path)
        self[name] = path
        return path


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, demos):
    return _Recordings(tmp_path_factory.mktemp("traces"), demos)


def test_scenario_run_trace_writes_what_replay_reads(tmp_path, demos):
    path = tmp_path / "happy.jsonl"
    assert main(["scenario", "run", "happy-path", "--trace", str(path), "--json"]) == 0
    record.write_trace(demos["happy-path"], tmp_path / "same.jsonl")
    assert path.read_text() == (tmp_path / "same.jsonl").read_text()


def edited_copy(path, tmp_path, edit) -> str:
    lines = path.read_text().splitlines()
    lines = edit(lines)
    out = tmp_path / f"edited-{path.name}"
    out.write_text("\n".join(lines) + "\n")
    return str(out)


@pytest.mark.parametrize("name", list(labs.LABS))
def test_a_recorded_run_replays_line_for_line(name, recorded, capsys):
    code, payload = run_json(capsys, "replay", str(recorded[name]))
    assert code == 0 and payload["replay"]["reproduced"] is True, payload["replay"]
    assert payload["replay"]["recorded_body_intact"] is True and payload["replay"]["first_difference"] is None


@pytest.mark.parametrize("name", list(labs.LABS))
def test_a_one_line_edit_of_the_trace_body_does_not_reproduce(name, recorded, tmp_path, capsys):
    def tamper(lines):
        i = len(lines) // 2
        return [*lines[:i], lines[i].replace('"t":', '"t": '), *lines[i + 1:]]

    code, payload = run_json(capsys, "replay", edited_copy(recorded[name], tmp_path, tamper))
    assert code == 1 and payload["replay"]["reproduced"] is False
    assert payload["replay"]["recorded_body_intact"] is False


@pytest.mark.parametrize("name", list(labs.LABS))
def test_a_truncated_trace_does_not_reproduce(name, recorded, tmp_path, capsys):
    code, payload = run_json(capsys, "replay", edited_copy(recorded[name], tmp_path, lambda lines: lines[:-3]))
    assert code == 1 and payload["replay"]["reproduced"] is False


def _edit_quantity(lines):
    head = json.loads(lines[0])
    for stage in head["script"]["stages"]:
        for phase in stage["phases"]:
            for step in phase["steps"]:
                if step["op"] in ("place_order", "load"):  # an order's quantity, as a person would edit it
                    step["quantity"] = 7 if step["quantity"] != 7 else 1
                    return [json.dumps(head, sort_keys=True, separators=(",", ":")), *lines[1:]]
                if step["op"] == "measure_producer":  # a producer setting
                    step["settings"]["linger_ms"] += 1
                    return [json.dumps(head, sort_keys=True, separators=(",", ":")), *lines[1:]]
                if step["op"] == "call" and step["action"] == "put":  # a profile a lab component writes
                    step["args"]["profile"]["version"] += 10
                    return [json.dumps(head, sort_keys=True, separators=(",", ":")), *lines[1:]]
    for stage in head["script"]["stages"]:  # a lab without orders (exactly-once): how long a wait lasts
        for phase in stage["phases"]:
            for step in phase["steps"]:
                if step["op"] == "advance":
                    step["ms"] += 1_000
                    return [json.dumps(head, sort_keys=True, separators=(",", ":")), *lines[1:]]
    raise AssertionError("no step with a quantity or a duration to edit")


@pytest.mark.parametrize("name", list(labs.LABS))
def test_an_edited_script_step_does_not_reproduce_and_names_the_first_differing_line(name, recorded, tmp_path,
                                                                                      capsys):
    code, payload = run_json(capsys, "replay", edited_copy(recorded[name], tmp_path, _edit_quantity))
    diff = payload["replay"]["first_difference"]
    assert code == 1 and payload["replay"]["reproduced"] is False and payload["replay"]["recorded_body_intact"]
    assert diff["line"] >= 2 and diff["expected"] != diff["got"]


def test_the_human_replay_report_says_where_it_differs(recorded, tmp_path, capsys):
    capsys.readouterr()
    assert main(["replay", edited_copy(recorded["happy-path"], tmp_path, _edit_quantity)]) == 1
    out = capsys.readouterr().out
    assert "DID NOT reproduce" in out and "first differing line:" in out and "expected:" in out and "got:" in out
