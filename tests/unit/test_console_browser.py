"""The console in a real headless Chromium over the simulated shop (the same flows run on the real
broker in tests/kafka/test_console_kafka.py)."""

from __future__ import annotations

import pytest

from scenarios import labs
from scenarios.cli.console import lab_world
from scenarios.console.serve import ConsoleStack
from scenarios.settings import Settings
from tests import console_flow


@pytest.fixture(scope="module")
def browser():
    with console_flow.chromium() as b:
        yield b


def test_console_follows_the_seed_orders_and_redrives_until_the_loop_guard_refuses(browser, tmp_path) -> None:
    settings = Settings.resolve({"lab_dir": str(tmp_path)})
    stack = ConsoleStack("sim", settings, seed=3, speed=5, max_redrives=console_flow.MAX_REDRIVES)
    try:
        console_flow.seed_orders_flow(browser, stack.url, "sim")
    finally:
        stack.close()


def test_console_shows_lag_rise_and_fall_in_the_consumer_lag_lab(browser, tmp_path) -> None:
    settings = Settings.resolve({"lab_dir": str(tmp_path)})
    spec = lab_world(labs.get("consumer-lag"), settings, "sim", 0)
    assert spec.per_kind["inventory"].work_ms > 0  # the lab's slow inventory service
    stack = ConsoleStack("sim", settings, spec=spec, seed=0, speed=2)  # the load at 40/s is 20/s in virtual time
    try:
        seen = console_flow.lag_flow(browser, stack.url, "sim", rate=40)
    finally:
        stack.close()
    assert seen["peak"] >= 15 and seen["last"] == 0
