"""``kafkalab tune``: the producer-tuning grid, measured on a real broker (``--mode kafka``) or explained
by the batch-formation model (``--mode sim``, a model, not a measurement).

    kafkalab tune --mode kafka --quick                  # four cells, a look in under a minute
    kafkalab tune --mode kafka --json --html tune.html  # the default grid, one JSON object + a report
    kafkalab tune --mode sim --rate 50000 --vary linger.ms=0,5,20,100
    kafkalab tune --grid my-grid.toml                   # [base], [vary], combine, runs, [workload]
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

from rich.console import Console

from scenarios.tuning.grid import (
    SETTING_NAMES,
    GridSpec,
    TuningError,
    Workload,
    build,
    default_grid,
    quick_grid,
)

_KNOB_BY_SETTING = {setting: knob for knob, setting in SETTING_NAMES.items()}


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("tune", help="producer tuning: measure a grid of librdkafka settings (or model it)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", choices=("kafka", "sim"), default="kafka",
                   help="kafka: measure on a real broker (default); sim: the batch-formation model")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--html", metavar="FILE", help="also write an HTML report with charts (works offline)")
    p.add_argument("--quick", action="store_true", help="four cells, one run, 5000 records")
    p.add_argument("--grid", metavar="FILE", help="a TOML grid spec: base, vary, combine, runs, workload")
    p.add_argument("--set", action="append", default=[], metavar="KNOB=VALUE",
                   help="change the base cell, e.g. --set linger.ms=20 (repeatable)")
    p.add_argument("--vary", action="append", default=[], metavar="KNOB=V1,V2",
                   help="vary a knob instead of the default axes, e.g. --vary compression.type=none,lz4")
    p.add_argument("--combine", choices=("each", "product"), help="each knob from the base (default) or all combinations")
    p.add_argument("--record-size", type=int, metavar="N", help="value bytes per record (default 200)")
    p.add_argument("--rate", type=float, metavar="R", help="offered records/s; 0 = unlimited (default 10000)")
    p.add_argument("--keys", type=int, metavar="K", help="distinct keys, 0 = keyless (default 100)")
    p.add_argument("--records", type=int, metavar="N", help="measured records per run (default 20000)")
    p.add_argument("--partitions", type=int, metavar="P", help="partitions of the run's topic (default 3)")
    p.add_argument("--payload", choices=("json", "random"), help="compressible events or random letters")
    p.add_argument("--runs", type=int, metavar="N", help="Python-client runs per cell (default 3)")
    p.add_argument("--perf-test-runs", type=int, metavar="N", help="kafka-producer-perf-test runs per cell (0: none)")
    p.add_argument("--bootstrap", help="kafka mode: bootstrap servers (else config, else $KAFKA_BOOTSTRAP)")
    p.add_argument("--config", metavar="FILE", help="a kafkalab.toml (default: ./kafkalab.toml if present)")
    p.add_argument("--keep-topic", action="store_true", help="kafka mode: keep the run's kl-tune- topic")
    p.add_argument("--rtt-ms", type=float, default=1.0, help="sim mode: assumed broker round trip (default 1)")
    p.add_argument("--compression-ratio", type=float, help="sim mode: one compression ratio for every codec")
    p.set_defaults(func=cmd_tune)


def _knob(name: str) -> str:
    knob = _KNOB_BY_SETTING.get(name, name.replace(".", "_").replace("-", "_"))
    if knob not in SETTING_NAMES:
        raise TuningError(f"{name!r} is not a knob; knobs: {', '.join(SETTING_NAMES.values())}")
    return knob


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not value:
            raise TuningError(f"{flag} {item!r}: write KNOB=VALUE, e.g. {flag} linger.ms=20")
        out[_knob(name.strip())] = value.strip()
    return out


def _workload_overrides(args: argparse.Namespace) -> dict[str, Any]:
    given = {"record_size": args.record_size, "keys": args.keys, "records": args.records,
             "partitions": args.partitions, "payload": args.payload}
    out = {k: v for k, v in given.items() if v is not None}
    if args.rate is not None:
        out["rate"] = None if args.rate == 0 else args.rate
    return out


def spec_from_args(args: argparse.Namespace) -> GridSpec:
    """The grid the command line asks for; TuningError (one line) when something is not valid."""
    if args.grid:
        try:
            document = tomllib.loads(Path(args.grid).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise TuningError(f"--grid {args.grid}: {exc}") from None
        document["vary"] = {_knob(k): v for k, v in document.get("vary", {}).items()}
        document["base"] = {_knob(k): v for k, v in document.get("base", {}).items()}
        spec = build(GridSpec, **document)
    else:
        spec = quick_grid() if args.quick else default_grid()
    overrides: dict[str, Any] = {}
    if args.vary:
        overrides["vary"] = {k: [v.strip() for v in values.split(",") if v.strip()]
                             for k, values in _pairs(args.vary, "--vary").items()}
    if args.set:
        overrides["base"] = {**spec.base.model_dump(), **_pairs(args.set, "--set")}
    workload = _workload_overrides(args)
    if workload:
        overrides["workload"] = build(Workload, **{**spec.workload.model_dump(), **workload})
    for field in ("combine", "runs", "perf_test_runs"):
        if getattr(args, field) is not None:
            overrides[field] = getattr(args, field)
    if not overrides:
        return spec
    return build(GridSpec, **{**spec.model_dump(), **overrides})


def _run_kafka(spec: GridSpec, args: argparse.Namespace, err: Console) -> dict[str, Any]:
    from scenarios.cli.common import settings_of
    from scenarios.tuning.measure import measure_grid
    from scenarios.tuning.table import progress_bar

    bootstrap = settings_of(args).bootstrap
    cells = len(spec.cells())
    with progress_bar(err, f"{cells} cells × {spec.runs} run(s) on {bootstrap}") as on_step:
        return measure_grid(spec, bootstrap, on_step=on_step, keep_topic=args.keep_topic).to_json()


def _run_sim(spec: GridSpec, args: argparse.Namespace) -> dict[str, Any]:
    from scenarios.tuning.model import ModelInputs, model_grid

    if args.rtt_ms < 0 or (args.compression_ratio is not None and args.compression_ratio <= 0):
        raise TuningError("--rtt-ms must be ≥ 0 and --compression-ratio > 0")
    return model_grid(spec.cells(), spec.workload, ModelInputs(args.compression_ratio, args.rtt_ms))


def cmd_tune(args: argparse.Namespace) -> int:
    from compose.runtime import LauncherError
    from scenarios.tuning.perf_test import PerfTestError
    from services.ports import BrokerError

    # Piped or redirected output gets a wide table rather than rich's 80-column guess.
    out = Console() if sys.stdout.isatty() else Console(width=200)
    err = Console(stderr=True)
    try:
        spec = spec_from_args(args)
        result = _run_sim(spec, args) if args.mode == "sim" else _run_kafka(spec, args, err)
    except TuningError as exc:
        print(f"kafkalab tune: error: {exc}", file=sys.stderr)
        return 2
    except (BrokerError, LauncherError, PerfTestError, FileNotFoundError) as exc:
        print(f"kafkalab tune: {exc}", file=sys.stderr)
        return 1
    if args.html:
        from scenarios.tuning.report import write_report

        print(f"report: {write_report(result, args.html)}", file=sys.stderr)  # unwrapped, to copy
    if args.json:
        print(json.dumps(result))
        return 0
    _print_table(out, result)
    return 0


def _print_table(out: Console, result: dict[str, Any]) -> None:
    from scenarios.tuning.table import measurement_table, model_table, print_notes

    if result["kind"] == "model":
        out.print(model_table(result))
        print_notes(out, ["A model, not a measurement: `kafkalab tune --mode kafka` measures the same grid."])
        return
    out.print(measurement_table(result))
    warnings = [f"* {c['name']}: {w}" for c in result["cells"] for w in c["warnings"]]
    print_notes(out, result["notes"] + [f"skipped: {s}" for s in result["skipped"]] + warnings)
