"""A tiny supervisor for service instances running as real OS processes.

Every instance is started with ``subprocess.Popen`` in its own session (so its own process group),
its stdout and stderr go to ``<state>/services/<service>-<instance>.log``, and a JSON record
``<service>-<instance>.json`` keeps its pid, argv and the kernel's start time of that pid. The record
outlives the ``kafkalab up`` command that wrote it, so ``down``, ``scale`` and ``ps`` — later, separate
invocations — find exactly the processes kafkalab started and nothing else: a pid the kernel has since
given to another program has a different start time and is left alone.

A record is removed only when kafkalab stops that instance (``stop``) or the stack (``down``): the
record of an instance that crashed stays, so the stack's watcher (``scenarios.stack.watcher``, the
``restart: unless-stopped`` of compose) restarts it. Commands that change the set of instances take
``lock()``, so the watcher never restarts an instance that ``scale`` or ``down`` is stopping.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

EXIT_STATUS: dict[int, int] = {}  # pid -> waitpid status, for instances that were this process's children


@dataclass(frozen=True, slots=True)
class ServiceProcess:
    """One running (or once-running) instance of a service."""

    service: str
    instance: int
    pid: int
    argv: tuple[str, ...]
    log_path: str
    start_ticks: int | None  # /proc/<pid>/stat field 22; None where /proc is not available
    started_at: float
    restarts: int = 0  # how often the watcher restarted this instance after it died

    @property
    def name(self) -> str:
        return f"{self.service}-{self.instance}"


def _start_ticks(pid: int) -> int | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), or None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after its closing ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 :].startswith("Z")


def _reap(pid: int) -> None:
    """Collect the exit status if the process is our own child (when up ran in this process)."""
    with contextlib.suppress(ChildProcessError, OSError):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            EXIT_STATUS[pid] = status


def exit_reason(pid: int) -> str:
    """How a child that ended ended ("killed by SIGKILL", "exit code 1"), or "exited" if not known."""
    status = EXIT_STATUS.get(pid)
    if status is None:
        return "exited"
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.WEXITSTATUS(status)}"


def is_alive(proc: ServiceProcess) -> bool:
    """True while the recorded process — that very process, not a reused pid — still runs."""
    _reap(proc.pid)
    try:
        os.kill(proc.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # someone else's process now holds that pid
    if _is_zombie(proc.pid):
        return False
    # A different start time means the pid was reused by another program.
    return proc.start_ticks is None or _start_ticks(proc.pid) == proc.start_ticks


class Supervisor:
    """Starts, records, lists and stops service processes under one state directory."""

    def __init__(self, root: Path) -> None:
        self.dir = Path(root).resolve() / "services"  # root: Settings.state_dir, e.g. ./.kafkalab

    # ------------------------------------------------------------------ records

    def _record_path(self, service: str, instance: int) -> Path:
        return self.dir / f"{service}-{instance}.json"

    def records(self) -> list[ServiceProcess]:
        """Every recorded instance, alive or not, sorted by service then instance."""
        if not self.dir.is_dir():
            return []
        found = []
        for path in self.dir.glob("*.json"):
            try:
                raw = json.loads(path.read_text())
                found.append(ServiceProcess(**{**raw, "argv": tuple(raw["argv"])}))
            except (OSError, ValueError, TypeError, KeyError):
                continue  # a half-written or foreign file is not ours to act on
        return sorted(found, key=lambda p: (p.service, p.instance))

    def running(self, service: str | None = None) -> list[ServiceProcess]:
        """Live instances (of ``service`` if given). A dead one's record stays: the watcher restarts it."""
        return [p for p in self.records() if (service is None or p.service == service) and is_alive(p)]

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Held while the set of instances changes (up, scale, down, a restart by the watcher)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def forget(self, proc: ServiceProcess) -> None:
        self._record_path(proc.service, proc.instance).unlink(missing_ok=True)

    def log_path(self, service: str, instance: int) -> Path:
        return self.dir / f"{service}-{instance}.log"

    # ------------------------------------------------------------------ lifecycle

    def start(self, service: str, instance: int, argv: list[str], env: dict[str, str] | None = None,
              restarts: int = 0) -> ServiceProcess:
        """Launch ``argv`` as instance ``instance`` of ``service`` in a new process group."""
        self.dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_path(service, instance)
        with open(log_path, "ab") as log:
            popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: a terminal's Ctrl-C does not reach it
                env={**os.environ, **(env or {})},
            )
        proc = ServiceProcess(
            service=service,
            instance=instance,
            pid=popen.pid,
            argv=tuple(argv),
            log_path=str(log_path),
            start_ticks=_start_ticks(popen.pid),
            started_at=time.time(),
            restarts=restarts,
        )
        tmp = self._record_path(service, instance).with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(proc), indent=2))
        tmp.replace(self._record_path(service, instance))
        return proc

    def stop(self, proc: ServiceProcess, timeout: float = 15.0) -> bool:
        """SIGTERM the instance's process group, wait up to ``timeout``, then SIGKILL it.

        Returns True if it had to be killed. Does nothing to a pid that is no longer ours.
        """
        killed = False
        if is_alive(proc):
            self._signal(proc, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while is_alive(proc) and time.monotonic() < deadline:
                time.sleep(0.05)
            if is_alive(proc):
                self._signal(proc, signal.SIGKILL)
                killed = True
                deadline = time.monotonic() + 5.0
                while is_alive(proc) and time.monotonic() < deadline:
                    time.sleep(0.05)
        self.forget(proc)
        return killed

    @staticmethod
    def _signal(proc: ServiceProcess, sig: signal.Signals) -> None:
        try:
            os.killpg(proc.pid, sig)  # the instance is its group's leader (new session)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(proc.pid, sig)

    def next_instance(self, service: str) -> int:
        """The lowest instance number not taken by a live instance of ``service``."""
        taken = {p.instance for p in self.running(service)}
        n = 0
        while n in taken:
            n += 1
        return n

    def tail(self, proc: ServiceProcess, lines: int = 20) -> str:
        """The last ``lines`` lines of an instance's log, for error messages."""
        try:
            text = Path(proc.log_path).read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])
