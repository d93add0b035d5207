"""A lab's typed knobs: the settings a learner edits in ``.kafkalab/lab.toml``, one table per lab.

A lab declares its knobs as a pydantic model (``class PoisonKnobs(Knobs)``): the defaults are the
broken start, ``knob(lesson=True)`` marks the setting the lab is about, and ``knob(guard=...)`` with
a bound (``ge=40``) marks a setting that may not be used to switch the problem off (load rate,
duration, a deliberate delay). Knobs are strict: ``dlq_enabled = "false"`` is text, not a boolean,
and is refused. ``read_lab_toml`` turns every kind of bad input into one ``KnobError`` line.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scenarios.validation import ConfigError, did_you_mean, expected_got, toml_syntax_error


class KnobError(ConfigError):
    """The learner's settings cannot be used; one line saying where, what, and what would work."""


class Knobs(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @classmethod
    def lesson(cls) -> list[str]:
        return [n for n, f in cls.model_fields.items() if _meta(f).get("lesson")]

    @classmethod
    def guarded(cls) -> dict[str, str]:
        return {n: _meta(f)["guard"] for n, f in cls.model_fields.items() if _meta(f).get("guard")}

    @classmethod
    def help(cls) -> dict[str, str]:
        return {n: f.description or "" for n, f in cls.model_fields.items()}

    def values(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def knob(default: Any, *, help: str, lesson: bool = False, guard: str | None = None, **bounds: Any) -> Any:
    """A knob field: ``lesson``: what the lab is about; ``guard``: why its ``bounds`` hold."""
    return Field(default, description=help, json_schema_extra={"lesson": lesson, "guard": guard}, **bounds)


def _meta(field: Any) -> dict[str, Any]:
    extra = field.json_schema_extra
    return extra if isinstance(extra, dict) else {}


def validate_knobs(model: type[Knobs], table: Mapping[str, Any], where: str) -> Knobs:
    """``table`` as ``model``, or a KnobError: unknown key (did you mean), wrong type, guarded bound."""
    known = list(model.model_fields)
    for key in table:
        if key not in model.model_fields:
            raise KnobError(f"{where}: unknown setting {key!r}{did_you_mean(key, known)}; "
                            f"this lab's settings are {', '.join(known)}")
    try:
        return model.model_validate(dict(table))
    except ValidationError as exc:
        error = exc.errors()[0]
        key = str(error["loc"][0]) if error["loc"] else "?"
        guard = model.guarded().get(key)
        if guard and error["type"] in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
            bound = error["msg"].replace("Input should be ", "")
            raise KnobError(f"{where}: {key} = {toml_value(error.get('input'))} is refused: {guard} "
                            f"(it must stay {bound})") from None
        raise KnobError(f"{where}: {key}: {expected_got(exc)}") from None


def read_lab_toml(path: Path, labs: Mapping[str, type[Knobs]]) -> dict[str, dict[str, Any]]:
    """Every table of lab.toml, each named after a lab; syntax errors and unknown tables refused."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise KnobError(toml_syntax_error(path, exc)) from None
    for name, table in data.items():
        if name not in labs:
            raise KnobError(f"{path}: [{name}] is not a lab{did_you_mean(name, list(labs))}; "
                            f"the labs are {', '.join(labs)}")
        if not isinstance(table, dict):
            raise KnobError(f"{path}: {name} must be a table: a [{name}] line, then key = value lines")
    return data


def render_table(name: str, knobs: Knobs) -> list[str]:
    """``[name]`` and its settings as valid TOML, each with a comment saying what it is."""
    lines = [f"[{name}]"]
    guarded, lesson = type(knobs).guarded(), type(knobs).lesson()
    for key, value in knobs.values().items():
        note = type(knobs).help().get(key, "")
        if key in lesson:
            note += " (the lesson)"
        elif key in guarded:
            note += f" (guarded: {guarded[key]})"
        lines.append(f"{key} = {toml_value(value)}" + (f"  # {note.strip()}" if note.strip() else ""))
    return lines


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and round(value, 2) == value:
        return f"{value:.2f}"  # money reads 250.50 (still a TOML float)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string
