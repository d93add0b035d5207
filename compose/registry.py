"""A local Apicurio Registry (the schema registry of kafka mode) without Docker: fetch, start, stop.

Apicurio Registry is a Quarkus application published on Maven Central as a tarball
(``io.apicurio:apicurio-registry-app:<version>:tar.gz:all``: ``quarkus-run.jar`` and its ``lib/``).
``ensure_app`` fetches it once with Maven into ``$KAFKALAB_HOME/apicurio-<version>/`` (beside the Kafka
jars), ``up`` starts it on 127.0.0.1 with in-memory storage and waits until its Confluent-compatible
API answers, ``down`` stops exactly the JVM it recorded. It needs Java 21+ (``compose.jdk``).

``KAFKALAB_REGISTRY_URL`` names a registry that is already running: ``up`` then starts nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from compose import processes
from compose.jdk import find_java
from compose.runtime import FETCH_MARKER, LauncherError, kafkalab_home

APICURIO_VERSION = "3.3.3"
ARTIFACT = f"io.apicurio:apicurio-registry-app:{APICURIO_VERSION}:tar.gz:all"
DEFAULT_PORT = 8081  # the port Confluent-compatible clients expect by convention
API_PATH = "/apis/ccompat/v7"
URL_ENV = "KAFKALAB_REGISTRY_URL"
HEAP_MB = 384

Echo = Callable[[str], None]


def registry_url(port: int = DEFAULT_PORT) -> str:
    return f"http://127.0.0.1:{port}{API_PATH}"


def app_dir(version: str = APICURIO_VERSION) -> Path:
    return kafkalab_home() / f"apicurio-{version}"


@dataclass(frozen=True, slots=True)
class RegistryData:
    """Where one local registry keeps its pid, port and log: ``$PWD/.kafkalab/registry`` by default."""

    root: Path = field(default_factory=lambda: Path.cwd().resolve() / ".kafkalab" / "registry")

    @property
    def pid_file(self) -> Path:
        return self.root / "registry.pid"

    @property
    def state_file(self) -> Path:
        return self.root / "registry.json"

    @property
    def log(self) -> Path:
        return self.root / "registry.log"

    def port(self) -> int | None:
        try:
            return int(json.loads(self.state_file.read_text())["port"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True, slots=True)
class RegistryStatus:
    url: str
    running: bool  # a JVM this data dir started is alive
    ready: bool
    detail: str
    outcome: str = ""  # up: "started", "already-running", "reused-env", "reused-external"
    pid: int | None = None
    rss_mb: float | None = None
    timings: dict[str, float] = field(default_factory=dict)  # seconds: fetch, start_to_ready

    def to_dict(self) -> dict:
        return asdict(self)


# ------------------------------------------------------------ fetching


@dataclass(frozen=True, slots=True)
class AppFetch:
    home: Path
    fetched: bool
    seconds: float


def ensure_app(version: str = APICURIO_VERSION) -> AppFetch:
    """Unpack Apicurio ``version`` into :func:`app_dir` unless a previous complete fetch did."""
    target = app_dir(version)
    if (target / FETCH_MARKER).exists():
        return AppFetch(target, fetched=False, seconds=0.0)
    mvn = shutil.which("mvn")
    if not mvn:
        raise LauncherError(
            "Maven (mvn) not found: it fetches Apicurio Registry from Maven Central once. Install it "
            "(Debian/Ubuntu: apt-get install maven), or run a registry yourself and set "
            f"{URL_ENV} (e.g. docker compose -f compose/docker-compose.yml up registry)."
        )
    started = time.monotonic()
    staging = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    command = [mvn, "-q", "-B", "dependency:copy", f"-Dartifact={ARTIFACT.replace(APICURIO_VERSION, version)}",
               f"-DoutputDirectory={staging}"]  # fmt: skip
    proc = subprocess.run(command, capture_output=True, text=True, check=False, cwd=staging)
    archives = list(staging.glob("*.tar.gz"))
    if proc.returncode != 0 or not archives:
        shutil.rmtree(staging, ignore_errors=True)
        raise LauncherError(
            f"fetching Apicurio Registry {version} from Maven Central failed (mvn exit {proc.returncode}).\n"
            f"{(proc.stdout + proc.stderr).strip()[-1500:]}\nTry: check network access to Maven Central "
            f"(or a mirror in ~/.m2/settings.xml), then run `kafkalab registry up` again."
        )
    with tarfile.open(archives[0]) as archive:
        archive.extractall(staging, filter="data")
    archives[0].unlink()  # Maven keeps its own copy in ~/.m2
    if not (staging / "quarkus-run.jar").exists():
        shutil.rmtree(staging, ignore_errors=True)
        raise LauncherError(f"the Apicurio {version} archive has no quarkus-run.jar at its top level")
    (staging / FETCH_MARKER).write_text(f"{version}\n")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)  # atomic: a half-unpacked app is never taken for a complete one
    return AppFetch(target, fetched=True, seconds=time.monotonic() - started)


# ------------------------------------------------------------ the process


def registry_command(java: str, home: Path, port: int, data: RegistryData) -> list[str]:
    """The JVM command: loopback only, in-memory storage (the default), a bounded heap, and no
    fixed management port (Quarkus binds its management interface on 0.0.0.0:9000 unless told: a second
    registry could not start; port 0 lets the OS pick a free loopback one).
    The ``kafkalab.registry.data`` property marks the JVM as this data dir's, so ``down`` can tell."""
    return [
        java, f"-Xmx{HEAP_MB}m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        f"-Dquarkus.http.port={port}", "-Dquarkus.http.host=127.0.0.1",
        "-Dquarkus.management.host=127.0.0.1", "-Dquarkus.management.port=0",
        f"-Dkafkalab.registry.data={data.root}", "-jar", str(home / "quarkus-run.jar"),
    ]  # fmt: skip


def _our_pid(data: RegistryData) -> int | None:
    pid = processes.read_pid(data.pid_file)
    if pid is None:
        return None
    line = processes.command_line(pid) or ""
    return pid if f"-Dkafkalab.registry.data={data.root} " in line + " " and "quarkus-run.jar" in line else None


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (FileNotFoundError, ValueError, IndexError):
        pass
    return None


def probe(url: str, timeout: float = 2.0) -> tuple[bool, str]:
    """(ready, detail): whether ``url`` answers the Confluent API's subject list."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/subjects", timeout=timeout) as response:
            body = json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return False, f"HTTP {exc.code} from {url}/subjects (is this a schema registry's API path?)"
    except (urllib.error.URLError, OSError) as exc:
        return False, f"nothing answers at {url}: {getattr(exc, 'reason', exc)}"
    except ValueError:
        return False, f"{url}/subjects did not answer JSON (something else listens there?)"
    if not isinstance(body, list):
        return False, f"{url}/subjects did not answer a subject list"
    return True, f"answering, {len(body)} subjects"


# ------------------------------------------------------------ up, down, status


def lock_path() -> Path:
    return kafkalab_home() / "registry.lock"


def up(
    port: int = DEFAULT_PORT,
    *,
    data: RegistryData | None = None,
    wait: bool = True,
    timeout: float = 120.0,
    echo: Echo = lambda _line: None,
    use_env: bool = True,
) -> RegistryStatus:
    """Make a registry answer: the one ``KAFKALAB_REGISTRY_URL`` names, this data dir's, or a new one."""
    external = os.environ.get(URL_ENV) if use_env else None
    if external:
        echo(f"{URL_ENV}={external}: using that registry, starting nothing")
        ready, detail = probe(external)
        return RegistryStatus(external, False, ready, detail, "reused-env")
    data = data or RegistryData()
    with processes.exclusive_lock(lock_path()):
        pid = _our_pid(data)
        if pid:
            url = registry_url(data.port() or port)
            echo(f"Apicurio Registry already running from {data.root} (pid {pid})")
            return _await(url, pid, data, wait, timeout, "already-running", {})
        url = registry_url(port)
        if processes.port_in_use(port):
            ready, detail = probe(url)
            if ready:
                echo(f"a schema registry not started from here answers on {url}; using it")
                return RegistryStatus(url, False, True, detail, "reused-external")
            raise LauncherError(
                f"port {port} is taken by another program ({detail}). Find it with `ss -ltnp | grep :{port}`; "
                f"stop it, or choose another port with --port."
            )
        java = find_java()
        fetch = ensure_app()
        timings = {"fetch": round(fetch.seconds, 1)}
        if fetch.fetched:
            echo(f"fetched Apicurio Registry {APICURIO_VERSION} into {fetch.home} in {fetch.seconds:.1f}s")
        data.root.mkdir(parents=True, exist_ok=True)
        data.state_file.write_text(json.dumps({"port": port, "version": APICURIO_VERSION}) + "\n")
        started = time.monotonic()
        pid = processes.spawn_detached(registry_command(java, fetch.home, port, data), data.log, cwd=data.root)
        data.pid_file.write_text(f"{pid}\n")
        echo(f"started Apicurio Registry {APICURIO_VERSION} (pid {pid}) on {url}")
        result = _await(url, pid, data, wait, timeout, "started", timings)
        timings["start_to_ready"] = round(time.monotonic() - started, 1)
        return result


def _await(url: str, pid: int, data: RegistryData, wait: bool, timeout: float, outcome: str,
           timings: dict[str, float]) -> RegistryStatus:  # fmt: skip
    if not wait:
        return RegistryStatus(url, True, False, "not waited for", outcome, pid, None, timings)
    deadline = time.monotonic() + timeout
    ready, detail = probe(url)
    while not ready and time.monotonic() < deadline:
        if not _our_pid(data):
            tail = "\n".join(data.log.read_text(errors="replace").splitlines()[-15:]) if data.log.exists() else ""
            raise LauncherError(f"Apicurio Registry (pid {pid}) exited before it was ready:\n{tail}")
        time.sleep(0.25)  # poll until ready, bounded by the deadline
        ready, detail = probe(url)
    if not ready and outcome == "started":
        raise LauncherError(f"Apicurio Registry did not answer on {url} within {timeout:.0f}s: {detail}; see {data.log}")
    return RegistryStatus(url, True, ready, detail, outcome, pid, rss_mb(pid), timings)


def down(*, data: RegistryData | None = None, echo: Echo = lambda _line: None) -> int | None:
    """Stop the registry this data dir started (only if the pid is really that JVM); its pid or None."""
    data = data or RegistryData()
    with processes.exclusive_lock(lock_path()):
        pid = _our_pid(data)
        if pid:
            echo(f"stopping Apicurio Registry (pid {pid})")
            processes.stop([pid], grace_seconds=20.0)
        data.pid_file.unlink(missing_ok=True)
        return pid


def status(*, data: RegistryData | None = None) -> RegistryStatus:
    data = data or RegistryData()
    external = os.environ.get(URL_ENV)
    pid = _our_pid(data)
    url = registry_url(data.port() or DEFAULT_PORT) if pid or not external else external
    ready, detail = probe(url) if pid or external else (False, "not running")
    return RegistryStatus(url, bool(pid), ready, detail, "", pid, rss_mb(pid) if pid else None)
