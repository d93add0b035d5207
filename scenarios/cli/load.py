"""``kafkalab load --rate R --duration D``: steady orders against the slowed inventory service (sim),
with a progress bar, a live table of lag per partition, sparklines and an HTML chart at the end.

Virtual time: the run takes as long as the simulator needs, not D seconds. The inventory instances
come from --instances, else the consumer-lag lab's settings (.kafkalab/lab.toml), else 1.
"""

from __future__ import annotations

from rich.console import Group
from rich.live import Live
from rich.progress import Progress
from rich.table import Table

from scenarios.labs import consumer_lag as lag_lab
from scenarios.labs.labshop import ServiceKnobs
from scenarios.labs.state import LabFiles
from scenarios.present.lag_chart import sparkline, sparklines, write_html


def _table(now_ms: int, samples: list[tuple[int, dict[int, int]]], members: dict[str, int]) -> Table:
    table = Table(title=f"inventory-service lag on payments, t={now_ms / 1000:.1f}s")
    table.add_column("partition")
    table.add_column("lag", justify="right")
    table.add_column("over time")
    for p in range(lag_lab.PARTITIONS):
        values = [s.get(p, 0) for _, s in samples]
        table.add_row(f"payments-{p}", str(values[-1] if values else 0), sparkline(values[-40:]))
    table.caption = "members: " + ", ".join(f"{c}={n}" for c, n in sorted(members.items()))
    return table


def run_load(rate: int, duration_s: int, instances: int | None, chart: str, seed: int = 0) -> int:
    from scenarios.labs.simworld import LabSim

    knobs = LabFiles().knobs(lag_lab.NAME, lag_lab.LAB.knobs)
    scale_to = instances if instances is not None else int(knobs.get("inventory_instances", 1))
    delay = int(knobs.get("inventory_delay_ms", lag_lab.DELAY_MS))
    lab = LabSim(seed, knobs=ServiceKnobs(inventory_delay_ms=delay), max_records=lag_lab.BATCH)
    lab.watch(lag_lab.GROUP, lag_lab.TOPIC, every_ms=500)
    gap = max(1, 1000 // rate)
    total = rate * duration_s
    progress = Progress()
    task = progress.add_task(f"{rate} orders/s for {duration_s}s", total=total)
    members: dict[str, int] = {}
    marks = {}
    with Live(Group(progress, _table(0, [], members)), refresh_per_second=8, transient=False) as live:
        for i in range(total):
            if i == total // 2 and scale_to != 1:
                lab.scale("inventory", scale_to)
                marks[lab.now_ms()] = f"scaled to {scale_to}"
            lab.place_order({"customerId": f"cust_load_{i % 50}", "productId": f"prod_load_{i % 10:02d}",
                             "quantity": 1, "amount": 5.0})
            lab.advance(gap)
            progress.advance(task)
            if i % rate == 0:
                members = lab.members(lag_lab.GROUP)
                live.update(Group(progress, _table(lab.now_ms(), lab.samples, members)))
        marks[lab.now_ms()] = "load ends"
        for _ in range(12):
            lab.advance(500)
        members = lab.members(lag_lab.GROUP)
        live.update(Group(progress, _table(lab.now_ms(), lab.samples, members)))
    times = [t for t, _ in lab.samples]
    series = {f"payments-{p}": [s.get(p, 0) for _, s in lab.samples] for p in range(lag_lab.PARTITIONS)}
    lab.close()
    for line in sparklines(series):
        print(line)
    idle = [c for c, n in sorted(members.items()) if n == 0]
    if idle:
        print(f"idle members (more members than partitions): {', '.join(idle)}")
    print(f"chart: {write_html(chart, times, series, title='inventory-service lag on payments', marks=marks)}")
    return 0


def run_load_kafka(rate: int, duration_s: int, instances: int | None, chart: str, options: object = None) -> int:
    """The same load on the real broker (real seconds, a fresh topic prefix, deleted afterwards)."""
    from scenarios.labs.kafka_lag import LagRunner

    knobs = LabFiles().knobs(lag_lab.NAME, lag_lab.LAB.knobs)
    if instances is not None:
        knobs["inventory_instances"] = instances
    runner = LagRunner(knobs, options, rate=rate, duration_s=duration_s)
    progress = Progress()
    task = progress.add_task(f"{rate} orders/s for {duration_s}s (kafka)", total=rate * duration_s)
    try:
        with Live(Group(progress, _table(0, [], {})), refresh_per_second=4, transient=False) as live:

            def tick(done: int, _total: int, r: LagRunner) -> None:
                progress.update(task, completed=done)
                live.update(Group(progress, _table(r.now_ms(), r.samples, {})))

            lag_run = runner.run(tick)
            live.update(Group(progress, _table(runner.now_ms(), runner.samples, lag_run.members)))
        cli = runner.cli
    finally:
        runner.close()
    for line in lag_lab.report(lag_run, chart):
        print(line)
    if isinstance(cli.get("cli"), dict):
        print(f"kafka-consumer-groups LAG {cli['cli']} between our readings {cli['before']} and {cli['after']}")
    return 0
