"""A canonical JSON-lines trace of everything that happened, and its stable sha256."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

_dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode


class Trace:
    """One line per event: ``{"ev": kind, "t": virtual ms, ...fields}``, keys sorted, no spaces.

    Fields must be plain JSON values (str, int, bool, None, lists): never object ids or reprs, so the
    same seed and script give the same bytes in any process and under any PYTHONHASHSEED.
    """

    def __init__(self, now_ms: Callable[[], int], *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._now_ms = now_ms
        self._lines: list[str] = []
        self._hash = hashlib.sha256()

    def emit(self, kind: str, /, **fields: object) -> None:
        if not self.enabled:
            return
        fields["ev"] = kind
        fields["t"] = self._now_ms()
        line = _dumps(fields)
        self._lines.append(line)
        self._hash.update(line.encode())
        self._hash.update(b"\n")

    def lines(self) -> list[str]:
        return list(self._lines)

    def events(self, kind: str | None = None) -> list[dict]:
        """The trace parsed back, optionally only one kind of event (handy in tests)."""
        parsed = [json.loads(line) for line in self._lines]
        return [e for e in parsed if kind is None or e["ev"] == kind]

    def sha256(self) -> str:
        return self._hash.hexdigest()

    def write(self, path: str | Path) -> None:
        Path(path).write_text("".join(line + "\n" for line in self._lines), encoding="utf-8")
