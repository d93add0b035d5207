"""A service instance the kafka world runs as an OS process of its own, so a crash is a real kill -9.

``ServiceProcess`` starts ``python -m scenarios service run KIND --control`` with the run's prefix,
PostgreSQL schema and settings, reads its control lines (scenarios.stack.control) on a thread, and
knows three things to do with it: send the order API an HTTP request, arm a fault point (the
process stops there and says so; this side answers with SIGKILL at once), and stop it (SIGTERM,
SIGKILL if it does not go). It is a ``Server`` of the world: stopped when the phase ends, also when
the phase fails. Its log (stderr) goes to a file, whose last lines are quoted when it misbehaves.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from scenarios.engine.world import NO_ANSWER, WorldError

CONTROL = "kafkalab-control:"
READY_TIMEOUT_S = 90.0  # python start, imports, first subscribe on a loaded machine
ANSWER_TIMEOUT_S = 15.0  # an "armed" answer, or a request's HTTP answer
STOP_TIMEOUT_S = 15.0
KILL_SETTLED_S = 10.0  # a killed process is gone (its exit collected) within this


class ServiceProcess:
    def __init__(self, kind: str, instance: int, argv_tail: list[str], *, log_dir: Path) -> None:
        self.kind, self.instance = kind, instance
        self.name = f"{kind}-{instance}"
        self.log_path = log_dir / f"{self.name}.log"
        self.port: int | None = None
        self.killed_at: str | None = None  # the fault point it was killed at
        self._argv = [sys.executable, "-m", "scenarios", "service", "run", kind, "--instance", str(instance),
                      "--port", "0", "--control", *argv_tail]
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._on_reached: Callable[[str], None] | None = None
        self._proc: subprocess.Popen[str] | None = None

    # ------------------------------------------------------------ starting
    def start(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Launch it and wait until its loop has stepped and its HTTP API listens."""
        log = self.log_path.open("w", encoding="utf-8")
        try:
            self._proc = subprocess.Popen(self._argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                          text=True, bufsize=1, start_new_session=True, env={**os.environ})
        finally:
            log.close()  # the child has its own descriptor
        threading.Thread(target=self._read, name=f"{self.name}-control", daemon=True).start()
        ready = self._wait_for(lambda line: line.startswith("ready"), timeout_s)
        if ready is None:
            self.stop()
            raise WorldError(f"{self.name} as a process did not get ready in {timeout_s:.0f}s: {self.log_tail()}")
        port = ready.partition("port=")[2]
        self.port = int(port) if port.isdigit() else None

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for raw in self._proc.stdout:
            line = raw.strip()
            if not line.startswith(CONTROL):
                continue
            said = line[len(CONTROL):].strip()
            with self._changed:
                self._lines.append(said)
                self._changed.notify_all()
            if said.startswith("reached "):
                point = said.partition(" ")[2]
                self.kill(point)
                if self._on_reached is not None:
                    self._on_reached(point)
        with self._changed:  # end of file: the process has gone
            self._lines.append("exited")
            self._changed.notify_all()

    def _wait_for(self, wanted: Callable[[str], bool], timeout_s: float, start: int = 0) -> str | None:
        with self._changed:
            found = self._changed.wait_for(
                lambda: next((line for line in self._lines[start:] if wanted(line) or line == "exited"), None),
                timeout=timeout_s)
        return None if found in (None, "exited") else found

    # ------------------------------------------------------------ faults
    def arm(self, point: str, on_reached: Callable[[str], None]) -> None:
        """The process stops at ``point`` the next time it gets there; it is killed there at once."""
        assert self._proc is not None and self._proc.stdin is not None
        self._on_reached = on_reached
        start = len(self._lines)
        try:
            self._proc.stdin.write(f"arm {point}\n")
            self._proc.stdin.flush()
        except OSError as exc:
            raise WorldError(f"{self.name}: cannot arm {point}: {exc}") from None
        if self._wait_for(lambda line: line == f"armed {point}", ANSWER_TIMEOUT_S, start) is None:
            raise WorldError(f"{self.name} did not arm fault point {point}: {self.log_tail()}")

    def kill(self, point: str | None = None) -> None:
        """kill -9: no shutdown, no LeaveGroup, nothing flushed."""
        if self._proc is None or self._proc.poll() is not None:
            return
        self.killed_at = point
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(KILL_SETTLED_S)

    def wait_killed(self, timeout_s: float) -> bool:
        """Wait until an armed point was reached (and the process killed there)."""
        return self._wait_for(lambda line: line.startswith("reached "), timeout_s) is not None

    def orphan(self) -> None:
        """Close its stdin, as the kernel does when this process dies: it stops (scenarios.stack.control)."""
        if self._proc is not None and self._proc.stdin is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()

    def wait(self, timeout_s: float) -> int | None:
        """Its exit code once it has ended, None if it still runs after ``timeout_s``."""
        if self._proc is None:
            return None
        try:
            return self._proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # ------------------------------------------------------------ the order API
    def post_order(self, body: Mapping[str, Any]) -> tuple[str | None, str]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/orders", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=ANSWER_TIMEOUT_S) as response:  # noqa: S310 (loopback)
                return json.loads(response.read())["orderId"], ""
        except urllib.error.HTTPError as exc:
            try:
                error = json.loads(exc.read()).get("error", "")
            except (ValueError, OSError):
                error = ""
            return None, f"{exc.code}: {error or exc.reason}"
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            return None, f"{NO_ANSWER}: {self.name} died mid-request, the connection dropped ({reason!r})"

    # ------------------------------------------------------------ stopping
    def stop(self) -> None:
        """SIGTERM (it finishes its step and leaves its group), SIGKILL if it does not go."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.kill()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def log_tail(self, lines: int = 3) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        code = self._proc.poll() if self._proc is not None else None
        exited = f"exit code {code}; " if code is not None else ""
        return exited + (" | ".join(text[-lines:]) or "its log is empty") + f" (log: {self.log_path})"


def log_dir(run_id: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"kafkalab-{run_id}-services-"))
