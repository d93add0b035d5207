"""Servers a kafka world owns for one phase and always stops when the phase ends (also when it fails).

``PrivateBroker``: a single-node Kafka of the lab's own on shifted ports with a throwaway data dir
(``compose.launcher.up(port_offset=...)``), for stories in which the broker starts late: the shared
broker is never ours to stop. Later servers (a fault proxy, a schema registry) implement the same
two methods and go into ``KafkaWorld.servers``. ``kept_private_broker``: one such broker kept for every
network-fault phase of the process (behind each phase's own fault proxy), stopped at exit.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Protocol

from compose import launcher, processes
from compose.config import DataDir
from compose.runtime import LauncherError
from compose.topology import MAX_PORT_OFFSET, bootstrap_servers, cluster_nodes

PORT_OFFSETS = tuple(range(1000, 5001, 500))  # the offsets private brokers may use (compose.topology shifts)
LISTEN_DEADLINE_S = 90.0  # from launching the broker until its port accepts connections
DIR_PREFIX = "kafkalab-startup-race-"  # + the lab process's pid: see own_dir_prefix
OWNER_FILE = "owner.pid"  # the lab process that started the broker in this dir
OWNERLESS_GRACE_S = 60.0  # a dir without an owner file this young is not taken for an orphan


class Server(Protocol):
    def stop(self) -> None:
        """Stop it and remove what it left behind; safe to call more than once."""


class PrivateBroker:
    """One single-node Kafka on shifted ports; ``start`` launches it and waits until it listens."""

    def __init__(self) -> None:
        _stop_orphans()
        self.offset = _free_offset()
        self.bootstrap = bootstrap_servers(1, self.offset)
        self.root = _own_dir()
        self.data = DataDir(self.root / "kafka")
        self.launched = False
        self.seconds_to_listen: float | None = None

    def start(self) -> str:
        """Launch it and wait until it listens; returns its bootstrap. One more try if it fails: on a
        fresh data dir (on a crowded machine a first JVM start sometimes dies), on other ports if
        someone took these meanwhile (other labs start private brokers in the same range)."""
        try:
            self._start()
        except LauncherError as first:
            self.stop_broker()
            shutil.rmtree(self.data.root, ignore_errors=True)
            if _lost_its_ports(str(first)):
                self.offset = _free_offset(avoid=self.offset)
                self.bootstrap = bootstrap_servers(1, self.offset)
            try:
                self._start()
            except LauncherError as second:
                raise LauncherError(f"{second} (and before that: {first})") from None
        return self.bootstrap

    def _start(self) -> None:
        started = time.monotonic()
        launcher.up(1, wait=False, data=self.data, port_offset=self.offset, short_lived=True)
        self.launched = True
        port = cluster_nodes(1, self.offset)[0].port("EXTERNAL")
        node = self.data.node(1)
        while not processes.port_in_use(port):
            pid = processes.read_pid(node.pid_file)
            if not pid or not processes.is_our_broker(pid, node.properties):
                how = processes.exit_status(pid) if pid else "its pid file is gone"
                raise LauncherError(f"the private broker exited ({how or 'status unknown'}): {_tail(node.stdout)}")
            if time.monotonic() - started > LISTEN_DEADLINE_S:
                raise LauncherError(f"the private broker did not listen on {port} in {LISTEN_DEADLINE_S:.0f}s")
            time.sleep(0.05)  # polling the port, bounded by the deadline above
        self.seconds_to_listen = round(time.monotonic() - started, 1)

    def listening(self) -> bool:
        return self.launched and processes.port_in_use(cluster_nodes(1, self.offset)[0].port("EXTERNAL"))

    def stop_broker(self) -> None:
        if self.launched:
            launcher.down(data=self.data, wipe=True)
            self.launched = False

    def stop(self) -> None:
        try:
            self.stop_broker()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def kept_private_broker() -> PrivateBroker:
    """A private broker for phases with network faults, started by the first of them in this process and
    kept for the next ones (a JVM start costs 5-20 s; runs keep apart by their topic prefix), stopped
    when the process exits. A broker that died meanwhile is replaced. Phases that start the broker late
    (startup-race) still get one of their own."""
    global _KEPT
    if _KEPT is None or not _KEPT.listening():
        if _KEPT is not None:
            _KEPT.stop()
        broker = PrivateBroker()
        try:
            broker.start()
        except BaseException:
            broker.stop()
            raise
        _KEPT = broker
        atexit.register(broker.stop)
    return _KEPT


_KEPT: PrivateBroker | None = None


def own_dir_prefix() -> str:
    """The prefix of this process's private broker dirs: other processes start theirs in the same /tmp."""
    return f"{DIR_PREFIX}{os.getpid()}-"


def _own_dir() -> Path:
    """A fresh dir named with own_dir_prefix that holds its owner file from the moment it has that name:
    made under a hidden name, given the file, then renamed. (A sweep in another process that saw it
    without an owner, between mkdtemp and the write, would stop and wipe a starting broker.)"""
    staging = Path(tempfile.mkdtemp(prefix=f".{own_dir_prefix()}"))
    (staging / OWNER_FILE).write_text(f"{os.getpid()}\n")
    return staging.rename(staging.with_name(staging.name[1:]))


def _lost_its_ports(error: str) -> bool:
    """Another program took the ports between our check and the broker's bind (labs run side by side)."""
    return "is taken" in error or "Address already in use" in error


def _tail(log: Path, lines: int = 3) -> str:
    """The last lines of the broker's output (the data dir is wiped afterwards, so keep them here)."""
    try:
        text = " | ".join(line.strip() for line in log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"no output at {log}"
    return text or f"no output at {log}"


def _stop_orphans() -> None:
    """Stop and wipe private brokers whose lab process died without its ``finally`` (e.g. killed)."""
    for root in Path(tempfile.gettempdir()).glob(f"{DIR_PREFIX}*"):
        owner = processes.read_pid(root / OWNER_FILE)
        if owner and processes.command_line(owner):
            continue  # its lab run is alive (maybe in another process): not ours to stop
        if owner is None and _younger_than(root, OWNERLESS_GRACE_S):
            continue  # maybe being made right now by a lab version that writes the owner file after
        launcher.down(data=DataDir(root / "kafka"), wipe=True)  # stops only JVMs with that dir's properties
        shutil.rmtree(root, ignore_errors=True)


def _younger_than(path: Path, seconds: float) -> bool:
    try:
        return time.time() - path.stat().st_mtime < seconds
    except FileNotFoundError:
        return True  # gone meanwhile: nothing to sweep


def _free_offset(avoid: int | None = None) -> int:
    """A free offset, picked at random among the free ones, so two lab runs at once rarely meet."""
    free = [offset for offset in PORT_OFFSETS if offset != avoid and offset <= MAX_PORT_OFFSET and not any(
        processes.port_in_use(p) for p in cluster_nodes(1, offset)[0].ports.values())]
    if not free:
        raise LauncherError(f"no free ports for a private broker at offsets {PORT_OFFSETS}")
    return secrets.choice(free)
