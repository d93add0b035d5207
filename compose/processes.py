"""Processes the launcher starts: detached JVMs, pid files, and stopping exactly those (never by name)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

# Popen objects of brokers this Python process started: kept so they are reaped, not left as zombies.
_CHILDREN: dict[int, subprocess.Popen] = {}
_ENDED: dict[int, subprocess.Popen] = {}  # reaped ones, kept to tell how they ended (exit_status)


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """One launcher at a time on this machine (ports are machine-wide): an flock on ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def spawn_detached(command: list[str], log_file: Path, cwd: Path) -> int:
    """Start ``command`` in its own session (so Ctrl-C in the shell does not reach it), output to a log."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        proc = subprocess.Popen(
            command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    _CHILDREN[proc.pid] = proc
    return proc.pid


def command_line(pid: int) -> str | None:
    """The command line of ``pid``, or None when no such (live, non-zombie) process exists."""
    _reap(pid)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rpartition(")")[2].split()[0] == "Z":
            return None
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except FileNotFoundError:
        if Path("/proc/self").exists():
            return None
    except PermissionError:
        return None
    # No /proc (macOS): ask ps.
    out = subprocess.run(["ps", "-p", str(pid), "-o", "command="], capture_output=True, text=True, check=False)
    return out.stdout.strip() or None


def is_our_broker(pid: int, properties: Path) -> bool:
    """True when ``pid`` is a live ``kafka.Kafka`` JVM started with exactly this properties file."""
    line = command_line(pid)
    return bool(line) and "kafka.Kafka" in line and str(properties) in line


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def stop(pids: list[int], grace_seconds: float = 30.0) -> None:
    """SIGTERM each process group we started (controlled shutdown), SIGKILL after ``grace_seconds``.

    All are signalled at once: a KRaft node waiting for a quorum that is shutting down node by node
    could otherwise wait for the whole grace period.
    """
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline and any(command_line(pid) for pid in pids):
        time.sleep(0.2)  # poll for exit, bounded by the grace period
    for pid in pids:
        if command_line(pid):
            _signal(pid, signal.SIGKILL)
    for pid in pids:
        _reap(pid, block=True)


def exit_status(pid: int) -> str | None:
    """How a broker this process started ended ("exit 1", "killed by SIGKILL"), or None if unknown/running."""
    proc = _CHILDREN.get(pid) or _ENDED.get(pid)
    code = proc.poll() if proc is not None else None
    if code is None:
        return None
    return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit {code}"


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        # Our brokers lead their own process group (start_new_session); signal the group they lead.
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def _reap(pid: int, block: bool = False) -> None:
    proc = _CHILDREN.get(pid)
    if proc is None:
        return
    if block:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
    if proc.poll() is not None:
        _ENDED[pid] = _CHILDREN.pop(pid)
