"""Arrows point inward (docs/architecture.md): checked on the source, so a stray import fails the build."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STDLIB = set(sys.stdlib_module_names)


def imports_of(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize("forbidden", ["sim", "adapters", "scenarios", "compose", "confluent_kafka", "psycopg"])
def test_services_import_nothing_of_the_infrastructure(forbidden: str) -> None:
    offenders = [path for path, names in imports_of("services").items() if forbidden in names]
    assert offenders == []


def test_sim_uses_only_the_standard_library_and_the_port() -> None:
    for path, names in imports_of("sim").items():
        outside = {n for n in names if n not in STDLIB and n not in {"sim", "services"}}
        assert outside == set(), path


def test_sim_reads_no_wall_clock_or_global_random() -> None:
    for path in sorted((ROOT / "sim").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                assert not {"time", "datetime", "threading", "secrets"} & {m.split(".")[0] for m in mods}, path
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.value.id == "random":
                    assert node.attr == "Random", f"{path}: global random.{node.attr}"
                if node.value.id == "uuid":  # uuid.UUID(int=rng.getrandbits(128)) is fine; uuid4() is not
                    assert node.attr == "UUID", f"{path}: uuid.{node.attr}"


def test_only_adapters_import_kafka_and_postgres_clients() -> None:
    for package in ("sim", "services", "scenarios", "compose"):
        for path, names in imports_of(package).items():
            assert not {"confluent_kafka", "psycopg"} & names, path


@pytest.mark.parametrize("package", ["compose", "sim"])
def test_compose_and_sim_import_nothing_of_scenarios(package: str) -> None:
    offenders = [path for path, names in imports_of(package).items() if "scenarios" in names]
    assert offenders == []


# ---------------------------------------------------------------- rooms inside scenarios/ (docs/architecture.md)

# Each room may import only rooms of a lower rank (and itself). Top-level modules named *_cli are
# command groups (rank of cli); tuning is the producer-tuning library (rank of ops: worlds measure with it).
ROOMS = {
    "validation": 0,
    "settings": 1, "logs": 1,
    "root": 2,
    "engine": 3,
    "ops": 4, "tuning": 4,
    "worlds": 5,
    "labs": 6,
    "present": 7, "web": 7,
    "session": 8,
    "learner": 9, "stack": 9, "console": 9,
    "cli": 10,
    "__main__": 11,
}


def room_of(path: str) -> str:
    parts = Path(path).with_suffix("").parts  # ("scenarios", "engine", "runner")
    name = parts[1] if len(parts) > 1 else "__init__"
    return "cli" if name.endswith("_cli") else name


def scenario_imports() -> dict[str, set[str]]:
    """scenarios module path -> the rooms of scenarios it imports (absolute imports only)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "scenarios").rglob("*.py")):
        rooms: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + ([f"{node.module}.{a.name}" for a in node.names] if node.module == "scenarios"
                                         else [])
            for name in names:
                parts = name.split(".")
                if parts[0] == "scenarios" and len(parts) > 1:
                    rooms.add("cli" if parts[1].endswith("_cli") else parts[1])
        found[str(path.relative_to(ROOT))] = rooms
    return found


def test_every_module_of_scenarios_lives_in_a_named_room() -> None:
    unknown = {p for p in scenario_imports() if room_of(p) not in ROOMS and room_of(p) != "__init__"}
    assert unknown == set(), "name the room in ROOMS and in docs/architecture.md"


def test_rooms_import_only_rooms_of_a_lower_rank() -> None:
    offenders = {}
    for path, rooms in scenario_imports().items():
        own = room_of(path)
        if own == "__init__":
            continue
        bad = {r for r in rooms if r != own and ROOMS.get(r, 99) >= ROOMS[own]}
        if bad:
            offenders[path] = sorted(bad)
    assert offenders == {}


def test_labs_are_mode_free_they_know_the_engine_only() -> None:
    for path, names in imports_of("scenarios/labs").items():
        assert not {"sim", "adapters", "compose", "confluent_kafka", "psycopg"} & names, path
    for path, rooms in scenario_imports().items():
        if room_of(path) == "labs":
            assert rooms <= {"engine", "labs"}, (path, rooms)


def test_no_lab_module_is_named_for_one_mode() -> None:
    named = [p.name for p in (ROOT / "scenarios" / "labs").rglob("*.py") if p.name.startswith(("kafka_", "sim_"))]
    assert named == []


BUILT_ONLY_IN_THE_ROOT = {"KafkaBroker", "PostgresStore", "MemoryStore", "World", "SimBroker", "build_shop", "Shop",
                          "EventService", "OrderApi", "WallClock", "SeededIds", "RandomIds"}


def test_only_the_composition_root_builds_brokers_stores_clocks_ids_and_services() -> None:
    offenders = []
    for path in sorted((ROOT / "scenarios").rglob("*.py")):
        if path.name == "root.py" and path.parent.name == "scenarios":
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                if name in BUILT_ONLY_IN_THE_ROOT:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}(...)")
    assert offenders == []
