"""Telling people what happened: a summary by default, the whole timeline with ``--verbose``, or
exactly one JSON object for machines.

The summary says, per stage: what each phase's sagas did (path and outcome, grouped), the money,
the dead letters with their real coordinates, lag over time, rebalances and redeliveries, the
clients' errors, instances that exited, and the lab's own moments; then its checks. Every text comes
from the run it describes (nothing is promised that the run did not show), and is escaped, so a
``[poison-pill]`` in a sentence stays on the screen.
"""

from __future__ import annotations

import json
import sys
from typing import IO, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from scenarios.engine.announced import announcements, where
from scenarios.engine.knobs import toml_value
from scenarios.engine.lab import Lab
from scenarios.engine.observation import Observation, Outcome, StageResult
from scenarios.engine.runner import money_text
from scenarios.engine.world import NO_ANSWER
from scenarios.present.lag_chart import sparklines
from scenarios.present.sagas import saga_paths

_EVENT_STYLE = {"OrderCreated": "cyan", "PaymentCompleted": "green", "PaymentFailed": "red",
                "InventoryReserved": "green", "InventoryFailed": "red", "PaymentRefunded": "yellow"}
_KIND_STYLE = {"step": "bold", "fault": "bold magenta", "dlq": "bold red", "group": "blue", "record": ""}
MANY_PHASES = 4  # more phases than this are told together, not one by one


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    """The one JSON object ``--json`` prints: stable keys, machine-readable."""
    return {
        "scenario": outcome.lab,
        "mode": outcome.mode,
        "seed": outcome.seed,
        "passed": outcome.passed,
        "checks": [c.to_json() for c in outcome.checks],
        "orders": outcome.orders,
        "dlq": outcome.dlq,
        "trace_sha256": outcome.trace_sha256,
        "stages": [{"label": s.label, "expect": s.expect, "passed": s.passed, "phases": len(s.observations),
                    "orders": s.observations[-1].order_counts() if s.observations else {},
                    "network_faults": _fault_counts(s.observations)} for s in outcome.stages],
        "not_available": outcome.not_available,
    }


def _fault_counts(observations: Any) -> dict[str, dict[str, int]]:
    """What the network fault backend did over a stage's phases, by fault and by action (kafka: the
    fault proxy's counts; empty in the simulator, whose faults are in the trace)."""
    total: dict[str, dict[str, int]] = {}
    for obs in observations:
        for table, counts in obs.network_faults.items():
            into = total.setdefault(table, {})
            for name, n in counts.items():
                into[name] = into.get(name, 0) + int(n)
    return {table: dict(sorted(counts.items())) for table, counts in sorted(total.items())}


def print_json(payload: Any, stream: IO[str]) -> None:
    stream.write(json.dumps(payload, sort_keys=True) + "\n")
    stream.flush()


def console(stream: IO[str] | None = None) -> Console:
    target = stream or sys.stdout
    # Piped output (CI logs, files) gets a wide page instead of rich's 80-column default.
    width = None if target.isatty() else 140
    return Console(file=target, highlight=False, soft_wrap=True, width=width)


def print_run(outcome: Outcome, lab: Lab, stream: IO[str] | None = None, *, verbose: bool = False) -> None:
    out = console(stream)
    out.rule(f"[bold]{escape(outcome.lab)}[/] · mode={outcome.mode} · seed={outcome.seed}")
    out.print(f"[bold]{escape(lab.title)}[/]")
    out.print(escape(lab.task))
    for i, stage in enumerate(outcome.stages, 1):
        out.print()
        role = "the fix" if stage.expect == "fixed" else "what the broken setting shows"
        knobs = ", ".join(f"{k} = {toml_value(v)}" for k, v in stage.knobs.items() if k in lab.knobs.lesson())
        out.print(f"[bold]{i}/{len(outcome.stages)} {escape(stage.label)}[/] ({role}; {escape(knobs)})")
        print_stage(stage, out, verbose=verbose)
    if stage_solution := lab.solution:
        out.print()
        out.print(f"[bold]Why[/] {escape(stage_solution)}")
    print_verdict(outcome, out)


def print_stage(stage: StageResult, out: Console, *, verbose: bool) -> None:
    if len(stage.observations) > MANY_PHASES:
        ok = sum(1 for o in stage.observations if all(s in ("COMPLETED", "CANCELLED") for s in o.statuses.values()))
        out.print(f"  {len(stage.observations)} phases ({escape(stage.observations[0].phase.name)}, ...): "
                  f"{ok} with every saga finished")
        exits = [(o.phase.name, n, e) for o in stage.observations for n, e in sorted(o.exits.items())]
        for name, who, why in exits[:3]:
            out.print(f"    {escape(name)}: {escape(who)} exited: {escape(why)}")
    else:
        for obs in stage.observations:
            if len(stage.observations) > 1:
                out.print(f"  [italic]{escape(obs.phase.name)}[/]")
            for line in summary_lines(obs):
                out.print(f"  {escape(line)}")
            if verbose:
                print_timeline(obs, out)
    for c in stage.checks:
        mark = "[green]PASS[/]" if c.passed else "[red]FAIL[/]"
        out.print(f"  {mark} {escape(c.name)}" + (f" [dim]({escape(c.detail)})[/]" if c.detail else ""))


def summary_lines(obs: Observation) -> list[str]:
    """The few facts that matter about one phase, each one line."""
    lines = [f"{count} saga{'s' if count > 1 else ''}: {path}" for path, count in saga_paths(obs)]
    unanswered = [p for p in obs.placed if not p.accepted and p.error.startswith(NO_ANSWER)]
    refused = [p for p in obs.placed if not p.accepted and p not in unanswered]
    if refused:
        lines.append(f"{len(refused)} order(s) refused by the API (400), e.g. {refused[0].error}")
    for who, point in obs.killed_at:
        how = " with kill -9" if obs.mode == "kafka" else ""  # the simulator's actor dies there, as a process would
        lines.append(f"{who} was killed{how} at fault point {point}")
    if unanswered:
        lines.append(f"{len(unanswered)} request(s) got no answer: the order service died while taking them")
    lines += dual_write_lines(obs)
    money = obs.final.get("money") or {}
    if money and (money.get("charged") or money.get("refunded")):
        lines.append(f"money: charged {money_text(money['charged'])}, refunded {money_text(money['refunded'])}")
    for topic, letters in sorted(obs.dlq_records().items()):
        if letters:
            first = letters[0]
            lines.append(f"{topic}: {len(letters)} dead letter(s), the first at partition {first.partition} offset "
                         f"{first.offset}: {_header(first, 'dlq-error')}")
    for key, samples in sorted(obs.lag.items()):
        if samples and any(sum(lags.values()) for _, lags in samples):
            kind, topic = key.split("/")
            series = {f"{topic}-{p}": [lags.get(p, 0) for _, lags in samples] for p in sorted(samples[-1][1])}
            lines.append(f"lag of {kind}-service on {topic} over {samples[-1][0] / 1000:.1f}s "
                         f"(peak {max(sum(lags.values()) for _, lags in samples)}):")
            lines += [f"  {line}" for line in sparklines(series, width=48)]
    lines += schema_lines(obs)
    for at, text in sorted(obs.marks.items()):
        lines.append(f"at {at / 1000:.1f}s: {text}")
    for kind, members in sorted(obs.members.items()):
        idle = sorted(m for m, n in members.items() if n == 0)
        if idle:
            lines.append(f"{kind}-service: {len(members)} members, idle (no partition): {', '.join(idle)}")
    moved = [r for r in obs.rebalances if r.revoked]  # a group's first assignment is no news
    if moved or obs.redeliveries:
        groups = sorted({r.group for r in moved})
        again = ", ".join(f"{g} {n}" for g, n in sorted(obs.redeliveries.items())) or "none"
        lines.append(f"{len(moved)} rebalance(s) took partitions away ({', '.join(groups) or 'no group'}); "
                     f"records delivered again: {again}")
    for who, (topic, partition, offset, error) in sorted(obs.blocked.items()):
        lines.append(f"{who} is stuck at {topic}-{partition} offset {offset}, retrying: {error}")
    for who, why in sorted(obs.exits.items()):
        lines.append(f"{who} exited at startup: {why}")
    lines += [f"client error: {e}" for e in obs.client_errors[:3]]
    lines += [str(m["say"]) for m in obs.measurements if m.get("say")]  # measured, or the model's (it says so)
    lines += [str(c["result"]["say"]) for c in obs.calls if c["result"].get("say")]  # a lab component's news
    lines += [f"not available: {what}" for what in sorted(set(obs.not_available))]
    lines += [f"step failed: {what}" for what in obs.step_errors]
    return lines


def schema_lines(obs: Observation) -> list[str]:
    """What the schema registry answered, what each reader could read, and Avro's size next to JSON's."""
    lines = []
    for answer in obs.schema_steps:
        if answer["op"] == "set_compatibility":
            lines.append(f"schema registry: {answer['subject']} compatibility {answer['level']}")
        elif answer["accepted"]:
            lines.append(f"schema registry: took {answer['subject']} version {answer['version']} "
                         f"(id {answer['schema_id']}) under {answer['level']}")
        else:
            lines.append(f"schema registry: refused the new {answer['event_type']}: {answer['reason']}")
    for label, seen in obs.readings.items():
        failed = seen["failed"]
        lines.append(f"{label} read {seen['read']} of {seen['records']} records"
                     + (f"; cannot read {seen['failed_count']}, e.g. {failed[0]['where']}: {failed[0]['error']}"
                        if failed else ""))
    if obs.sizes.get("events"):
        n = obs.sizes["events"]
        lines.append(f"record values: Avro {obs.sizes['avro_bytes'] / n:.0f} B vs JSON {obs.sizes['json_bytes'] / n:.0f} B "
                     f"per event, on the same {n} events")
    return lines


def dual_write_lines(obs: Observation, limit: int = 3) -> list[str]:
    """Orders the store has that no OrderCreated announces, and the reverse (scenarios.engine.announced)."""
    found = announcements(obs)
    lines = [f"order {o[:8]} is {obs.statuses.get(o)} in the order store, and no OrderCreated announces it: "
             "no service will ever hear of it" for o in found.stored_not_announced[:limit]]
    for r in found.announced_not_stored[:limit]:
        order_id = r.header("correlation-id") or b"?"
        lines.append(f"OrderCreated at {where(r)} announces order {order_id.decode('utf-8', 'replace')[:8]}, which "
                     "the order store does not have")
    return lines


def print_timeline(obs: Observation, out: Console) -> None:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("t(ms)", justify="right")
    table.add_column("where")
    table.add_column("what")
    for entry in obs.timeline:
        style = _EVENT_STYLE.get(entry.event_type or "", _KIND_STYLE.get(entry.kind, ""))
        text = escape(entry.text)
        table.add_row(str(entry.at_ms), escape(entry.where), f"[{style}]{text}[/]" if style else text)
    out.print(table)


def print_verdict(outcome: Outcome, out: Console) -> None:
    out.print()
    if outcome.trace_sha256:
        out.print(f"  trace sha256: {outcome.trace_sha256}")
    verdict = "[bold green]PASSED[/]" if outcome.passed else "[bold red]FAILED[/]"
    out.print(f"  {escape(outcome.lab)}: {verdict}")


def print_summary_line(outcome: Outcome, stream: IO[str] | None = None) -> None:
    """One line per lab, for run-all."""
    verdict = "[green]PASS[/]" if outcome.passed else "[red]FAIL[/]"
    failed = [c.name for c in outcome.checks if not c.passed]
    tail = f" failed: {escape(', '.join(failed))}" if failed else ""
    orders = ", ".join(f"{k}={v}" for k, v in outcome.orders.items())
    console(stream).print(f"{verdict} {outcome.lab:<15} seed={outcome.seed} orders[{orders}]{tail}")


def _header(r: Any, name: str) -> str:
    v = r.header(name)
    return "" if v is None else v.decode("utf-8", "replace")
