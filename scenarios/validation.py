"""One-line messages for bad configuration: TOML syntax, wrong types, unknown keys.

Shared by ``kafkalab.toml`` (scenarios.settings) and the learner's ``.kafkalab/lab.toml``
(scenarios.engine.knobs), so both speak the same way: the file, where, what is wrong, what would work.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError


class ConfigError(ValueError):
    """A configuration that cannot be used. ``str()`` is one line, ready for the terminal."""


_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


def toml_syntax_error(path: Path, exc: tomllib.TOMLDecodeError) -> str:
    """``lab.toml:3:17: TOML syntax error: ...; fix: ...`` (tomllib puts line and column in its message)."""
    message = str(exc)
    found = _AT.search(message)
    line, column = (int(found.group(1)), int(found.group(2))) if found else (0, 0)
    what = _AT.sub("", message).strip().rstrip(".")
    try:
        text = path.read_text(encoding="utf-8").splitlines()[line - 1] if line else ""
    except (OSError, IndexError):
        text = ""
    return f"{path}:{line}:{column}: TOML syntax error: {what}; fix: {_syntax_fix(text)}"


def _syntax_fix(line: str) -> str:
    key, eq, value = line.partition("=")
    value = value.split("#")[0].strip()
    if eq and value in ("True", "False", "TRUE", "FALSE", "yes", "no", "on", "off"):
        return f"TOML booleans are lowercase: {key.strip()} = {'true' if value.lower() in ('true', 'yes', 'on') else 'false'}"
    if eq and value and re.fullmatch(r"[A-Za-z_][\w.:/-]*", value):
        return f'put text in double quotes: {key.strip()} = "{value}"'
    if not eq and line.strip() and not line.strip().startswith("["):
        return "each line is `key = value` or a `[table]` header"
    return 'values look like "text", 42, 2.5, true or [1, 2]'


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


_EXPECTED = {
    "bool_type": "true or false (a TOML boolean, without quotes)",
    "bool_parsing": "true or false (a TOML boolean, without quotes)",
    "string_type": 'text in double quotes, e.g. "localhost:9092"',
    "int_type": "a whole number, e.g. 3",
    "int_parsing": "a whole number, e.g. 3",
    "int_from_float": "a whole number, e.g. 3",
    "float_type": "a number, e.g. 2.5",
    "float_parsing": "a number, e.g. 2.5",
    "list_type": 'a list, e.g. ["orders", "inventory"]',
    "literal_error": "one of the values listed",
    "string_pattern_mismatch": 'host:port, e.g. "localhost:9092"',
}


def describe_validation_error(exc: ValidationError, where: str, name: Callable[[str], str] = str) -> str:
    """The first problem of a pydantic error as one line: ``<where>: <key>: expected ..., got ...``."""
    error = exc.errors()[0]
    loc = ".".join(str(p) for p in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown key {loc!r}"
    return f"{where}: {name(loc)}: {expected_got(exc)}" if loc else f"{where}: {expected_got(exc)}"


def expected_got(exc: ValidationError) -> str:
    """``expected <what would work>, got <what was there>`` for the first problem of ``exc``."""
    error = exc.errors()[0]
    kind, message = error["type"], error["msg"]
    expected = _EXPECTED.get(kind)
    if kind == "literal_error":
        expected = message.replace("Input should be ", "one of ")
    elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        expected = message.replace("Input should be ", "")
    detail = f"expected {expected}" if expected else message[0].lower() + message[1:]
    return f"{detail}, got {_shown(error.get('input'))}"


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return f'the string "{value}"' if value else "an empty string"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)
