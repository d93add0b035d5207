"""Telling people what happened: a rich timeline for humans, or exactly one JSON object for machines.

The timeline is built from what the runner saw (steps, faults) and from the records read back from
every topic after the run, so it reads the same in sim and kafka mode: who sent what, to which
partition, what failed and went to a DLQ, and what was compensated.
"""

from __future__ import annotations

import json
import sys
from typing import IO, TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from scenarios.runner import Outcome

# How each event type reads in the story, and its colour.
_EVENT_STYLE = {
    "OrderCreated": "cyan",
    "PaymentCompleted": "green",
    "PaymentFailed": "red",
    "InventoryReserved": "green",
    "InventoryFailed": "red",
    "PaymentRefunded": "yellow",
}
_KIND_STYLE = {"step": "bold", "fault": "bold magenta", "dlq": "bold red", "record": ""}


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    """The one JSON object ``--json`` prints: stable keys, machine-readable."""
    return {
        "scenario": outcome.scenario,
        "mode": outcome.mode,
        "seed": outcome.seed,
        "passed": outcome.passed,
        "checks": [c.to_json() for c in outcome.checks],
        "orders": dict(sorted(outcome.orders.items())),
        "dlq": dict(sorted(outcome.dlq.items())),
        "trace_sha256": outcome.trace_sha256,
    }


def print_json(payload: Any, stream: IO[str]) -> None:
    stream.write(json.dumps(payload, sort_keys=True) + "\n")
    stream.flush()


def _console(stream: IO[str] | None) -> Console:
    target = stream or sys.stdout
    # Piped output (CI logs, files) gets a wide table instead of rich's 80-column default.
    width = None if target.isatty() else 140
    return Console(file=stream, highlight=False, soft_wrap=True, width=width)


def print_timeline(outcome: Outcome, stream: IO[str] | None = None, *, lesson: str = "") -> None:
    """The story of a run, then its checks and verdict."""
    console = _console(stream)
    console.rule(f"[bold]{outcome.scenario}[/] · mode={outcome.mode} · seed={outcome.seed}")
    if lesson:
        console.print(lesson.strip())
        console.print()
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("t(ms)", justify="right")
    table.add_column("where")
    table.add_column("what")
    for entry in outcome.timeline:
        style = _EVENT_STYLE.get(entry.event_type or "", _KIND_STYLE.get(entry.kind, ""))
        table.add_row(str(entry.at_ms), entry.where, f"[{style}]{entry.text}[/]" if style else entry.text)
    console.print(table)
    print_checks(outcome, console)


def print_checks(outcome: Outcome, console: Console) -> None:
    console.print()
    for c in outcome.checks:
        mark = "[green]PASS[/]" if c.passed else "[red]FAIL[/]"
        console.print(f"  {mark} {c.name}" + (f" [dim]({c.detail})[/]" if c.detail else ""))
    orders = ", ".join(f"{k}={v}" for k, v in sorted(outcome.orders.items())) or "none"
    dlq = ", ".join(f"{k}={v}" for k, v in sorted(outcome.dlq.items())) or "empty"
    console.print(f"  orders: {orders} · dlq: {dlq}")
    if outcome.trace_sha256:
        console.print(f"  trace sha256: {outcome.trace_sha256}")
    verdict = "[bold green]PASSED[/]" if outcome.passed else "[bold red]FAILED[/]"
    console.print(f"  {outcome.scenario}: {verdict}")


def print_summary_line(outcome: Outcome, stream: IO[str] | None = None) -> None:
    """One line per scenario, for run-all."""
    console = _console(stream)
    verdict = "[green]PASS[/]" if outcome.passed else "[red]FAIL[/]"
    failed = [c.name for c in outcome.checks if not c.passed]
    tail = f" failed: {', '.join(failed)}" if failed else ""
    orders = ", ".join(f"{k}={v}" for k, v in sorted(outcome.orders.items()))
    console.print(f"{verdict} {outcome.scenario:<15} seed={outcome.seed} orders[{orders}]{tail}")
