"""Fixtures the lab tests share: each lab's demonstration is played once per test process."""

from __future__ import annotations

import pytest


class _Demos(dict):
    """name -> the Outcome of ``session.demo(name)`` (sim, seed 0), played on first use."""

    def __missing__(self, name: str):
        from scenarios import session

        outcome = session.demo(name)
        self[name] = outcome
        return outcome


@pytest.fixture(scope="session")
def demos() -> _Demos:
    return _Demos()
