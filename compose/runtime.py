"""The Java side of real-Kafka mode: find Java, fetch the official Kafka jars once, build JVM commands.

Jars come from Maven Central through ``mvn dependency:copy-dependencies`` (the small ``pom.xml`` beside
this file) into ``$KAFKALAB_HOME/kafka-<version>/lib`` (default ``~/.cache/kafkalab``). A marker file
written after a complete copy makes the fetch happen once.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from compose.topology import KAFKA_VERSION

HERE = Path(__file__).resolve().parent
POM = HERE / "pom.xml"
BROKER_LOG4J = HERE / "log4j2.xml"
TOOLS_LOG4J = HERE / "tools-log4j2.xml"
MIN_JAVA = 17
FETCH_MARKER = ".kafkalab-complete"


class LauncherError(RuntimeError):
    """Something the user has to fix; the message says what to try."""


def kafkalab_home() -> Path:
    return Path(os.environ.get("KAFKALAB_HOME") or Path.home() / ".cache" / "kafkalab")


def lib_dir(version: str = KAFKA_VERSION) -> Path:
    return kafkalab_home() / f"kafka-{version}" / "lib"


def java_binary() -> str:
    """The ``java`` to run (JAVA_HOME first), checked to be 17 or newer."""
    java_home = os.environ.get("JAVA_HOME")
    candidate = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not candidate or not Path(candidate).exists():
        raise LauncherError(
            "Java not found: Kafka needs Java 17+. Install it (Debian/Ubuntu: apt-get install "
            "openjdk-17-jre-headless) or set JAVA_HOME; or use Docker: docker compose -f "
            "compose/docker-compose.yml up; or point KAFKA_BOOTSTRAP at a running cluster."
        )
    major = java_major_version(candidate)
    if major < MIN_JAVA:
        raise LauncherError(f"{candidate} is Java {major}; Kafka {KAFKA_VERSION} needs Java {MIN_JAVA}+.")
    return candidate


def java_major_version(java: str) -> int:
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        raise LauncherError(f"could not read the Java version from `{java} -version`: {out.strip()[:200]}")
    first, second = int(match.group(1)), int(match.group(2) or 0)
    return second if first == 1 else first  # "1.8" is Java 8


@dataclass(frozen=True, slots=True)
class FetchResult:
    lib: Path
    fetched: bool  # False: already present
    seconds: float


def ensure_jars(version: str = KAFKA_VERSION) -> FetchResult:
    """Put Kafka ``version``'s jars in :func:`lib_dir` unless a previous complete fetch did."""
    target = lib_dir(version)
    if (target / FETCH_MARKER).exists():
        return FetchResult(target, fetched=False, seconds=0.0)
    mvn = shutil.which("mvn")
    if not mvn:
        raise LauncherError(
            "Maven (mvn) not found: it fetches the Apache Kafka jars from Maven Central once. Install it "
            "(Debian/Ubuntu: apt-get install maven), or use Docker (compose/docker-compose.yml), or set "
            "KAFKA_BOOTSTRAP to a running cluster."
        )
    started = time.monotonic()
    staging = target.with_name(f"lib.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    command = [
        mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
        f"-Dkafka.version={version}", "-DincludeScope=runtime", f"-DoutputDirectory={staging}",
    ]  # fmt: skip
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not any(staging.glob(f"kafka_*-{version}.jar")):
        shutil.rmtree(staging, ignore_errors=True)
        detail = (proc.stdout + proc.stderr).strip()[-1500:]
        raise LauncherError(
            f"fetching Apache Kafka {version} jars from Maven Central failed (mvn exit {proc.returncode}).\n"
            f"{detail}\nTry: check network access to Maven Central (or a mirror in ~/.m2/settings.xml), "
            f"then run `kafkalab kafka up` again; or use Docker (compose/docker-compose.yml)."
        )
    (staging / FETCH_MARKER).write_text(f"{version}\n")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)  # atomic: a half-copied lib/ is never seen as complete
    return FetchResult(target, fetched=True, seconds=time.monotonic() - started)


# A broker that runs for long: the JVM's full JIT, and G1 holding pauses short (latency figures stay steady).
LONG_RUNNING_JVM = ("-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20")
# A broker started for one lab phase and stopped seconds later: the C1 JIT only (C2 compiles for minutes
# before it pays back, and on 2 cores it competes with the start) and the serial collector (no GC threads
# to set up; a young collection of this heap takes milliseconds). The protocol and data are the same.
SHORT_LIVED_JVM = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")


def broker_command(java: str, lib: Path, properties: Path, logs_dir: Path, heap_mb: int = 512,
                   jvm_flags: tuple[str, ...] | list[str] = LONG_RUNNING_JVM) -> list[str]:
    """The JVM command of one broker, as kafka-server-start.sh would build it, with a bounded heap."""
    return [
        java, f"-Xms{min(256, heap_mb)}m", f"-Xmx{heap_mb}m", *jvm_flags,
        "-Djava.awt.headless=true", f"-Dkafka.logs.dir={logs_dir}",
        f"-Dlog4j2.configurationFile={BROKER_LOG4J}",
        "-cp", f"{lib}/*", "kafka.Kafka", str(properties),
    ]  # fmt: skip


def tool_command(java: str, lib: Path, main_class: str, args: list[str]) -> list[str]:
    """A short-lived CLI JVM: C1 only, serial GC, small heap; starts in a couple of seconds."""
    return [
        java, "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto",
        "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={TOOLS_LOG4J}",
        "-cp", f"{lib}/*", main_class, *args,
    ]  # fmt: skip
