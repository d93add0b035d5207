"""Resetting a group's offsets: the pure plan, and the command's answers to bad input (no broker needed)."""

from __future__ import annotations

import pytest

from scenarios.cli import main
from scenarios.cli.offsets import Refused, _duration_ms
from services.offset_reset import LogFacts, ResetTarget, plan_reset
from services.ports import InvalidConfig, TopicPartition

A, B = TopicPartition("orders", 0), TopicPartition("orders", 1)
FACTS = LogFacts(committed={A: 5}, beginning={A: 2, B: 0}, end={A: 10, B: 4}, by_time={A: 7, B: None})


def plan(kind: str, value: int | None = None) -> list[tuple[int | None, int, str]]:
    return [(r.current, r.target, r.note) for r in plan_reset(ResetTarget(kind, value), [B, A], FACTS)]


def test_earliest_latest_and_current_follow_the_log() -> None:
    assert [t for _, t, _ in plan("earliest")] == [2, 0]
    assert [t for _, t, _ in plan("latest")] == [10, 4]
    assert plan("current") == [(5, 5, ""), (None, 4, "")]


def test_a_target_outside_the_log_is_clamped_and_says_so() -> None:
    (_, low, low_note), (_, high, high_note) = plan("offset", 1)[0], plan("offset", 9)[1]
    assert (low, high) == (2, 4)
    assert "before the log start" in low_note and "past the end" in high_note


def test_shift_moves_from_the_committed_offset_or_the_end() -> None:
    assert plan("shift", -2) == [(5, 3, ""), (None, 2, "no committed offset: shifted from the end")]


def test_a_time_without_a_record_after_it_means_the_end() -> None:
    assert plan("timestamp", 123) == [(5, 7, ""), (None, 4, "no record at or after that time: the end")]


def test_a_target_needs_a_number_and_offsets_are_not_negative() -> None:
    with pytest.raises(InvalidConfig):
        ResetTarget("offset", -1)
    with pytest.raises(InvalidConfig):
        ResetTarget("shift")


def test_durations_in_iso_or_short_form() -> None:
    assert _duration_ms("PT10M") == _duration_ms("10m") == 600_000
    assert _duration_ms("P1DT2H") == 26 * 3_600_000
    with pytest.raises(Refused):
        _duration_ms("ten minutes")


@pytest.mark.parametrize("args", [
    ["offsets", "reset", "g", "--topic", "t", "--to-datetime", "yesterday"],
    ["offsets", "reset", "g", "--topic", "t", "--by-duration", "soon"],
    ["offsets", "reset", "g", "--topic", "t", "--to-offset", "-3"],
])
def test_bad_reset_input_gets_one_line_and_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*args, "--bootstrap", "localhost:1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("kafkalab offsets: ")
