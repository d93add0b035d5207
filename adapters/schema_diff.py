"""What changed between two versions of a record schema, each change labelled under a level.

A change is judged alone: the old schema with just that change applied is checked against the old
one by Avro's own checker (``adapters.avro_compat``) in the directions the level asks for. So
"added field with a default" is compatible under BACKWARD and "added required field" is breaking,
whatever else changed. Under NONE nothing is checked: changes are "unchecked", with what they would
break said anyway. The verdict checks the whole new schema, as the registry would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from adapters.avro_compat import directions, parse_schema, read_problems

_SILENT = ("doc",)  # keys whose changes do not count as a change


@dataclass(frozen=True, slots=True)
class Change:
    symbol: str  # "+" added, "-" removed, "~" changed
    what: str  # e.g. "field currency: string = \"EUR\""
    label: str  # "compatible", "breaking" or "unchecked"
    why: str = ""


@dataclass(frozen=True, slots=True)
class SchemaDiff:
    level: str
    changes: tuple[Change, ...]
    problems: tuple[str, ...]  # the whole new schema under ``level`` (empty: compatible)

    @property
    def compatible(self) -> bool:
        return not self.problems


def describe_field(spec: dict) -> str:
    kind = spec["type"] if isinstance(spec["type"], str) else json.dumps(spec["type"], separators=(",", ":"))
    default = f" = {json.dumps(spec['default'])}" if "default" in spec else " (required)"
    return f"{spec['name']}: {kind}{default}"


def _problems(level: str, old: dict, new: dict) -> list[str]:
    backward, forward = directions("FULL" if level == "NONE" else level)
    old_schema, new_schema = parse_schema(json.dumps(old)), parse_schema(json.dumps(new))
    found = [f"new readers: {p}" for p in (read_problems(new_schema, old_schema) if backward else [])]
    return found + [f"old readers: {p}" for p in (read_problems(old_schema, new_schema) if forward else [])]


def _label(level: str, old: dict, changed: dict, symbol: str, what: str) -> Change:
    found = _problems(level, old, changed)
    if level == "NONE":
        return Change(symbol, what, "unchecked", "; ".join(found) and f"would break {'; '.join(found)}")
    return Change(symbol, what, "breaking" if found else "compatible", "; ".join(found))


def _same(a: dict, b: dict) -> bool:
    return {k: v for k, v in a.items() if k not in _SILENT} == {k: v for k, v in b.items() if k not in _SILENT}


def diff(old_text: str, new_text: str, level: str) -> SchemaDiff:
    """The changes from ``old_text`` to ``new_text``; InvalidSchema if either does not parse."""
    parse_schema(old_text), parse_schema(new_text)
    old, new = json.loads(old_text), json.loads(new_text)
    if not (isinstance(old, dict) and isinstance(new, dict) and old.get("type") == new.get("type") == "record"):
        what = "schema (not two records: compared as a whole)"
        changes = () if old == new else (_label(level, old, new, "~", what),)
        return SchemaDiff(level, changes, tuple(() if level == "NONE" else _problems(level, old, new)))
    changes: list[Change] = []
    names = ("name", "namespace")
    if any(old.get(k) != new.get(k) for k in names):
        renamed = {**old, **{k: new[k] for k in names if k in new}}
        what = f"record {old.get('namespace', '')}.{old['name']} -> {new.get('namespace', '')}.{new['name']}"
        changes.append(_label(level, old, renamed, "~", what))
    old_fields = {f["name"]: f for f in old["fields"]}
    new_fields = {f["name"]: f for f in new["fields"]}
    for name, spec in new_fields.items():
        if name not in old_fields:
            changed = {**old, "fields": [*old["fields"], spec]}
            changes.append(_label(level, old, changed, "+", f"field {describe_field(spec)}"))
        elif not _same(old_fields[name], spec):
            changed = {**old, "fields": [spec if f["name"] == name else f for f in old["fields"]]}
            what = f"field {describe_field(old_fields[name])} -> {describe_field(spec).split(': ', 1)[1]}"
            changes.append(_label(level, old, changed, "~", what))
    for name, spec in old_fields.items():
        if name not in new_fields:
            changed = {**old, "fields": [f for f in old["fields"] if f["name"] != name]}
            changes.append(_label(level, old, changed, "-", f"field {describe_field(spec)}"))
    problems = () if level == "NONE" else tuple(_problems(level, old, new))
    return SchemaDiff(level, tuple(changes), problems)
