"""``kafkalab service run``, ``up``, ``down``, ``scale``, ``ps``: the shop as real processes."""

from __future__ import annotations

import argparse
import errno
import sys
import time
from typing import Any

from scenarios.cli.common import port_number, settings_of
from scenarios.stack.service_process import SERVICE_NAMES, SESSION_TIMEOUT_MS

DEFAULT_TIMEOUT = 180.0


def register(subparsers: argparse._SubParsersAction) -> None:
    service = subparsers.add_parser("service", help="run one service instance in the foreground")
    actions = service.add_subparsers(dest="service_command", metavar="ACTION", required=True)
    run = actions.add_parser("run", help="poll, handle, publish, commit until SIGTERM/SIGINT")
    run.add_argument("name", choices=SERVICE_NAMES)
    run.add_argument("--mode", choices=("kafka",), default="kafka",
                     help="only kafka: in sim mode `kafkalab up --mode sim` runs every service in one process")
    run.add_argument("--instance", type=int, default=0, help="instance number (client id NAME-K)")
    run.add_argument("--bootstrap", default=None, help="default: kafkalab.toml, else $KAFKA_BOOTSTRAP, else localhost:9092")
    run.add_argument("--database-url", default=None, help="default: kafkalab.toml, else $DATABASE_URL")
    run.add_argument("--prefix", default="", help="prefix of topics, groups and schemas (isolated runs)")
    run.add_argument("--host", default="127.0.0.1", help="order only: HTTP bind address")
    run.add_argument("--port", type=port_number, default=3000, help="order only: HTTP port")
    run.add_argument("--json-logs", action="store_true", help="log JSON lines instead of key=value")
    run.add_argument("--order-events", choices=("relay", "write-then-produce", "produce-then-write"),
                     default="relay", help="order only: outbox + relay (default), or a dual write (the outbox lab)")
    run.add_argument("--schema", default=None, help="PostgreSQL schema of its state (default: the kind's, prefixed)")
    run.add_argument("--session-timeout-ms", type=int, default=SESSION_TIMEOUT_MS, help="how long a killed instance keeps "
                     "its partitions")
    run.add_argument("--control", action="store_true", help="take 'arm <fault point>' lines on stdin (labs)")
    run.set_defaults(func=_service_run)
    watch = actions.add_parser("watch", help="restart the stack's crashed instances with backoff (`up` starts it)")
    watch.add_argument("--state-dir", required=True, help="the state directory of the stack to watch")
    watch.set_defaults(func=_service_watch)

    up = subparsers.add_parser("up", help="start Kafka, PostgreSQL and the three services as processes")
    up.add_argument("--mode", choices=("kafka", "sim"), default="kafka",
                    help="sim: the shop on the simulator, in this process, in the foreground")
    up.add_argument("--scale", action="append", default=[], metavar="SERVICE=N",
                    help="instances of a service (repeatable), e.g. --scale inventory=3")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=port_number, default=3000, help="order API port (instance K uses port+K)")
    up.add_argument("--bootstrap", default=None, help="use this cluster instead of starting the local one")
    up.add_argument("--database-url", default=None, help="use this PostgreSQL (default: $DATABASE_URL or local)")
    up.add_argument("--prefix", default="", help="prefix of topics, groups and schemas")
    up.add_argument("--fresh", action="store_true", help="drop the services' database state first")
    up.add_argument("--seed", type=int, default=1, help="sim only: the world's seed")
    up.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds to wait for readiness")
    up.set_defaults(func=_up)

    down = subparsers.add_parser("down", help="stop the service processes `kafkalab up` started")
    down.set_defaults(func=_down)

    scale = subparsers.add_parser("scale", help="add or remove instances of a running service")
    scale.add_argument("service", choices=SERVICE_NAMES)
    scale.add_argument("count", type=int)
    scale.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    scale.set_defaults(func=_scale)

    ps = subparsers.add_parser("ps", help="list the running service processes")
    ps.set_defaults(func=_ps)


def _say(line: str) -> None:
    print(line, file=sys.stderr)


def parse_scale(items: list[str]) -> dict[str, int]:
    counts = dict.fromkeys(SERVICE_NAMES, 1)
    for item in items:
        name, _, number = item.partition("=")
        if name not in counts or not number.isdigit():
            raise ValueError(f"--scale {item!r}: expected SERVICE=N with SERVICE one of {', '.join(SERVICE_NAMES)}")
        counts[name] = int(number)
    if counts["order"] < 1:
        raise ValueError("--scale order=0: the stack needs the order service for its HTTP API")
    return counts


def _service_run(args: argparse.Namespace) -> int:
    from scenarios.root import configure_process_logging
    from scenarios.stack.service_process import ServiceOptions, run_service

    configure_process_logging(json_lines=args.json_logs)
    settings = settings_of(args)
    if not settings.database_url:
        _say("kafkalab: service run needs --database-url or DATABASE_URL (`kafkalab db up` prints one)")
        return 2
    options = ServiceOptions(name=args.name, settings=settings, instance=args.instance, prefix=args.prefix,
                             host=args.host, port=args.port, order_events=args.order_events, schema=args.schema,
                             session_timeout_ms=args.session_timeout_ms, control=args.control)
    return run_service(options)


def _service_watch(args: argparse.Namespace) -> int:
    from pathlib import Path

    from scenarios.stack import shop_stack as stack
    from scenarios.stack.supervisor import Supervisor
    from scenarios.stack.watcher import Watcher

    sup = Supervisor(Path(args.state_dir))
    config = stack.StackConfig.load(sup)
    if config is None:
        _say(f"kafkalab service watch: no stack.json under {sup.dir} (`kafkalab up` writes it)")
        return 2

    def restart(proc: Any) -> Any:
        return stack.start_instance(sup, config, proc.service, proc.instance, restarts=proc.restarts + 1)

    def say(line: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)

    Watcher(sup, restart, say).run()
    return 0


def _up(args: argparse.Namespace) -> int:
    try:
        counts = parse_scale(args.scale)
    except ValueError as exc:
        _say(f"kafkalab: {exc}")
        return 2
    if args.mode == "sim":
        from scenarios.stack.sim_stack import run_sim_stack

        try:
            return run_sim_stack(args.host, args.port, counts, args.seed, echo=_say)
        except OSError as exc:
            if exc.errno not in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
                raise
            _say(f"kafkalab: --port {args.port}: cannot listen there ({exc.strerror}); pick another with --port")
            return 2
    from scenarios.stack import shop_stack as stack

    began = time.monotonic()
    try:
        bootstrap, dsn = stack.ensure_infrastructure(settings_of(args), args.timeout, _say)
        config = stack.StackConfig(bootstrap, dsn, args.host, args.port, args.prefix)
        procs = stack.up(_supervisor(args), config, counts, fresh=args.fresh, timeout=args.timeout, echo=_say)
    except stack.StackError as exc:
        _say(f"kafkalab up: {exc}")
        return 1
    print(f"kafkalab stack up in {time.monotonic() - began:.1f}s: Kafka {bootstrap}, "
          f"order API http://{args.host}:{args.port}")
    _print_table(procs, _supervisor(args))
    body = '{"customerId": "cust_happy_path", "productId": "prod_123", "quantity": 2, "amount": 250.50}'
    print(f"try:  curl -X POST http://localhost:{args.port}/orders -H 'Content-Type: application/json' -d '{body}'")
    return 0


def _down(args: argparse.Namespace) -> int:
    from scenarios.stack import shop_stack as stack

    stopped = stack.down(_supervisor(args), _say)
    print(f"stopped {len(stopped)} service process(es)" if stopped else "no service process started from here runs")
    return 0


def _scale(args: argparse.Namespace) -> int:
    from scenarios.stack import shop_stack as stack

    if args.count < 0 or (args.service == "order" and args.count < 1):
        _say("kafkalab scale: count must be >= 0 (>= 1 for order, which serves the API)")
        return 2
    try:
        running = stack.scale(_supervisor(args), args.service, args.count, timeout=args.timeout, echo=_say)
    except stack.StackError as exc:
        _say(f"kafkalab scale: {exc}")
        return 1
    print(f"{args.service}: {len(running)} instance(s) running")
    return 0


def _ps(args: argparse.Namespace) -> int:
    sup = _supervisor(args)
    procs = sup.running()
    if not procs:
        print("no service processes running (kafkalab up starts them)")
        return 0
    _print_table(procs, sup)
    return 0


def _supervisor(args: argparse.Namespace) -> Any:
    from scenarios.stack.supervisor import Supervisor

    return Supervisor(settings_of(args).state_dir)


def _print_table(procs: list, sup: Any) -> None:
    from scenarios.stack.service_process import group_id
    from scenarios.stack.shop_stack import StackConfig
    from scenarios.stack.watcher import WATCHER

    config = StackConfig.load(sup)
    prefix = config.prefix if config else ""
    now = time.time()
    print(f"{'INSTANCE':<14}{'PID':>8}  {'UP':>7}  {'RESTARTS':>8}  {'GROUP':<20}LOG")
    for p in procs:
        group = "-" if p.service == WATCHER else group_id(p.service, prefix)
        print(f"{p.name:<14}{p.pid:>8}  {now - p.started_at:>6.0f}s  {p.restarts:>8}  {group:<20} {p.log_path}")
