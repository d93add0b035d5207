"""Arrows point inward (DESIGN.md): checked on the source, so a stray import fails the build."""

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
