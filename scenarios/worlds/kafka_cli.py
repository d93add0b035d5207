"""Kafka's own tools as a second opinion in the kafka world: ``kafka-consumer-groups --describe``."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

from compose.tools import run_tool
from services.ports import Admin, BrokerError

COMMITTED_TIMEOUT_S = 30.0


def compare_with_cli(admin: Admin, group: str, topics: Sequence[str], bootstrap: str, reading: dict[str, Any]) -> None:
    """Fill ``reading`` with our lag just before and just after Kafka's own, once the group has committed
    on every partition (the CLI prints "-" before that)."""
    deadline = time.monotonic() + COMMITTED_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            lags = admin.lag(group, list(topics))
            if lags and all(p.committed is not None for p in lags):
                break
        except BrokerError:
            pass
        time.sleep(0.2)  # polling, bounded by the deadline
    reading["before"] = {p.partition: p.lag for p in admin.lag(group, list(topics))}
    reading["cli"] = cli_lag(group, bootstrap)
    reading["after"] = {p.partition: p.lag for p in admin.lag(group, list(topics))}


def cli_lag(group: str, bootstrap: str) -> dict[int, int | None] | str:
    """LAG per partition as ``kafka-consumer-groups --describe --group G`` prints it, or why not."""
    try:
        done = run_tool("kafka-consumer-groups", ["--bootstrap-server", bootstrap, "--describe", "--group", group],
                        capture=True, timeout=60)
    except Exception as exc:  # no java, no jars: the comparison cannot be made here, and says why
        return f"kafka-consumer-groups did not run: {exc}"
    return parse_describe(done.stdout) if done.returncode == 0 else f"kafka-consumer-groups: {done.stderr[-300:]}"


def parse_describe(text: str) -> dict[int, int | None]:
    """Partition -> LAG from the CLI's table (None where it prints ``-``: never committed there)."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    header = next((cols for cols in lines if cols[:1] == ["GROUP"]), None)
    if header is None:
        return {}
    part, lag = header.index("PARTITION"), header.index("LAG")
    found: dict[int, int | None] = {}
    for cols in lines:
        if cols is header or len(cols) <= lag or not re.fullmatch(r"\d+", cols[part]):
            continue
        found[int(cols[part])] = int(cols[lag]) if re.fullmatch(r"-?\d+", cols[lag]) else None
    return found
