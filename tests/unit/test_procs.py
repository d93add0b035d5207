"""The process supervisor: records what it starts, stops exactly that, never a reused pid."""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import pytest

from scenarios.cli.services import parse_scale
from scenarios.stack.supervisor import Supervisor, is_alive

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def test_start_records_the_process_and_stop_ends_it(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path)
    proc = sup.start("payment", 0, SLEEPER)
    assert is_alive(proc)
    assert [p.name for p in Supervisor(tmp_path).running()] == ["payment-0"]  # a later invocation sees it
    assert Path(proc.log_path).exists()
    began = time.monotonic()
    assert sup.stop(proc, timeout=5) is False  # SIGTERM was enough
    assert time.monotonic() - began < 5
    assert not is_alive(proc)
    assert sup.records() == []


def test_a_record_whose_pid_was_reused_is_neither_alive_nor_signalled(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path)
    real = sup.start("inventory", 0, SLEEPER)
    try:
        if real.start_ticks is None:
            pytest.skip("no /proc on this system")
        impostor = dataclasses.replace(real, start_ticks=real.start_ticks - 1)
        assert not is_alive(impostor)
        sup.stop(impostor, timeout=1)
        assert is_alive(real)  # the process that now holds the pid was left alone
    finally:
        sup.stop(real, timeout=5)


def test_next_instance_fills_the_lowest_free_number(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path)
    procs = [sup.start("inventory", n, SLEEPER) for n in (0, 2)]
    try:
        assert sup.next_instance("inventory") == 1
        assert sup.next_instance("order") == 0
    finally:
        for proc in procs:
            sup.stop(proc, timeout=5)


def test_parse_scale_defaults_to_one_each_and_rejects_nonsense() -> None:
    assert parse_scale(["inventory=3"]) == {"order": 1, "payment": 1, "inventory": 3}
    for bad in (["inventory"], ["shipping=2"], ["order=0"], ["payment=-1"]):
        with pytest.raises(ValueError):
            parse_scale(bad)
