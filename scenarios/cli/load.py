"""``kafkalab load --rate R --duration D``: the consumer-lag lab's load against its slowed inventory
service, with a live table of lag per partition, sparklines and an HTML chart at the end.

sim: virtual time, so the run takes as long as the simulator needs, not D seconds; kafka: real
seconds on the real broker. The inventory instances come from --instances, else the consumer-lag
table of .kafkalab/lab.toml, else 1.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rich.console import Group
from rich.live import Live
from rich.table import Table

from scenarios import labs, learner, session, worlds
from scenarios.cli.common import add_settings_options, settings_of
from scenarios.engine.knobs import KnobError
from scenarios.engine.play import play
from scenarios.present.lag_chart import sparkline, sparklines, write_lag_chart
from scenarios.root import quiet_logs_to_stderr

LAB = "consumer-lag"


def register(subparsers: Any) -> None:
    load = subparsers.add_parser("load", help="steady order load with a live lag table and a chart (sim or kafka)")
    load.add_argument("--rate", type=_positive, default=20, help="orders per second (default 20)")
    load.add_argument("--duration", type=_positive, default=12, help="seconds of load (default 12)")
    load.add_argument("--instances", type=_positive, default=None, help="inventory instances after a quarter of the load")
    load.add_argument("--chart", default=None, help="HTML chart file (default .kafkalab/load.html)")
    load.add_argument("--seed", type=int, default=0)
    load.add_argument("--mode", choices=("sim", "kafka"), default="sim", help="kafka: real broker, real seconds")
    add_settings_options(load, keep=False)
    load.set_defaults(func=cmd_load)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _table(now_ms: int, samples: dict[str, Any]) -> Table:
    table = Table(title=f"inventory-service lag on payments, t={now_ms / 1000:.1f}s")
    table.add_column("partition")
    table.add_column("lag", justify="right")
    table.add_column("over time")
    series = samples.get("inventory/payments", [])
    for p in sorted(series[-1][1]) if series else []:
        values = [lags.get(p, 0) for _, lags in series]
        table.add_row(f"payments-{p}", str(values[-1]), sparkline(values[-40:]))
    return table


def cmd_load(args: argparse.Namespace) -> int:
    quiet_logs_to_stderr()
    settings = settings_of(args)
    lab = labs.get(LAB)
    try:
        instances = args.instances or learner.files(settings).knobs(lab).inventory_instances  # type: ignore[attr-defined]
    except KnobError:
        instances = 1
    # Any load, not only the lab's: built without the lab's guards (which keep its lesson intact).
    knobs = lab.knobs.model_construct(**{**lab.knobs().values(), "rate": args.rate, "duration_s": args.duration,
                                         "inventory_instances": instances})
    ctx = session.context(args.mode, args.seed, settings)
    script = lab.check_script(knobs, ctx)
    base = worlds.opener(settings)
    with Live(_table(0, {}), refresh_per_second=4, transient=False) as live:

        def open_world(mode: str, seed: int, spec: Any) -> Any:
            world = base(mode, seed, spec)
            world.on_sample = lambda now, samples: live.update(Group(_table(now, samples)))
            return world

        outcome = play(script, lab, open_world, ctx)
    if not sys.stdout.isatty():
        print()  # rich's live table ends without one when piped
    obs = outcome.last
    assert obs is not None
    series = obs.lag_of("inventory", "payments")
    partitions = sorted(series[-1][1]) if series else []
    for line in sparklines({f"payments-{p}": [lags.get(p, 0) for _, lags in series] for p in partitions}):
        print(line)
    idle = sorted(m for m, n in obs.members.get("inventory", {}).items() if n == 0)
    if idle:
        print(f"idle members (more members than partitions): {', '.join(idle)}")
    chart = args.chart or learner.files(settings).root / "load.html"
    print(f"chart: {write_lag_chart(chart, obs, 'load')}")
    return 0
