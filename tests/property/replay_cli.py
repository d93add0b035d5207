"""``python -m tests.property.<machine>_support SCRIPT.json``: replay a script a machine recorded."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from typing import Any


def replay_file(argv: list[str], module: str, replay: Callable[[Mapping[str, Any]], Any],
                summary: Callable[[Any], str], refused: tuple[type[Exception], ...] = ()) -> int:
    """0: the script passes (``summary`` says what ran); 1: it reproduces a violation; 2: bad usage or a
    script this machine cannot run (one of ``refused``)."""
    if len(argv) != 1:
        print(f"usage: python -m {module} SCRIPT.json", file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as f:
        script = json.load(f)
    try:
        lab = replay(script)
    except AssertionError as exc:
        print(f"REPRODUCED: {exc}")
        return 1
    except refused as exc:
        print(f"not a script this machine can run: {exc}")
        return 2
    print(f"passed: {summary(lab)}")
    return 0
