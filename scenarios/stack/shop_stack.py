"""``kafkalab up | down | scale | ps``: the shop's services as separate OS processes on real Kafka.

``up`` ensures the broker (the compose launcher, or ``--bootstrap``/``KAFKA_BOOTSTRAP``) and PostgreSQL
(``compose.postgres.ensure_database``, or ``--database-url``/``DATABASE_URL``), creates the topics,
then starts ``python -m scenarios service run NAME --instance K`` per instance through the
``Supervisor`` (own process group each; pid, argv and log under ``.kafkalab/services/``). It returns
once /health answers and every group is Stable with exactly the members of the live instances of
this generation: each instance writes the member id the broker gave it to ``<name>.member``, and
``Admin.describe_group`` must list exactly those ids (a member of a killed process still held by the
broker until its session times out is not one of them, though its client id is the same). The stack's
settings go to ``stack.json`` so ``scale`` can add instances identical to the first ones. Then the
watcher starts (``scenarios.stack.watcher``: a crashed instance is restarted with backoff). ``down``
stops the watcher, then exactly the recorded processes.

Order instance K serves HTTP on ``port + K``; the seed's curl commands use instance 0 on :3000.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from scenarios import root
from scenarios.settings import Settings
from scenarios.stack.service_process import SERVICE_NAMES, group_id
from scenarios.stack.supervisor import ServiceProcess, Supervisor, is_alive
from scenarios.stack.watcher import WATCHER

Echo = Callable[[str], None]


class StackError(RuntimeError):
    """``up``/``scale`` could not finish; the message says why and where the logs are."""


@dataclass(frozen=True, slots=True)
class StackConfig:
    bootstrap: str
    database_url: str
    host: str = "127.0.0.1"
    port: int = 3000
    prefix: str = ""

    def save(self, supervisor: Supervisor) -> None:
        supervisor.dir.mkdir(parents=True, exist_ok=True)
        path = supervisor.dir / "stack.json"
        path.write_text(json.dumps(asdict(self), indent=2))
        path.chmod(0o600)  # it holds the database URL

    @classmethod
    def load(cls, supervisor: Supervisor) -> StackConfig | None:
        try:
            return cls(**json.loads((supervisor.dir / "stack.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None


def service_argv(config: StackConfig, service: str, instance: int) -> list[str]:
    argv = [sys.executable, "-m", "scenarios", "service", "run", service, "--mode", "kafka",
            "--instance", str(instance), "--bootstrap", config.bootstrap]
    if config.prefix:
        argv += ["--prefix", config.prefix]
    if service == "order":
        argv += ["--host", config.host, "--port", str(config.port + instance)]
    return argv  # the database URL goes in the environment, not on a command line `ps` shows


def member_file(sup: Supervisor, service: str, instance: int) -> Path:
    return sup.dir / f"{service}-{instance}.member"


def _env(config: StackConfig) -> dict[str, str]:
    env = {"DATABASE_URL": config.database_url, "PYTHONUNBUFFERED": "1"}
    project_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (project_root, os.environ.get("PYTHONPATH", "")) if p)
    return env


def start_instance(sup: Supervisor, config: StackConfig, service: str, instance: int,
                   restarts: int = 0) -> ServiceProcess:
    member = member_file(sup, service, instance)
    member.unlink(missing_ok=True)  # the member id of a previous process of this instance is not ours
    env = {**_env(config), "KAFKALAB_MEMBER_FILE": str(member)}
    return sup.start(service, instance, service_argv(config, service, instance), env=env, restarts=restarts)


def start_watcher(sup: Supervisor, config: StackConfig) -> ServiceProcess:
    argv = [sys.executable, "-m", "scenarios", "service", "watch", "--state-dir", str(sup.dir.parent)]
    return sup.start(WATCHER, 0, argv, env=_env(config))


def stop_watcher(sup: Supervisor) -> None:
    for proc in sup.records():
        if proc.service == WATCHER:
            sup.stop(proc)


def ensure_infrastructure(settings: Settings, timeout: float, echo: Echo) -> tuple[str, str]:
    """The bootstrap servers and DSN to use: the configured ones, else the local broker and database,
    started if needed."""
    from compose.runtime import LauncherError

    try:
        bootstrap = settings.bootstrap
        if "bootstrap" not in settings.model_fields_set:  # nobody named a cluster: start the local one
            from compose import launcher

            result = launcher.up(1, wait=True, timeout=timeout, echo=echo)
            if not result.ready:
                raise StackError(f"Kafka on {result.bootstrap} is not ready: {result.detail}")
            bootstrap = result.bootstrap
        database_url = settings.database_url_or_local()
    except LauncherError as exc:
        raise StackError(str(exc)) from exc
    return bootstrap, database_url


def create_topics(config: StackConfig) -> None:
    from services.events import Topics
    from services.shop import ensure_topics

    topics = Topics.with_prefix(config.prefix) if config.prefix else Topics()
    ensure_topics(root.kafka_broker(config.bootstrap).admin(), topics=topics)


def drop_service_state(config: StackConfig) -> None:
    """``--fresh``: drop the services' schemas, so stock and orders start from the catalog again."""
    for kind in SERVICE_NAMES:
        store = root.postgres_store(config.database_url, root.service_schema(kind, config.prefix))
        store.drop_schema()  # type: ignore[attr-defined]
        store.close()


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def http_ready(host: str, port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def missing_members(config: StackConfig, procs: list[ServiceProcess], sup: Supervisor | None = None) -> list[str]:
    """What keeps a group of ``procs``' services from holding exactly their live instances' members:
    an instance not (yet) a member, a member that is not a live instance's, a group not Stable."""
    from services.ports import BrokerError

    admin = root.kafka_broker(config.bootstrap).admin()
    missing = []
    for service in SERVICE_NAMES:
        wanted = [p for p in procs if p.service == service]
        if not wanted:
            continue
        if sup is not None:  # every live instance of the service belongs to the group, not only these
            wanted = [p for p in sup.running(service)] or wanted
        try:
            group = admin.describe_group(group_id(service, config.prefix))
        except BrokerError:
            missing += [p.name for p in wanted]
            continue
        expected = {}
        for p in wanted:
            member = _member_id(sup, p) if sup is not None else None
            expected[p.name] = member
        held = {m.member_id for m in group.members}
        if sup is None:  # no member files: fall back to the client ids
            clients = [m.client_id for m in group.members]
            missing += [n for n in expected if group.state != "Stable" or not any(c.endswith(n) for c in clients)]
            continue
        missing += [n for n, member in expected.items() if member is None or member not in held]
        strangers = held - set(expected.values())
        if strangers:
            missing.append(f"{len(strangers)} member(s) of {group.group_id} that no live instance holds "
                           "(a dead process's, until its session times out)")
        elif group.state != "Stable" and not missing:
            missing.append(f"{group.group_id} to be Stable (it is {group.state})")
    return missing


def _member_id(sup: Supervisor, proc: ServiceProcess) -> str | None:
    try:
        return member_file(sup, proc.service, proc.instance).read_text().strip() or None
    except OSError:
        return None


def await_ready(sup: Supervisor, config: StackConfig, procs: list[ServiceProcess], timeout: float) -> float:
    """Poll until every process lives, HTTP answers and every instance joined its group; seconds taken."""
    began = time.monotonic()
    deadline = began + timeout
    pending = ["http", *(p.name for p in procs)]
    while time.monotonic() < deadline:
        dead = [p for p in procs if not is_alive(p)]
        if dead:
            raise StackError("\n".join(f"{p.name} exited; last log lines of {p.log_path}:\n{sup.tail(p)}" for p in dead))
        orders = [p for p in procs if p.service == "order"]
        pending = [p.name for p in orders if not http_ready(config.host, config.port + p.instance)]
        pending += missing_members(config, procs, sup) if not pending else []
        if not pending:
            return time.monotonic() - began
        time.sleep(0.5)  # poll interval, bounded by the deadline
    raise StackError(f"not ready after {timeout:.0f}s: waiting for {', '.join(pending)} (logs: {sup.dir})")


def up(sup: Supervisor, config: StackConfig, scale: Mapping[str, int], *, fresh: bool, timeout: float,
       echo: Echo) -> list[ServiceProcess]:
    """Start the stack; on any failure stop what was started and raise StackError."""
    if [p for p in sup.running() if p.service != WATCHER]:
        raise StackError(f"a stack is already running (see `kafkalab ps`); `kafkalab down` first. State: {sup.dir}")
    for k in range(scale.get("order", 1)):
        if not port_is_free(config.host, config.port + k):
            raise StackError(f"port {config.port + k} on {config.host} is taken; stop what uses it or pass --port")
    if fresh:
        drop_service_state(config)
    create_topics(config)
    config.save(sup)
    for stale in sup.records():  # records of a stack that was not brought down
        sup.forget(stale)
    started: list[ServiceProcess] = []
    try:
        with sup.lock():
            for service in SERVICE_NAMES:
                for instance in range(scale.get(service, 1)):
                    started.append(start_instance(sup, config, service, instance))
        seconds = await_ready(sup, config, started, timeout)
        watcher = start_watcher(sup, config)
    except BaseException:
        for proc in started:
            sup.stop(proc)
        raise
    echo(f"ready in {seconds:.1f}s; {watcher.name} (pid {watcher.pid}) restarts a crashed service with "
         f"backoff (log: {watcher.log_path})")
    return started


def scale(sup: Supervisor, service: str, count: int, *, timeout: float, echo: Echo) -> list[ServiceProcess]:
    """Add or stop instances of ``service`` so that ``count`` run; returns the running ones."""
    config = StackConfig.load(sup)
    if config is None or not sup.running():
        raise StackError("no stack is running: `kafkalab up` first")
    with sup.lock():
        recorded = [p for p in sup.records() if p.service == service]
        running = [p for p in recorded if is_alive(p)]
        for proc in recorded:  # a dead instance the watcher has not restarted yet counts as not there
            if not is_alive(proc):
                sup.forget(proc)
        for proc in sorted(running, key=lambda p: p.instance, reverse=True)[: max(0, len(running) - count)]:
            sup.stop(proc)
            echo(f"stopped {proc.name} (pid {proc.pid})")
        added = [start_instance(sup, config, service, sup.next_instance(service))
                 for _ in range(count - len(running))]
    try:
        seconds = await_ready(sup, config, added or sup.running(service), timeout)
    except BaseException:
        for proc in added:
            sup.stop(proc)
        raise
    what = f"started {', '.join(p.name for p in added)}; " if added else ""
    echo(f"{what}group {group_id(service, config.prefix)} holds exactly the {len(sup.running(service))} "
         f"live member(s), Stable, in {seconds:.1f}s")
    return sup.running(service)


def down(sup: Supervisor, echo: Echo) -> list[ServiceProcess]:
    stop_watcher(sup)  # first: nothing may restart what is stopped below
    with sup.lock():
        procs = sup.running()
        # SIGTERM order first (no new orders), then the rest; each leaves its group as it closes.
        for proc in sorted(procs, key=lambda p: (p.service != "order", p.service, p.instance)):
            killed = sup.stop(proc)
            echo(f"stopped {proc.name} (pid {proc.pid}){' with SIGKILL' if killed else ''}")
        for proc in sup.records():
            sup.forget(proc)
        for path in sup.dir.glob("*.member"):
            path.unlink(missing_ok=True)
    (sup.dir / "stack.json").unlink(missing_ok=True)
    return procs
