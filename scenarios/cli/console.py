"""``kafkalab console`` (the lab console in a browser) and ``kafkalab report RUN`` (its views of a
finished run, as one HTML file). The console itself is ``scenarios.console``; this wires in the
learner's lab (its task, its settings, its last check) and the command-line options."""

from __future__ import annotations

import argparse
import json
import logging
import threading
from pathlib import Path
from typing import Any

from scenarios import labs, learner, session
from scenarios.cli.common import add_settings_options, port_number, settings_of
from scenarios.engine.knobs import KnobError, render_table
from scenarios.engine.lab import Lab
from scenarios.engine.model import ScriptError
from scenarios.engine.spec import WorldSpec
from scenarios.ops import dlq
from scenarios.root import quiet_logs_to_stderr
from scenarios.settings import Settings
from scenarios.validation import ConfigError


def register(subparsers: Any) -> None:
    console = subparsers.add_parser("console", help="the lab console in a browser: topics, sagas, lag, dead letters")
    console.add_argument("--mode", choices=("sim", "kafka"), default="sim",
                         help="sim: the shop on the simulator; kafka: on the real broker (its own kl-<run>- topics)")
    console.add_argument("--attach", action="store_true",
                         help="kafka: run no shop, look at the broker's topics as they are (e.g. `kafkalab up`'s)")
    console.add_argument("--prefix", default="", help="with --attach: only topics and groups with this prefix")
    console.add_argument("--lab", default=None, help="run the shop as this lab sets it up (default: your current lab)")
    console.add_argument("--host", default="127.0.0.1", help="loopback only (127.0.0.1, ::1, localhost)")
    console.add_argument("--port", type=port_number, default=None, help="default 3000 (sim), 3001 (kafka)")
    console.add_argument("--seed", type=int, default=1, help="sim: the world's seed")
    console.add_argument("--speed", type=float, default=1.0, help="sim: virtual seconds per wall second")
    console.add_argument("--max-redrives", type=int, default=dlq.DEFAULT_MAX_REDRIVES,
                         help=f"the loop guard: refuse letters redriven this often (default {dlq.DEFAULT_MAX_REDRIVES})")
    add_settings_options(console, keep=False)
    console.set_defaults(func=cmd_console)
    report = subparsers.add_parser("report", help="a finished run's console views as one self-contained HTML file")
    report.add_argument("run", help="a recording (`scenario run --trace FILE` or `--script FILE`), or a lab name "
                                    "(its last `lab check`)")
    report.add_argument("--out", "-o", default=None, help="the HTML file (default: RUN's name with .html)")
    add_settings_options(report, keep=False)
    report.set_defaults(func=cmd_report)


class LearnerLab:
    """The console's lab view over learner mode's files: the task, lab.toml, the last check."""

    def __init__(self, lab: Lab, settings: Settings) -> None:
        self.lab, self.settings = lab, settings
        self.files = learner.files(settings)
        self._checking: threading.Thread | None = None
        self._error: str | None = None

    def view(self) -> dict[str, Any]:
        path = self.files.verdict_path(self.lab.name)
        verdict: dict[str, Any] = {}
        if path.is_file():
            try:
                verdict = json.loads(path.read_text())
            except json.JSONDecodeError:
                verdict = {}
        try:
            knobs = "\n".join(render_table(self.lab.name, self.files.knobs(self.lab)))
        except KnobError as exc:
            knobs = f"# {exc}"
        return {"name": self.lab.name, "title": self.lab.title, "task": self.lab.task, "knobs": knobs,
                "checks": verdict.get("checks", []), "hint": self._error or verdict.get("hint"),
                "checked": verdict.get("mode") and f"{verdict['mode']}, {'passed' if verdict.get('passed') else 'failed'}",
                "checking": self._checking is not None and self._checking.is_alive()}

    def check(self) -> None:
        if self._checking is not None and self._checking.is_alive():
            return

        def run() -> None:
            try:
                learner.check(self.lab.name, self.settings)
                self._error = None
            except ConfigError as exc:  # not started, or lab.toml does not validate: say so on the page
                self._error = str(exc)

        self._checking = threading.Thread(target=run, name="console-lab-check", daemon=True)
        self._checking.start()


def lab_world(lab: Lab, settings: Settings, mode: str, seed: int) -> WorldSpec:
    """The shop as the lab sets it up with the learner's settings (the start when there are none yet);
    components a lab starts late, and a wrong bootstrap address, are left out: the console runs the shop."""
    ctx = session.context(mode, seed, settings)
    try:
        knobs = learner.files(settings).knobs(lab)
    except KnobError:
        knobs = lab.start_knobs(ctx)
    spec = lab.check_script(knobs, ctx).stages[-1].phases[0].world
    return spec.model_copy(update={"deferred": (), "bootstrap": None})


def _broker_answers(bootstrap: str) -> None:
    """Before serving: a broker that does not answer is one line, not a page of librdkafka errors."""
    from scenarios import root
    from services.ports import BrokerError

    lines = logging.getLogger("kafkalab.librdkafka")  # adapters.kafka_broker's: its connect errors, said once
    level = lines.level
    lines.setLevel(logging.CRITICAL)
    try:
        root.kafka_broker(bootstrap, client_prefix="kafkalab-console", timeout_s=5.0).admin().list_topics()
    except BrokerError as exc:
        raise ConfigError(f"console --mode kafka: {exc}") from None
    finally:
        lines.setLevel(level)


def cmd_console(args: argparse.Namespace) -> int:
    from scenarios.console.serve import ConsoleStack, loopback
    from scenarios.stack.service_process import StopFlag

    quiet_logs_to_stderr()
    loopback(args.host)
    if args.max_redrives < 1:
        raise ConfigError(f"--max-redrives {args.max_redrives}: must be at least 1")
    if args.prefix and not args.attach:
        raise ConfigError("--prefix: only with --attach (a shop the console runs has its own topics)")
    if args.lab is not None and args.lab not in labs.LABS:
        raise ConfigError(f"--lab {args.lab}: no such lab; the labs are {', '.join(labs.LABS)}")
    if args.speed <= 0:
        raise ConfigError(f"--speed {args.speed}: must be above 0")
    settings = settings_of(args)
    if args.mode == "kafka":
        _broker_answers(settings.bootstrap)
    name = args.lab or learner.files(settings).current()
    lab = labs.get(name) if name else None
    spec = lab_world(lab, settings, args.mode, args.seed) if lab and not args.attach else None
    port = args.port if args.port is not None else (3000 if args.mode == "sim" else 3001)
    try:
        stack = ConsoleStack(args.mode, settings, spec=spec, seed=args.seed, attach=args.attach, prefix=args.prefix,
                             speed=args.speed, max_redrives=args.max_redrives,
                             lab=LearnerLab(lab, settings) if lab else None, host=args.host, port=port,
                             title=f"kafkalab console{': ' + lab.name if lab else ''}")
    except OSError as exc:
        raise ConfigError(f"--port {port}: cannot listen there ({exc.strerror}); pick another with --port") from None
    flag = StopFlag()
    flag.install()
    where = "attached to " + settings.bootstrap if args.attach else f"the shop on {args.mode}"
    print(f"kafkalab console: {stack.url}/console ({where}"
          + (f"; order API on {stack.url}/orders" if not args.attach else "") + "); Ctrl-C stops it", flush=True)
    try:
        flag.event.wait()
    finally:
        stack.close()
    print("console stopped")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from scenarios.console.report import write_report

    quiet_logs_to_stderr()
    settings = settings_of(args)
    path = Path(args.run)
    if not path.is_file():
        if args.run not in labs.LABS:
            raise ConfigError(f"{args.run}: no such recording, nor a lab ({', '.join(labs.LABS)}); "
                              "record a run with `kafkalab scenario run NAME --trace run.jsonl`")
        path = learner.files(settings).last_run_path(args.run)
        if not path.is_file():
            raise ConfigError(f"{args.run}: no check to report yet; run `kafkalab lab check {args.run}`")
    try:
        replay = session.replay(path, settings)
    except ScriptError as exc:
        raise ConfigError(str(exc)) from None
    if replay.outcome is None:
        raise ConfigError(f"{path}: the recording was edited or truncated, so there is no run to report on")
    out = Path(args.out) if args.out else path.with_suffix(".html")
    write_report(out, replay.outcome, session.lab_of(replay.outcome))
    note = {True: "reproduced exactly", False: "did NOT reproduce the recording", None: "played"}[replay.reproduced]
    print(f"report: {out} ({replay.outcome.lab}, {replay.outcome.mode}, {note})")
    return 0
