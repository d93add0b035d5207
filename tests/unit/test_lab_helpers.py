"""Drive learner mode the way a learner does: the CLI, and an edit of .kafkalab/lab.toml."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scenarios.cli import main


def lab_json(capsys, *argv: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def edit_setting(lab_dir: Path, table: str, key: str, value: str) -> None:
    """Change ``key`` in ``[table]`` of lab.toml with a text edit, as a learner's editor would."""
    path = lab_dir / "lab.toml"
    text = path.read_text()
    section = text.index(f"[{table}]")
    head, tail = text[:section], text[section:]
    tail, n = re.subn(rf"(?m)^{re.escape(key)} = .*$", f"{key} = {value}", tail, count=1)
    assert n == 1, f"{key} not in [{table}] of {path}"
    path.write_text(head + tail)


@pytest.fixture
def lab_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("KAFKALAB_LAB_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path
