"""The fault proxy as a background process of a local cluster: start, find, describe, stop.

Its files sit in the cluster's data dir next to the nodes: ``faultproxy.pid``, ``faultproxy.log`` (every
fault event, one JSON line each) and ``faultproxy.json`` (what it serves). A recorded pid counts only
while its command line is our proxy's and names this data dir, so a recycled pid is never signalled.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from compose import processes
from compose.config import DataDir, parse_properties
from compose.faultproxy.commands import FaultCommands, FaultProxyError
from compose.faultproxy.control import FaultProxyClient
from compose.faultproxy.proxy import FaultProxy
from compose.topology import FAULTY, cluster_nodes, fault_control_port, proxy_bootstrap

MODULE = "compose.faultproxy"
START_TIMEOUT_S = 15.0


@dataclass(frozen=True, slots=True)
class ProxyProcess:
    pid: int
    bootstrap: str  # clients bootstrap here to go through the proxy
    control_port: int
    brokers: int
    port_offset: int
    log: str

    def client(self) -> FaultProxyClient:
        return FaultProxyClient(self.control_port, bootstrap=self.bootstrap)

    def to_dict(self) -> dict:
        return asdict(self)


def _files(data: DataDir) -> tuple[Path, Path, Path]:
    return data.root / "faultproxy.pid", data.root / "faultproxy.log", data.root / "faultproxy.json"


def command(data: DataDir, brokers: int, port_offset: int) -> list[str]:
    return [sys.executable, "-m", MODULE, "--brokers", str(brokers), "--port-offset", str(port_offset),
            "--owner", str(data.root)]


def is_our_proxy(pid: int, data: DataDir) -> bool:
    line = processes.command_line(pid)
    return bool(line) and f"-m {MODULE} " in line and line.rstrip().endswith(f"--owner {data.root}")


def find(data: DataDir) -> ProxyProcess | None:
    """The proxy running for this data dir, or None."""
    pid_file, _, info_file = _files(data)
    pid = processes.read_pid(pid_file)
    if not pid or not is_our_proxy(pid, data):
        return None
    try:
        return ProxyProcess(**json.loads(info_file.read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None


def check_listeners(data: DataDir, brokers: int, port_offset: int) -> None:
    """Every node's server.properties has the FAULTY listener the proxy forwards to (older ones lack it)."""
    for node in cluster_nodes(brokers, port_offset):
        props = data.node(node.node_id).properties
        listeners = parse_properties(props.read_text()).get("listeners", "") if props.exists() else ""
        if f"{FAULTY}://" not in listeners:
            raise FaultProxyError(
                f"Kafka node {node.node_id} runs without the {FAULTY} listener the fault proxy needs (started by "
                f"an older kafkalab); restart it: `kafkalab kafka down` then `kafkalab kafka up --faults`."
            )


def start(data: DataDir, brokers: int, port_offset: int) -> tuple[ProxyProcess, bool]:
    """Start the background proxy unless one runs for ``data``; (it, started?). Waits until it answers."""
    running = find(data)
    if running:
        if (running.brokers, running.port_offset) != (brokers, port_offset):
            raise FaultProxyError(f"a fault proxy for {running.brokers} broker(s) on offset {running.port_offset} "
                                  f"runs from {data.root}; run `kafkalab kafka down` first")
        return running, False
    pid_file, log, info_file = _files(data)
    data.root.mkdir(parents=True, exist_ok=True)
    pid = processes.spawn_detached(command(data, brokers, port_offset), log, cwd=data.root)
    proxy = ProxyProcess(pid, proxy_bootstrap(brokers, port_offset), fault_control_port(port_offset), brokers,
                         port_offset, str(log))
    pid_file.write_text(f"{pid}\n")
    info_file.write_text(json.dumps(proxy.to_dict()) + "\n")
    deadline = time.monotonic() + START_TIMEOUT_S
    client = proxy.client()
    while not client.ping():
        if not processes.command_line(pid) or time.monotonic() > deadline:
            stop(data)
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-5:]) if log.exists() else ""
            raise FaultProxyError(f"the fault proxy did not start:\n{tail or '(nothing logged)'}")
        time.sleep(0.1)  # poll its control channel, bounded by the deadline
    return proxy, True


def stop(data: DataDir) -> int | None:
    """Stop this data dir's proxy (SIGTERM, then SIGKILL after a grace period); its pid, or None."""
    pid_file, _, info_file = _files(data)
    pid = processes.read_pid(pid_file)
    stopped = pid if pid and is_our_proxy(pid, data) else None
    if stopped:
        processes.stop([stopped], grace_seconds=10.0)
    pid_file.unlink(missing_ok=True)
    info_file.unlink(missing_ok=True)
    return stopped


def describe(data: DataDir) -> dict | None:
    """What ``kafka status`` shows: the process, its addresses and the active faults (None: not running)."""
    proxy = find(data)
    if proxy is None:
        return None
    found = proxy.to_dict()
    try:
        report = proxy.client().report()
    except FaultProxyError as exc:
        found["error"] = str(exc)
        return found
    found["active"] = report["active"]
    found["counts"] = report["counts"]
    return found


@contextlib.contextmanager
def attach(brokers: int = 1, port_offset: int = 0) -> Iterator[FaultCommands]:
    """Fault control of a local cluster, for a lab or a test: the background proxy when one answers on the
    cluster's control port (left running), else an in-process one (stopped on leaving, also on error).

    Either way the handle has the fault methods and ``bootstrap``, the address clients should use.
    """
    client = FaultProxyClient(fault_control_port(port_offset), bootstrap=proxy_bootstrap(brokers, port_offset))
    if client.ping():
        yield client
        return
    for node in cluster_nodes(brokers, port_offset):
        if not processes.port_in_use(node.faulty_port):
            raise FaultProxyError(
                f"no broker listens on node {node.node_id}'s {FAULTY} port 127.0.0.1:{node.faulty_port}: start Kafka "
                f"with `kafkalab kafka up` (a broker started by an older kafkalab needs a restart)")
    with FaultProxy.for_cluster(brokers, port_offset) as proxy:
        yield proxy
