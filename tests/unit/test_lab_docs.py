"""Every lab has its page in docs/labs/, with the sections a learner needs, and its settings shown
there as valid TOML (the way lab.toml must be written: true, not True)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from scenarios import labs

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ("## Concept", "## Symptom", "## Root cause", "## Fix", "## How to check", "## Further reading")


@pytest.mark.parametrize("name", list(labs.LABS))
def test_every_lab_has_a_docs_page_with_every_section(name):
    lab = labs.get(name)
    page = ROOT / lab.docs
    assert page.is_file(), f"{lab.docs} is missing"
    text = page.read_text()
    assert [s for s in SECTIONS if s not in text] == []
    assert lab.task and lab.solution and lab.look


@pytest.mark.parametrize("name", list(labs.LABS))
def test_the_fix_on_the_docs_page_is_valid_toml_for_the_lab(name):
    lab = labs.get(name)
    text = (ROOT / lab.docs).read_text()
    fix = text.split("## Fix", 1)[1].split("\n## ", 1)[0]
    lines = [line.strip() for line in fix.splitlines() if re.match(r"\s{4}\w+ = ", line)]
    assert lines, "the Fix section shows the setting to write"
    values = tomllib.loads("\n".join(lines))
    lab.knobs_of({**lab.knobs().values(), **values})  # valid for the lab's typed knobs
    assert "True" not in fix and "False" not in fix


def test_the_architecture_page_names_every_room():
    text = (ROOT / "docs" / "architecture.md").read_text()
    rooms = {p.name.removesuffix(".py") for p in (ROOT / "scenarios").iterdir()
             if not p.name.startswith("__") and not p.name.removesuffix(".py").endswith("_cli")
             and ((p / "__init__.py").is_file() or p.suffix == ".py")}  # *_cli.py: the cli room
    assert [r for r in sorted(rooms) if f"`{r}" not in text] == []
