"""The labs, one folder each: ``scenarios/labs/<name>/__init__.py`` exports ``LAB`` (scenarios.engine.lab).

The registry discovers the folders, so adding a lab is adding a folder (and its page in docs/labs/).
``LABS`` is in teaching order (each lab's ``rank``).
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from scenarios.engine.lab import Lab


def _discover() -> dict[str, Lab]:
    found = []
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.ispkg and not info.name.startswith("_"):
            lab = getattr(importlib.import_module(f"{__name__}.{info.name}"), "LAB", None)
            if isinstance(lab, Lab):
                found.append(lab)
    return {lab.name: lab for lab in sorted(found, key=lambda lab: (lab.rank, lab.name))}


LABS: dict[str, Lab] = _discover()


def get(name: str) -> Lab:
    try:
        return LABS[name]
    except KeyError:
        raise KeyError(f"no lab {name!r}; the labs are {', '.join(LABS)}") from None
