"""consumer-lag on a real broker: a paced order load against a slowed inventory service, lag per partition
sampled with Admin.lag, scaling mid-load, and a cross-check against Kafka's own CLI.

Kafka-mode numbers (real seconds, so they are kept small): RATE orders/s for DURATION_S seconds, the
inventory spends DELAY_MS per record after each poll (in its own thread; three instances really run
in parallel), and scales at a quarter of the load, leaving time for the rebalance (a member learns of
it at its next heartbeat, up to 3 s) and the drain.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from scenarios.labs.consumer_lag import BATCH, PARTITIONS, LagRun
from scenarios.labs.kafka_world import KafkaWorld
from scenarios.labs.labshop import ServiceKnobs
from scenarios.model import Check, Script, check
from scenarios.runner import Observation, Outcome
from services.ports import PartitionLag

RATE = 40
DURATION_S = 16
DELAY_MS = 40  # 25 records/s per instance: one falls behind a 40/s load, three keep up
SCALE_AT = 0.25  # fraction of the load after which inventory is scaled
TAIL_S = 4.0
SAMPLE_EVERY_S = 0.5
THRESHOLD = PARTITIONS * BATCH  # real time: a sample may catch each member mid-batch
READY_S = 30.0

Tick = Callable[[int, int, "LagRunner"], None]  # (orders placed, orders total, runner)


class LagRunner:
    """One load run on a fresh prefix. ``run()`` returns a LagRun (the same shape as the simulator's)."""

    def __init__(self, knobs: Mapping[str, Any], options: Any = None, *, rate: int = RATE,
                 duration_s: int = DURATION_S, compare_cli: bool = True) -> None:
        self.delay = int(knobs.get("inventory_delay_ms", DELAY_MS))
        self.scale_to = int(knobs.get("inventory_instances", 1))
        self.rate, self.duration_s, self.compare_cli = rate, duration_s, compare_cli
        self.world = KafkaWorld(ServiceKnobs(inventory_delay_ms=self.delay), options, partitions=PARTITIONS,
                                max_records=BATCH).start()
        self.group, self.topic = self.world.group("inventory"), self.world.topics.payments
        self.samples: list[tuple[int, dict[int, int]]] = []
        self.cli: dict[str, Any] = {}
        self.t0 = time.monotonic()

    def now_ms(self) -> int:
        return int((time.monotonic() - self.t0) * 1000)

    def sample(self) -> dict[int, int]:
        lags = {p.partition: p.lag for p in self.world.lag(self.group, self.topic)}
        self.samples.append((self.now_ms(), lags))
        return lags

    def wait_ready(self) -> bool:
        """Every service's group is Stable with partitions assigned: the load starts on a running shop."""
        admin = self.world.broker.admin()

        def ready(group: str) -> bool:
            description = admin.describe_group(group)
            return description.state == "Stable" and any(m.assignment for m in description.members)

        groups = [self.world.group(kind) for kind in ("order", "payment", "inventory")]
        return self.world.wait_until(lambda: all(ready(g) for g in groups), READY_S, 0.2)

    def run(self, on_tick: Tick | None = None) -> LagRun:
        self.wait_ready()
        self.t0 = time.monotonic()
        total = self.rate * self.duration_s
        scale_index = int(total * SCALE_AT)
        cli_thread = None
        scale_at = next_sample = 0.0
        for i in range(total):
            due = i / self.rate
            if i == 0 and self.compare_cli:  # during phase one: one member, lag growing steadily
                cli_thread = threading.Thread(target=self._compare_with_cli, daemon=True)
                cli_thread.start()
            if i == scale_index and cli_thread is not None:
                cli_thread.join(timeout=30)  # Kafka's numbers are read before the group changes
            if i == scale_index and self.scale_to != 1:
                scale_at = self.now_ms()
                self.world.scale("inventory", self.scale_to)
            time.sleep(max(0.0, due - (time.monotonic() - self.t0)))
            self.world.place_order({"customerId": f"cust_load_{i % 50}", "productId": f"prod_load_{i % 10:02d}",
                                    "quantity": 1, "amount": 5.0})
            if time.monotonic() - self.t0 >= next_sample:
                next_sample += SAMPLE_EVERY_S
                self.sample()
                if on_tick:
                    on_tick(i + 1, total, self)
        load_end = self.now_ms()
        tail_end = time.monotonic() + TAIL_S
        while time.monotonic() < tail_end:
            time.sleep(SAMPLE_EVERY_S)
            if not sum(self.sample().values()):
                break
        if cli_thread is not None:
            cli_thread.join(timeout=60)
        members = self.world.members(self.group)
        if on_tick:
            on_tick(total, total, self)
        times = [t for t, _ in self.samples]
        series = {f"payments-{p}": [s.get(p, 0) for _, s in self.samples] for p in range(PARTITIONS)}
        return LagRun(self.outcome(), times, series, members, int(scale_at), load_end)

    def outcome(self) -> Outcome:
        from collections import Counter

        statuses = self.world.order_statuses()
        script = Script("consumer-lag", 0, "kafka", ())
        return Outcome("consumer-lag", "kafka", 0, [], dict(sorted(Counter(statuses.values()).items())), {}, None,
                       [], script, observation=Observation(script, statuses=statuses))

    def scale_past_partitions(self, count: int) -> dict[str, int]:
        """Scale inventory to ``count`` and wait for the rebalance: client id -> partitions assigned."""
        self.world.scale("inventory", count)
        self.world.wait_until(lambda: len(self.world.members(self.group)) == count
                              and sum(self.world.members(self.group).values()) == PARTITIONS, READY_S, 0.3)
        return self.world.members(self.group)

    # ------------------------------------------------------------ Kafka's own numbers
    def _compare_with_cli(self) -> None:
        # The CLI prints LAG "-" until the group has committed on a partition; compare once it has everywhere.
        self.world.wait_until(lambda: all(p.committed is not None for p in self.world.lag(self.group, self.topic))
                              and len(self.world.lag(self.group, self.topic)) == PARTITIONS, READY_S, 0.1)
        before = self.world.lag(self.group, self.topic)
        cli = cli_lag(self.group, self.world.bootstrap)
        after = self.world.lag(self.group, self.topic)
        self.cli = {"before": _by_partition(before), "cli": cli, "after": _by_partition(after), "at_ms": self.now_ms()}

    def close(self) -> None:
        self.world.close(delete_topics=True)


def _by_partition(lags: list[PartitionLag]) -> dict[int, int]:
    return {p.partition: p.lag for p in lags}


def cli_lag(group: str, bootstrap: str) -> dict[int, int | None] | str:
    """LAG per partition as ``kafka-consumer-groups --describe --group G`` prints it, or why not."""
    from compose.tools import run_tool

    try:
        done = run_tool("kafka-consumer-groups", ["--bootstrap-server", bootstrap, "--describe", "--group", group],
                        capture=True, timeout=60)
    except Exception as exc:  # no java, no jars: the comparison cannot be made here
        return f"kafka-consumer-groups did not run: {exc}"
    return parse_describe(done.stdout) if done.returncode == 0 else f"kafka-consumer-groups: {done.stderr[-300:]}"


def parse_describe(text: str) -> dict[int, int | None]:
    """Partition -> LAG from the CLI's table (``-`` when the group never committed there)."""
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


def cli_check(cli: Mapping[str, Any]) -> Check:
    """The CLI's LAG per partition lies between our readings just before and after it, give or take a batch."""
    name = "lag matches kafka-consumer-groups --describe (within one poll batch)"
    if not cli or not isinstance(cli.get("cli"), dict) or not cli["cli"]:
        return check(name, False, str(cli.get("cli") if cli else "no CLI reading"))
    off = []
    for p, theirs in sorted(cli["cli"].items()):
        ours = (cli["before"].get(p, 0), cli["after"].get(p, 0))
        if theirs is None or not min(ours) - BATCH <= theirs <= max(ours) + BATCH:
            off.append(f"p{p}: CLI {theirs}, ours {ours[0]}..{ours[1]}")
    total = (sum(cli["before"].values()), sum(v or 0 for v in cli["cli"].values()), sum(cli["after"].values()))
    return check(name, not off and len(cli["cli"]) == PARTITIONS,
                 "; ".join(off) or f"total lag: ours {total[0]} -> CLI {total[1]} -> ours {total[2]}")


def run_lag(knobs: Mapping[str, Any], options: Any = None, **kwargs: Any) -> tuple[LagRun, LagRunner]:
    """A full load run; the caller closes the runner (after ``scale_past_partitions`` if wanted)."""
    runner = LagRunner(knobs, options, **kwargs)
    try:
        return runner.run(), runner
    except BaseException:
        runner.close()
        raise


# ------------------------------------------------------------ the lab's verdict and story


def _load_args(knobs: Mapping[str, Any]) -> dict[str, Any]:
    return {"rate": int(knobs.get("rate", RATE)), "duration_s": int(knobs.get("duration_s", DURATION_S))}


def lag_verdict(knobs: Mapping[str, Any], options: Any = None) -> Any:
    """``lab check consumer-lag`` on the real broker: the learner's instance count, chart, CLI cross-check."""
    from pathlib import Path

    from scenarios.labs.base import Verdict
    from scenarios.labs.consumer_lag import CHART, NAME, lag_checks, report
    from scenarios.labs.state import lab_dir

    run_, runner = run_lag(knobs, options, **_load_args(knobs))
    try:
        chart = Path(getattr(options, "chart", None) or lab_dir() / CHART)
        notes = report(run_, chart)
        notes.append(f"kafka-consumer-groups --describe --group {runner.group}: {runner.cli.get('cli')}")
        checks = [*lag_checks(run_, knobs, THRESHOLD), cli_check(runner.cli)]
        return Verdict(NAME, "kafka", checks, notes, {"chart": str(chart), "members": run_.members,
                                                      "cli": runner.cli})
    finally:
        runner.close()


def lag_story(seed: int, options: Any = None) -> Outcome:
    """One slow instance falls behind (and Kafka's CLI agrees on the lag); three drain it; five leave two idle."""
    from pathlib import Path

    from scenarios.labs.base import combine, note
    from scenarios.labs.consumer_lag import CHART, lag_checks, report
    from scenarios.labs.state import lab_dir

    one, runner = run_lag({"inventory_instances": 1}, options)
    runner.close()
    totals = one.totals
    at_end = next((tot for t, tot in zip(one.times, totals, strict=False) if t >= one.load_end_ms), totals[-1])
    stages = [
        check("one slow instance: lag keeps growing", at_end >= THRESHOLD and at_end > totals[len(totals) // 4],
              f"total lag over time {totals[::4]}"),
        cli_check(runner.cli),
    ]
    three, runner = run_lag({"inventory_instances": PARTITIONS}, options, compare_cli=False)
    try:
        report(three, Path(getattr(options, "chart", None) or lab_dir() / CHART))
        five = runner.scale_past_partitions(PARTITIONS + 2)
    finally:
        runner.close()
    idle = sorted(c for c, n in five.items() if n == 0)
    stages.append(check(f"{PARTITIONS + 2} instances: extra members sit idle", len(idle) == 2, f"members {five}"))
    outcome = three.outcome
    outcome.seed = seed
    outcome.checks = lag_checks(three, {}, THRESHOLD)
    return combine(outcome, stages, [note(three.scale_at_ms, "inventory", f"scaled to {PARTITIONS}")])
