"""The kafka world's runs on a broker: each names its topics and groups ``kl-<run>-...``.

A run removes its topics and its consumer groups when it closes (``delete_groups``). A run that never
closed (killed, or stopped by a timeout) leaves both behind; ``leftovers`` finds them and ``clean``
removes them. A run counts as alive, and is never touched, while any of its groups has members, or
any of its topics took a record within the grace period, or its topics are all still empty and it has
no group yet (it may be starting). Only names of the kafka world's own form are ever considered:
``kl-`` and a ten-hex-digit run id.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Collection
from dataclasses import dataclass, field

from services.ports import Admin, BrokerError, TopicPartition

RUN_NAME = re.compile(r"^(kl-[0-9a-f]{10}-)")
DEFAULT_GRACE_S = 600.0
IDLE_STATES = ("Empty", "Dead")  # a group in any other state has members, or is rebalancing them


def run_prefix(name: str) -> str | None:
    """``kl-<run>-`` of a topic or group the kafka world named, else None."""
    found = RUN_NAME.match(name)
    return found.group(1) if found else None


def delete_groups(admin: Admin, prefix: str) -> list[str]:
    """Delete the groups named with ``prefix`` (a closing run's own); those still with members stay."""
    if not RUN_NAME.fullmatch(prefix):
        return []
    deleted = []
    with contextlib.suppress(BrokerError):  # best effort: `kafkalab kafka clean` removes what is left
        for group in admin.list_groups():
            if group.startswith(prefix):
                with contextlib.suppress(BrokerError):
                    admin.delete_group(group)
                    deleted.append(group)
    return deleted


@dataclass
class Run:
    prefix: str
    topics: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    alive: str = ""  # why it is left alone; "" for a dead run's leftovers


def leftovers(admin: Admin, *, now_ms: int, grace_s: float = DEFAULT_GRACE_S,
              keep: Collection[str] = (), only: Collection[str] = ()) -> list[Run]:
    """Every run with names on the broker (``only``: just these prefixes), each with why it is alive
    (``keep``: prefixes kept on purpose)."""
    runs: dict[str, Run] = {}
    for topic in sorted(admin.list_topics()):
        if (prefix := run_prefix(topic)) and (not only or prefix in only):
            runs.setdefault(prefix, Run(prefix)).topics.append(topic)
    for group in admin.list_groups():
        if (prefix := run_prefix(group)) and (not only or prefix in only):
            runs.setdefault(prefix, Run(prefix)).groups.append(group)
    for run in runs.values():
        run.alive = _why_alive(admin, run, now_ms - int(grace_s * 1000), grace_s, keep)
    return [runs[p] for p in sorted(runs)]


def _why_alive(admin: Admin, run: Run, since_ms: int, grace_s: float, keep: Collection[str]) -> str:
    if run.prefix in keep:
        return "kept by the last lab check (for `kafkalab dlq`)"
    for group in run.groups:
        state = admin.describe_group(group).state
        if state not in IDLE_STATES:
            return f"group {group} is {state}"
    if run.topics:
        ends = admin.end_offsets(run.topics)
        recent = admin.offsets_for_times({tp: since_ms for tp, end in ends.items() if end > 0})
        fresh = sorted(tp for tp, offset in recent.items() if offset is not None)
        if fresh:
            return f"{_name(fresh[0])} took a record in the last {grace_s:g} s"
        if not any(ends.values()) and not run.groups:
            return "its topics are empty and it has no group yet (starting?)"
    return ""


def _name(tp: TopicPartition) -> str:
    return f"{tp.topic}-{tp.partition}"


def clean(admin: Admin, runs: list[Run]) -> list[str]:
    """Delete the topics and groups of the dead ``runs``; returns what was deleted, or why not."""
    done: list[str] = []
    for run in runs:
        if run.alive:
            continue
        if run.topics:
            try:
                admin.delete_topics(run.topics)
                done += [f"topic {t}" for t in run.topics]
            except BrokerError as exc:
                done.append(f"topics of {run.prefix} not deleted: {exc}")
        for group in run.groups:
            try:
                admin.delete_group(group)
                done.append(f"group {group}")
            except BrokerError as exc:
                done.append(f"group {group} not deleted: {exc}")
    return done
