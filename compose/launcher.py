"""Start, stop and inspect a local Apache Kafka (KRaft, 1 or 3 combined nodes) without Docker.

``up`` is idempotent and safe to call concurrently (one machine-wide lock, held while it decides and
spawns, not while it waits for readiness): a cluster already running from this data dir is reused; a
ready broker on localhost:9092 started elsewhere is reused too. What makes a start fast (a storage
template, a class archive, JVM flags) is in ``compose.fastboot``.
``down`` stops exactly the JVMs whose pids this launcher recorded, after checking they are ours.

A *private* cluster (``port_offset`` > 0, its own data dir) shifts every listener port by the offset and
reuses nothing: not KAFKA_BOOTSTRAP, not a broker found on the shared ports. The startup-race lab starts
one last and stops it with ``down(data=...)``, which never touches the shared cluster's pid files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from adapters import kafka_readiness as readiness
from compose import fastboot, processes
from compose.config import ClusterState, DataDir, NodePaths, new_cluster_id, render_properties
from compose.faultproxy import background as fault_proxy
from compose.faultproxy.commands import FaultProxyError
from compose.runtime import (
    LONG_RUNNING_JVM,
    SHORT_LIVED_JVM,
    LauncherError,
    broker_command,
    ensure_jars,
    java_binary,
    kafkalab_home,
    tool_command,
)
from compose.topology import (
    EXTERNAL,
    FAULTY,
    KAFKA_VERSION,
    Node,
    all_nodes,
    bootstrap_servers,
    cluster_nodes,
)

Echo = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class UpResult:
    bootstrap: str
    ready: bool
    outcome: str  # "started", "already-running", "reused-external", "reused-env"
    detail: str
    timings: dict[str, float] = field(default_factory=dict)  # seconds: fetch, format, start_to_ready
    fault_proxy: str | None = None  # with faults=True: the bootstrap through the fault proxy


@dataclass(frozen=True, slots=True)
class Status:
    running: bool
    brokers: int
    pids: dict[int, int | None]  # node id -> pid (None: not running)
    bootstrap: str
    ready: bool
    detail: str
    data_dir: str
    cluster_id: str | None
    version: str = KAFKA_VERSION
    fault_proxy: dict | None = None  # the background fault proxy: pid, addresses, active faults

    def to_dict(self) -> dict:
        return asdict(self)


def lock_path() -> Path:
    return kafkalab_home() / "launcher.lock"


def up(
    brokers: int = 1,
    *,
    wait: bool = True,
    timeout: float = 180.0,
    data: DataDir | None = None,
    echo: Echo = lambda _line: None,
    port_offset: int = 0,
    faults: bool = False,
    short_lived: bool = False,
    controller: bool = False,
) -> UpResult:
    """Make a local cluster of ``brokers`` nodes run (and, with ``wait``, be ready); see module doc.

    ``faults``: also run the background fault proxy in front of the nodes' FAULTY listeners (only for a
    cluster this launcher starts or runs: another's listeners are unknown).
    ``short_lived``: JVM settings for a broker that is stopped within minutes (``SHORT_LIVED_JVM``).
    ``controller``: three brokers and a dedicated KRaft controller node (``compose.topology``), with the
    fast fencing of ``compose.config.FAILOVER_TIMINGS``: the layout whose brokers may die two at a time.
    """
    external = os.environ.get("KAFKA_BOOTSTRAP")
    if external and not port_offset:
        if faults:
            raise LauncherError(f"--faults needs a broker started by kafkalab (its FAULTY listener), not "
                                f"KAFKA_BOOTSTRAP={external}; unset it, or use --port-offset for a private one.")
        echo(f"KAFKA_BOOTSTRAP={external}: using that cluster, starting nothing")
        return _await(external, 1, wait, timeout, "reused-env", {})
    data = data or DataDir()
    try:
        cluster_nodes(brokers, port_offset, controller=controller)  # validates the size and the offset
    except ValueError as exc:
        raise LauncherError(str(exc)) from None
    with processes.exclusive_lock(lock_path()):
        finish = _up_locked(brokers, wait, timeout, data, echo, port_offset, faults, short_lived, controller)
    result = finish()  # readiness is awaited outside the lock: other launchers need not queue behind it
    if not faults:
        return result
    with processes.exclusive_lock(lock_path()):
        return _with_fault_proxy(result, brokers, data, echo, port_offset)


def _up_locked(
    brokers: int, wait: bool, timeout: float, data: DataDir, echo: Echo, port_offset: int, faults: bool,
    short_lived: bool = False, controller: bool = False,
) -> Callable[[], UpResult]:
    """What to do under the lock; returns what is left to do after it (waiting for readiness)."""
    bootstrap = bootstrap_servers(brokers, port_offset)
    state = data.load_state()
    running = _running_pids(data, state)
    if state and state.port_offset != port_offset:
        raise LauncherError(
            f"{data.root} holds a cluster on port offset {state.port_offset}; run `kafkalab kafka down "
            f"--wipe` with that data dir before starting one on offset {port_offset}."
        )
    if state and state.controller != controller:
        have, want = (("a dedicated controller" if c else "combined broker+controller nodes")
                      for c in (state.controller, controller))
        raise LauncherError(f"{data.root} holds a cluster with {have}; run `kafkalab kafka down --wipe` with that "
                            f"data dir before starting one with {want}.")
    if state and any(running.values()):
        if state.brokers != brokers:
            raise LauncherError(
                f"a {state.brokers}-broker cluster is running from {data.root}; "
                f"run `kafkalab kafka down` before starting {brokers}."
            )
        if all(running.values()):
            echo(f"Kafka already running from {data.root} (pids {_pid_list(running)})")
            return lambda: _await(bootstrap, brokers, wait, timeout, "already-running", {}, data)
    elif not port_offset and _port_taken_by_a_kafka(brokers, echo):
        if faults:
            raise LauncherError(f"--faults needs a broker started from {data.root}; the one on "
                                f"{bootstrap} was started elsewhere (its listeners are unknown).")
        return lambda: _await(bootstrap, brokers, wait, timeout, "reused-external", {})
    if state and state.brokers != brokers:
        raise LauncherError(
            f"{data.root} holds a {state.brokers}-broker cluster; run `kafkalab kafka down --wipe` "
            f"to start a {brokers}-broker one."
        )
    return _start(brokers, state, running, data, wait, timeout, echo, port_offset, short_lived, controller)


def _start(
    brokers: int,
    state: ClusterState | None,
    running: dict[int, int | None],
    data: DataDir,
    wait: bool,
    timeout: float,
    echo: Echo,
    port_offset: int = 0,
    short_lived: bool = False,
    controller: bool = False,
) -> Callable[[], UpResult]:
    nodes = all_nodes(brokers, port_offset, controller=controller)
    to_start = [node for node in nodes if not running.get(node.node_id)]
    for node in to_start:  # before the (possibly long) jar fetch: fail fast
        for name, port in {**node.ports, **({FAULTY: node.faulty_port} if node.is_broker else {})}.items():
            if processes.port_in_use(port):
                raise LauncherError(
                    f"port {port} ({name} listener of node {node.node_id}) is taken by another program. "
                    f"Find it with `ss -ltnp | grep :{port}`; stop it, or set KAFKA_BOOTSTRAP to use a "
                    f"cluster you already run."
                )
    java = java_binary()
    fetch = ensure_jars()
    timings = {"fetch": round(fetch.seconds, 1)}
    if fetch.fetched:
        echo(f"fetched Apache Kafka {KAFKA_VERSION} jars into {fetch.lib} in {fetch.seconds:.1f}s")
    state = state or ClusterState(new_cluster_id(), brokers, port_offset=port_offset, controller=controller)
    data.save_state(state)
    started = time.monotonic()
    fast = fastboot.enabled()
    for node in to_start:
        paths = data.node(node.node_id)
        paths.log_dirs.mkdir(parents=True, exist_ok=True)
        paths.logs.mkdir(parents=True, exist_ok=True)
        paths.properties.write_text(render_properties(node, paths.log_dirs))
    template = fastboot.storage_template(java, fetch.lib) if fast else None
    if template:  # a copy of a storage formatted once, instead of a format JVM per node (compose/fastboot.py)
        for node in to_start:
            fastboot.format_from_template(template, data.node(node.node_id).log_dirs, state.cluster_id, node.node_id)
    else:
        _format(java, fetch.lib, state, [(node, data.node(node.node_id).properties) for node in to_start])
    timings["format"] = round(time.monotonic() - started, 1)
    flags = jvm_flags(java, fetch.lib, short_lived, echo)
    for node in to_start:
        paths = data.node(node.node_id)
        pid = spawn_node(node, paths, java, fetch.lib, flags)
        where = node.external_address if node.is_broker else f"127.0.0.1:{node.port('CONTROLLER')} (controller only)"
        echo(f"started Kafka node {node.node_id} (pid {pid}) on {where}")

    def finish() -> UpResult:
        result = _await(bootstrap_servers(brokers, port_offset), brokers, wait, timeout, "started", timings, data)
        timings["start_to_ready"] = round(time.monotonic() - started, 1)
        return result

    return finish


def jvm_flags(java: str, lib: Path, short_lived: bool, echo: Echo = lambda _line: None) -> list[str]:
    fast = fastboot.enabled()
    return [*(SHORT_LIVED_JVM if short_lived and fast else LONG_RUNNING_JVM),
            *(fastboot.class_sharing_flags(java, lib, echo) if fast else [])]


def spawn_node(node: Node, paths: NodePaths, java: str, lib: Path, flags: list[str]) -> int:
    """One node's JVM, detached, its pid recorded; a controller-only node needs half a broker's heap."""
    heap = 512 if node.is_broker else 256
    command = broker_command(java, lib, paths.properties, paths.logs, heap_mb=heap, jvm_flags=flags)
    pid = processes.spawn_detached(command, paths.stdout, cwd=paths.root)
    paths.pid_file.write_text(f"{pid}\n")
    return pid


def _format(java: str, lib: Path, state: ClusterState, nodes: list[tuple[Node, Path]]) -> None:
    """``kafka-storage format --ignore-formatted`` for each node, in parallel: each is a JVM start."""
    formats = []
    for node, properties in nodes:
        command = tool_command(
            java, lib, "kafka.tools.StorageTool",
            ["format", "-t", state.cluster_id, "-c", str(properties), "--ignore-formatted"],
        )  # fmt: skip
        formats.append((node, subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)))
    for node, proc in formats:
        output = proc.communicate(timeout=120)[0].decode(errors="replace")
        if proc.returncode != 0:
            raise LauncherError(f"formatting node {node.node_id}'s storage failed:\n{output.strip()[-1500:]}")


def down(*, wipe: bool = False, data: DataDir | None = None, echo: Echo = lambda _line: None) -> list[int]:
    """Stop the brokers this data dir's pid files name (only if they are really our JVMs), and its fault proxy."""
    data = data or DataDir()
    with processes.exclusive_lock(lock_path()):
        proxy_pid = fault_proxy.stop(data)
        if proxy_pid:
            echo(f"stopped the fault proxy (pid {proxy_pid})")
        state = data.load_state()
        running = _running_pids(data, state)
        pids = [pid for pid in running.values() if pid]
        if pids:
            echo(f"stopping Kafka (pids {_pid_list(running)})")
            processes.stop(pids)
        for node_id in running:
            data.node(node_id).pid_file.unlink(missing_ok=True)
        if wipe and data.root.exists():
            shutil.rmtree(data.root)
            echo(f"wiped {data.root}")
        return pids


def status(*, data: DataDir | None = None, probe_timeout: float = 3.0) -> Status:
    data = data or DataDir()
    state = data.load_state()
    running = _running_pids(data, state)
    brokers = state.brokers if state else 1
    offset = state.port_offset if state else 0
    external = "" if offset else os.environ.get("KAFKA_BOOTSTRAP", "")  # a private cluster is never the env's
    bootstrap = external or bootstrap_servers(brokers, offset)
    is_running = bool(running) and all(running.values())
    answers = is_running or bool(external)
    check = readiness.probe(bootstrap, brokers, timeout=probe_timeout) if answers else None
    return Status(
        running=is_running,
        brokers=brokers,
        pids=running,
        bootstrap=bootstrap,
        ready=bool(check and check.ready),
        detail=check.detail if check else "not running",
        data_dir=str(data.root),
        cluster_id=state.cluster_id if state else None,
        fault_proxy=fault_proxy.describe(data),
    )


def _with_fault_proxy(result: UpResult, brokers: int, data: DataDir, echo: Echo, port_offset: int) -> UpResult:
    """Start (or find) the background fault proxy of a cluster this launcher runs."""
    try:
        fault_proxy.check_listeners(data, brokers, port_offset)
        proxy, started = fault_proxy.start(data, brokers, port_offset)
    except FaultProxyError as exc:
        raise LauncherError(str(exc)) from None
    echo(f"{'started' if started else 'reusing'} the fault proxy (pid {proxy.pid}) on {proxy.bootstrap}, "
         f"control 127.0.0.1:{proxy.control_port}, events in {proxy.log}")
    return replace(result, fault_proxy=proxy.bootstrap)


def _running_pids(data: DataDir, state: ClusterState | None) -> dict[int, int | None]:
    if not state:
        return {}
    found: dict[int, int | None] = {}
    for node in all_nodes(state.brokers, controller=state.controller):
        paths = data.node(node.node_id)
        pid = processes.read_pid(paths.pid_file)
        found[node.node_id] = pid if pid and processes.is_our_broker(pid, paths.properties) else None
    return found


def _port_taken_by_a_kafka(brokers: int, echo: Echo) -> bool:
    """A broker we did not start answers on our external port: reuse it rather than fight for the port."""
    port = cluster_nodes(brokers)[0].port(EXTERNAL)
    if not processes.port_in_use(port):
        return False
    if readiness.probe(bootstrap_servers(brokers), brokers, timeout=3.0).brokers:
        echo(f"a Kafka broker not started from this directory answers on localhost:{port}; using it")
        return True
    return False  # something else holds the port: _start reports it


def _await(
    bootstrap: str,
    brokers: int,
    wait: bool,
    timeout: float,
    outcome: str,
    timings: dict[str, float],
    data: DataDir | None = None,
) -> UpResult:
    if not wait:
        return UpResult(bootstrap, False, outcome, "not waited for", timings)
    alive = (lambda: _died(data, brokers)) if data else (lambda: None)
    result = readiness.wait_until_ready(bootstrap, brokers, timeout=timeout, still_alive=alive)
    timings["ready_wait"] = round(result.seconds, 1)
    if not result.ready and outcome == "started" and data:
        raise LauncherError(f"Kafka did not become ready: {result.detail}\n{_log_tail(data, brokers)}")
    return UpResult(bootstrap, result.ready, outcome, result.detail, timings)


def _nodes_of(data: DataDir, brokers: int) -> list[Node]:
    state = data.load_state()
    return all_nodes(brokers, controller=bool(state and state.controller))


def _died(data: DataDir, brokers: int) -> str | None:
    for node in _nodes_of(data, brokers):
        paths = data.node(node.node_id)
        pid = processes.read_pid(paths.pid_file)
        if pid and not processes.is_our_broker(pid, paths.properties):
            return f"Kafka node {node.node_id} (pid {pid}) exited"
    return None


def _log_tail(data: DataDir, brokers: int, lines: int = 15) -> str:
    parts = []
    for node in _nodes_of(data, brokers):
        for log in (data.node(node.node_id).stdout, data.node(node.node_id).logs / "server.log"):
            if log.exists():
                tail = log.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {log} (last {len(tail)} lines)\n" + "\n".join(tail))
    return "\n".join(parts) or "(no logs written)"


def _pid_list(running: dict[int, int | None]) -> str:
    return ", ".join(str(pid) for pid in running.values() if pid)
