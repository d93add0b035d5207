"""The console in a real headless Chromium over the shop on a real broker and PostgreSQL: the same
flows as on the simulator (tests/unit/test_console_browser.py)."""

from __future__ import annotations

import pytest

from scenarios import labs
from scenarios.cli.console import lab_world
from scenarios.console.serve import ConsoleStack
from scenarios.settings import Settings
from tests import console_flow

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def browser():
    with console_flow.chromium() as b:
        yield b


@pytest.fixture
def settings(kafka_bootstrap, database_url, tmp_path) -> Settings:
    return Settings.resolve({"bootstrap": kafka_bootstrap, "database_url": database_url, "lab_dir": str(tmp_path)})


def test_console_follows_the_seed_orders_and_redrives_until_the_loop_guard_refuses_on_kafka(browser, settings):
    stack = ConsoleStack("kafka", settings, seed=3, max_redrives=console_flow.MAX_REDRIVES)
    try:
        assert stack.prefix.startswith("kl-")  # the run's own topics, removed at close
        console_flow.seed_orders_flow(browser, stack.url, "kafka", timeout_ms=60_000)
    finally:
        stack.close()


def test_console_shows_lag_rise_and_fall_in_the_consumer_lag_lab_on_kafka(browser, settings):
    spec = lab_world(labs.get("consumer-lag"), settings, "kafka", 0)
    stack = ConsoleStack("kafka", settings, spec=spec, seed=0)
    try:
        seen = console_flow.lag_flow(browser, stack.url, "kafka", timeout_ms=60_000)
    finally:
        stack.close()
    assert seen["peak"] >= 15 and seen["last"] == 0
