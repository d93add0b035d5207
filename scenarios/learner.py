"""Learner mode: ``lab start``, ``lab check``, ``lab solve``, with their state in ``.kafkalab/``.

- ``lab.toml``: the knobs, one table per lab. ``lab start`` writes the broken start; the learner edits
  it (the names a real deployment would use); ``lab check`` validates it against the lab's typed
  knobs and plays the lab with it; ``lab solve --apply`` writes the reference fix.
- ``lab.json``: which labs were started, in which mode and seed, the last lab touched, and what the
  last check left behind (kafka: its runs' topic prefixes; both: the redrives done since).
- ``<lab>.last.json``: the script of the last check, so ``kafkalab dlq`` can rebuild the simulated
  world it looks at, exactly (redrives are replayed on top of it as steps).
- ``sim-registry.json``: a simulated Avro check's schema registry, for ``kafkalab schema list|show|diff``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from scenarios import labs, session
from scenarios.engine.knobs import KnobError, Knobs, read_lab_toml, render_table, validate_knobs
from scenarios.engine.lab import Lab
from scenarios.engine.model import Script
from scenarios.engine.observation import Outcome
from scenarios.settings import Settings

SIM_REGISTRY_FILE = "sim-registry.json"  # where `kafkalab schema --mode sim` looks (.kafkalab/sim-registry.json)

HEADER = ["# kafkalab lab settings: edit a value, then run `kafkalab lab check <lab>`.",
          "# Each table is one lab; the names are the settings a real deployment would change."]


class NotStarted(KnobError):
    """``lab check`` (or ``dlq``) before ``lab start``."""


@dataclass
class LabState:
    lab: str
    mode: str = "sim"
    seed: int = 0
    prefixes: list[str] = field(default_factory=list)  # kafka: the kl-<run>- prefixes the last check kept
    redrives: list[dict[str, Any]] = field(default_factory=list)  # redrive steps since the last check
    redriven: list[str] = field(default_factory=list)  # kafka: "topic/partition/offset" sent back already


class LabFiles:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def state_path(self) -> Path:
        return self.root / "lab.json"

    @property
    def knobs_path(self) -> Path:
        return self.root / "lab.toml"

    def last_run_path(self, lab: str) -> Path:
        return self.root / f"{lab}.last.json"

    def verdict_path(self, lab: str) -> Path:
        """The last check's checks and hint, as the console shows them."""
        return self.root / f"{lab}.checks.json"

    def chart_path(self, lab: str) -> Path:
        return self.root / f"{lab}.html"

    # ------------------------------------------------------------ state
    def _load(self) -> dict[str, Any]:
        try:
            raw = json.loads(self.state_path.read_text())
        except (FileNotFoundError, ValueError):
            return {"labs": {}}
        return raw if isinstance(raw, dict) else {"labs": {}}

    def state(self, lab: str) -> LabState | None:
        data = self._load().get("labs", {}).get(lab)
        try:
            return LabState(**data) if isinstance(data, dict) else None
        except TypeError:
            return None  # written by an older kafkalab: start the lab again

    def current(self) -> str | None:
        return self._load().get("current")

    def save(self, state: LabState) -> None:
        raw = self._load()
        raw.setdefault("labs", {})[state.lab] = asdict(state)
        raw["current"] = state.lab
        self.root.mkdir(parents=True, exist_ok=True)
        self.state_path.write_text(json.dumps(raw, indent=2, sort_keys=True) + "\n")

    # ------------------------------------------------------------ knobs
    def tables(self) -> dict[str, dict[str, Any]]:
        return read_lab_toml(self.knobs_path, {name: lab.knobs for name, lab in labs.LABS.items()})

    def knobs(self, lab: Lab) -> Knobs:
        table = self.tables().get(lab.name)
        if table is None:
            raise NotStarted(f"{self.knobs_path} has no [{lab.name}] table: run `kafkalab lab start {lab.name}`")
        return validate_knobs(lab.knobs, table, f"{self.knobs_path}: [{lab.name}]")

    def write_knobs(self, lab: Lab, knobs: Knobs) -> None:
        """Replace the lab's table; the other labs' tables keep their values."""
        try:
            tables = self.tables()
        except KnobError:
            tables = {}  # an unreadable file is replaced: `lab start` puts it right
        lines = list(HEADER)
        for name in sorted({*tables, lab.name}):
            lines.append("")
            if name == lab.name:
                lines += render_table(name, knobs)
            else:
                other = labs.get(name)
                try:
                    lines += render_table(name, other.knobs.model_validate(tables[name]))
                except ValueError:
                    lines += render_table(name, other.knobs())  # an invalid old table: back to its start
        self.root.mkdir(parents=True, exist_ok=True)
        self.knobs_path.write_text("\n".join(lines) + "\n")


@dataclass
class Verdict:
    lab: Lab
    mode: str
    outcome: Outcome
    hint: str | None

    @property
    def passed(self) -> bool:
        return self.outcome.passed


def files(settings: Settings) -> LabFiles:
    return LabFiles(settings.lab_dir)


def start(name: str, mode: str, seed: int, settings: Settings) -> Verdict:
    """Write the broken start and play it, so the learner sees the symptom."""
    lab = labs.get(name)
    f = files(settings)
    previous = f.state(name)
    f.write_knobs(lab, lab.start_knobs(session.context(mode, seed, settings)))
    f.save(LabState(name, mode, seed, prefixes=previous.prefixes if previous else []))
    return check(name, settings)


def check(name: str, settings: Settings) -> Verdict:
    lab = labs.get(name)
    f = files(settings)
    state = f.state(name)
    if state is None:
        raise NotStarted(f"lab {name} is not started: run `kafkalab lab start {name}` first "
                         "(it writes the broken settings to .kafkalab/lab.toml)")
    knobs = f.knobs(lab)
    outcome = session.check(name, knobs.values(), state.mode, state.seed, settings, keep=state.mode == "kafka")
    _forget_previous_runs(state, settings)
    state.prefixes = sorted({o.run_prefix for st in outcome.stages for o in st.observations if o.run_prefix})
    state.redrives, state.redriven = [], []
    f.save(state)
    f.last_run_path(name).write_text(outcome.script.dumps() + "\n")
    _save_sim_registry(outcome, f)
    failed = [c for c in outcome.checks if not c.passed]
    hint = next((c.hint for c in failed if c.hint), None) or (
        f"see {lab.docs} (concept, symptom, root cause, fix)" if failed else None)
    f.verdict_path(name).write_text(json.dumps({
        "passed": outcome.passed, "hint": hint, "mode": state.mode,
        "checks": [c.to_json() | {"stage": st.label} for st in outcome.stages for c in st.checks]},
        indent=2, sort_keys=True) + "\n")
    return Verdict(lab, state.mode, outcome, hint)


def solve(name: str, settings: Settings, *, apply: bool) -> tuple[Lab, Knobs, Verdict | None]:
    """The reference fix (the knobs as they would be); with ``apply`` it is written and checked."""
    lab = labs.get(name)
    f = files(settings)
    state = f.state(name) or LabState(name)
    ctx = session.context(state.mode, state.seed, settings)
    try:
        current = f.knobs(lab)
    except KnobError:
        current = lab.start_knobs(ctx)
    fixed = lab.fixed_knobs(ctx, current)
    if not apply:
        return lab, fixed, None
    if f.state(name) is None:
        f.save(state)
    f.write_knobs(lab, fixed)
    return lab, fixed, check(name, settings)


def last_script(name: str, settings: Settings) -> tuple[LabState, Script]:
    """The last check's script with the redrives done since, as ``kafkalab dlq`` replays it (sim)."""
    f = files(settings)
    state = f.state(name)
    path = f.last_run_path(name)
    if state is None or not path.is_file():
        raise NotStarted(f"no lab run to look at: run `kafkalab lab start {name}` (then `kafkalab lab check {name}`)")
    return state, Script.loads(path.read_text())


def _save_sim_registry(outcome: Outcome, f: LabFiles) -> None:
    """A simulated Avro run leaves its registry where ``kafkalab schema list|show|diff`` looks (sim)."""
    saved = next((o.registry_json for st in reversed(outcome.stages) for o in reversed(st.observations)
                  if o.registry_json), None)
    if saved is not None:
        (f.root / SIM_REGISTRY_FILE).write_text(saved + "\n")


def _forget_previous_runs(state: LabState, settings: Settings) -> None:
    """Kafka: the previous check's topics and schemas go once the new check has its own."""
    if state.mode != "kafka" or not state.prefixes:
        return
    from scenarios.worlds.kafka import delete_run

    for prefix in state.prefixes:
        delete_run(settings, prefix)
