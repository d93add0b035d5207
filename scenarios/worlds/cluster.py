"""A private three-node Kafka cluster a kafka world owns for one phase, and the broker faults a story
plays on it: ``kill`` (SIGKILL: no shutdown, the log stays on disk), ``pause`` (SIGSTOP, then SIGCONT
after the given time: a long GC pause) and ``start`` (a new JVM on the same data dir and ports).

Shifted ports and a throwaway data dir, like ``servers.PrivateBroker``: the shared cluster is never
ours to break. ``stop`` wakes paused nodes first (a stopped JVM ignores SIGTERM) and wipes the dir.

Three brokers and a fourth node that is the KRaft controller alone (``kafkalab kafka up --brokers 3
--controller``): with two brokers killed the quorum is still there, fences them within
``compose.config.FAILOVER_TIMINGS`` and shrinks the ISR, so an acks=all write is refused with
NOT_ENOUGH_REPLICAS, as the lesson says; with three combined nodes it would time out instead.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import tempfile
import threading
from pathlib import Path

from compose import launcher, processes
from compose.config import DataDir
from compose.runtime import LauncherError, ensure_jars, java_binary
from compose.topology import all_nodes, bootstrap_servers

NODES = 3
# Not the private brokers' range (1000..5000): two labs at once must not pick the same ports.
PORT_OFFSETS = tuple(range(11_000, 16_001, 500))
READY_TIMEOUT_S = 180.0
DIR_PREFIX = "kafkalab-cluster-"
OWNER_FILE = "owner.pid"


class PrivateCluster:
    """Three brokers and a controller node on shifted ports; ``start`` waits until the brokers are ready."""

    def __init__(self) -> None:
        _stop_orphans()
        self.offset = _free_offset()
        self.bootstrap = bootstrap_servers(NODES, self.offset)
        self.root = Path(tempfile.mkdtemp(prefix=DIR_PREFIX))
        (self.root / OWNER_FILE).write_text(f"{os.getpid()}\n")
        self.data = DataDir(self.root / "kafka")
        self.launched = False
        self._paused: dict[int, threading.Timer] = {}
        self._lock = threading.Lock()

    def start(self) -> str:
        """Launch the three nodes and wait until they are ready; once more on other ports if that fails
        (another lab may have taken these meanwhile, or a JVM died on a crowded machine)."""
        self.launched = True
        try:
            self._up()
        except LauncherError as first:
            launcher.down(data=self.data, wipe=True)
            self.offset = _free_offset(avoid=self.offset)
            self.bootstrap = bootstrap_servers(NODES, self.offset)
            self.data = DataDir(self.root / "kafka")
            try:
                self._up()
            except LauncherError as second:
                raise LauncherError(f"{second} (and before that: {first})") from None
        return self.bootstrap

    def _up(self) -> None:
        launcher.up(NODES, wait=True, timeout=READY_TIMEOUT_S, data=self.data, port_offset=self.offset,
                    short_lived=True, controller=True)

    def _pid(self, node_id: int) -> int:
        paths = self.data.node(node_id)
        pid = processes.read_pid(paths.pid_file)
        if not pid or not processes.is_our_broker(pid, paths.properties):
            raise LauncherError(f"node {node_id} of the private cluster is not running")
        return pid

    def kill(self, node_id: int) -> None:
        self.resume(node_id)
        pid = self._pid(node_id)
        os.kill(pid, signal.SIGKILL)
        self.data.node(node_id).pid_file.unlink(missing_ok=True)

    def pause(self, node_id: int, ms: int) -> None:
        os.kill(self._pid(node_id), signal.SIGSTOP)
        timer = threading.Timer(ms / 1000, self.resume, args=(node_id,))
        timer.daemon = True
        with self._lock:
            self._paused[node_id] = timer
        timer.start()

    def resume(self, node_id: int) -> None:
        with self._lock:
            timer = self._paused.pop(node_id, None)
        if timer is None:
            return
        timer.cancel()
        pid = processes.read_pid(self.data.node(node_id).pid_file)
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def start_node(self, node_id: int) -> None:
        """The same node again: its properties, data dir and ports (formatted already), started as fast as
        the launcher starts one (the same JVM flags and class archive)."""
        java, lib = java_binary(), ensure_jars().lib
        node = next(n for n in all_nodes(NODES, self.offset, controller=True) if n.node_id == node_id)
        launcher.spawn_node(node, self.data.node(node_id), java, lib, launcher.jvm_flags(java, lib, short_lived=True))

    def stop(self) -> None:
        """Kill every node at once (its data is thrown away: a controlled shutdown that moves leaders off a
        broker, with its peers dead, only waits out the launcher's 30 s grace), then wipe the dir."""
        try:
            for node_id in list(self._paused):
                self.resume(node_id)
            if self.launched:
                pids = [pid for n in all_nodes(NODES, self.offset, controller=True)
                        if (pid := processes.read_pid(self.data.node(n.node_id).pid_file))
                        and processes.is_our_broker(pid, self.data.node(n.node_id).properties)]
                processes.stop(pids, grace_seconds=0)
                launcher.down(data=self.data, wipe=True)
                self.launched = False
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _stop_orphans() -> None:
    """Stop and wipe clusters whose lab process died without its ``finally`` (e.g. killed)."""
    for root in Path(tempfile.gettempdir()).glob(f"{DIR_PREFIX}*"):
        owner = processes.read_pid(root / OWNER_FILE)
        if owner and processes.command_line(owner):
            continue
        data = DataDir(root / "kafka")
        for node_id in range(1, NODES + 2):  # a paused JVM ignores SIGTERM (ids 1..3 brokers, 4 the controller)
            pid = processes.read_pid(data.node(node_id).pid_file)
            if pid and processes.is_our_broker(pid, data.node(node_id).properties):
                os.kill(pid, signal.SIGCONT)
        launcher.down(data=data, wipe=True)
        shutil.rmtree(root, ignore_errors=True)


def _free_offset(avoid: int | None = None) -> int:
    free = [offset for offset in PORT_OFFSETS if offset != avoid and not any(
        processes.port_in_use(p) for node in all_nodes(NODES, offset, controller=True) for p in node.ports.values())]
    if not free:
        raise LauncherError(f"no free ports for a private three-node cluster at offsets {PORT_OFFSETS}")
    return secrets.choice(free)
