"""Learner-mode state kept between ``lab start`` and ``lab check``, in the current directory.

- ``.kafkalab/lab.json``: which lab is running, its mode and seed, and how many hints were shown.
  kafkalab writes it; the learner never needs to.
- ``.kafkalab/lab.toml``: the knobs, one table per lab. ``lab start`` writes the broken settings;
  the learner fixes the lab by editing them (the same names a real deployment would use), and
  ``lab check`` re-runs the system with whatever the file says now.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

Knob = str | int | float | bool


def lab_dir(cwd: Path | None = None) -> Path:
    """``$KAFKALAB_LAB_DIR``, else ``./.kafkalab``."""
    explicit = os.environ.get("KAFKALAB_LAB_DIR")
    return Path(explicit) if explicit else (cwd or Path.cwd()) / ".kafkalab"


@dataclass
class LabState:
    lab: str
    mode: str = "sim"
    seed: int = 0
    hints_shown: int = 0
    prefix: str = ""  # kafka mode: topics and groups of this lab run
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.lab}/{self.mode}"


class LabFiles:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root or lab_dir()

    @property
    def state_path(self) -> Path:
        return self.root / "lab.json"

    @property
    def knobs_path(self) -> Path:
        return self.root / "lab.toml"

    # ------------------------------------------------------------ state
    def load_states(self) -> dict[str, LabState]:
        try:
            raw = json.loads(self.state_path.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return {name: LabState(**data) for name, data in raw.get("labs", {}).items()}

    def state(self, lab: str) -> LabState | None:
        return self.load_states().get(lab)

    def save_state(self, state: LabState) -> None:
        states = self.load_states()
        states[state.lab] = state
        self.root.mkdir(parents=True, exist_ok=True)
        payload = {"labs": {name: asdict(s) for name, s in sorted(states.items())}}
        self.state_path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")

    # ------------------------------------------------------------ knobs
    def load_knobs(self) -> dict[str, dict[str, Any]]:
        try:
            with self.knobs_path.open("rb") as f:
                return tomllib.load(f)
        except FileNotFoundError:
            return {}

    def knobs(self, lab: str, defaults: Mapping[str, Knob]) -> dict[str, Any]:
        """The lab's defaults overlaid with what the file says now."""
        return {**defaults, **self.load_knobs().get(lab, {})}

    def write_knobs(self, lab: str, knobs: Mapping[str, Knob], comments: Mapping[str, str]) -> None:
        """Replace the lab's table, keeping the other labs' tables as they are."""
        tables = self.load_knobs()
        tables[lab] = dict(knobs)
        lines = [
            "# kafkalab lab settings: edit a value, then run `kafkalab lab check <lab>`.",
            "# Each table is one lab; the names are the settings a real deployment would change.",
        ]
        for name in sorted(tables):
            lines += ["", f"[{name}]"]
            for key, value in tables[name].items():
                note = comments.get(key, "") if name == lab else ""
                lines.append(f"{key} = {toml_value(value)}" + (f"  # {note}" if note else ""))
        self.root.mkdir(parents=True, exist_ok=True)
        self.knobs_path.write_text("\n".join(lines) + "\n")

    def set_knob(self, lab: str, key: str, value: Knob) -> None:
        """What a learner does with an editor, for tests and ``lab solve``."""
        tables = self.load_knobs()
        current = dict(tables.get(lab, {}))
        current[key] = value
        self.write_knobs(lab, current, {})


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string
