"""Narration a learner can read: a summary by default, the whole ordered timeline with --verbose; no
cut or empty texts, money with two decimals, and nothing said that the run did not show."""

from __future__ import annotations

import io
import re

import pytest

from scenarios import labs
from scenarios.cli import main
from scenarios.present.narrate import print_run


@pytest.fixture(scope="module")
def told(demos):
    """name -> (summary, verbose) of one `scenario run NAME`, told both ways."""

    def tell(name: str, _capsys) -> tuple[str, str]:
        outcome = demos[name]
        assert outcome.passed
        return _render(outcome, False), _render(outcome, True)

    return tell


def _render(outcome, verbose: bool) -> str:
    stream = io.StringIO()
    print_run(outcome, labs.get(outcome.lab), stream, verbose=verbose)
    return stream.getvalue()


def test_the_command_line_prints_the_same_summary(capsys, demos):
    capsys.readouterr()
    assert main(["scenario", "run", "happy-path"]) == 0
    assert capsys.readouterr().out == _render(demos["happy-path"], False)


def test_bracketed_names_survive_and_no_sentence_is_left_empty(told, capsys):
    summary, verbose = told("poison-pill", capsys)
    assert "table `[poison-pill]`" in summary
    for text in (summary, verbose):
        assert not re.search(r"\w \.$|table \.|\(\)|: $", text, re.M)


def test_money_prints_with_two_decimals(told, capsys):
    summary, verbose = told("happy-path", capsys)
    assert "for 250.50" in summary and "charged 250.50" in summary
    assert not re.search(r"\b250\.5\b(?!0)", summary + verbose)


def test_a_lag_lab_summarises_lag_over_time_instead_of_listing_every_event(told, capsys):
    summary, verbose = told("consumer-lag", capsys)
    assert "lag of inventory-service on payments" in summary and "payments-0 " in summary
    assert len(summary.splitlines()) < 80 < len(verbose.splitlines())


def test_chaos_reports_the_rebalances_and_redeliveries_it_saw(told, capsys):
    summary, _ = told("chaos", capsys)
    assert re.search(r"\d+ rebalance\(s\) took partitions away", summary)
    assert re.search(r"records delivered again: \w+-service \d+", summary)


def test_each_stage_tells_its_own_run(told, capsys):
    summary, _ = told("connectivity", capsys)
    broken, fixed = summary.split("3/3 fixed")
    assert "3 sagas: PENDING" in broken.split("2/3")[1] and "Failed to resolve" in broken
    assert "3 sagas: OrderCreated -> PaymentCompleted -> InventoryReserved -> COMPLETED" in fixed
    assert "PENDING" not in fixed and "client error" not in fixed


def test_the_verbose_timeline_is_in_time_order(told, capsys):
    _, verbose = told("stock-rollback", capsys)
    times: list[int] = []
    for line in verbose.splitlines():
        found = re.match(r"\s*(\d+)\s{2}", line)
        if found:
            times.append(int(found.group(1)))
        elif times and line.startswith("  PASS"):
            assert times == sorted(times), times
            times = []
    for kind in ("PaymentCompleted", "InventoryFailed", "PaymentRefunded"):
        assert kind in verbose


def test_errors_are_told_whole(told, capsys):
    summary, _ = told("poison-pill", capsys)
    assert "inventory cannot handle product 'prod_ignore' (the DLQ lab's poison pill)" in summary
