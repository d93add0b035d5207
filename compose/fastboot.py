"""A local broker that starts fast without changing what clients see: what the launcher reuses between starts.

Two things cost most of a lab broker's start on a small machine, and neither changes the broker:

* ``kafka-storage format``, a JVM start of its own per node. Its output does not depend on the cluster:
  a ``__cluster_metadata`` bootstrap checkpoint holding the default feature levels (byte for byte the
  same for any cluster id, node id or cluster size, but for its write timestamps and their CRCs), plus
  ``meta.properties`` naming the cluster, the node and the log dir. So the checkpoint is formatted once,
  by Kafka's own tool, into a template next to the jars; each new node gets a copy and its own
  ``meta.properties`` (a fresh directory id each, as the tool would write).
* Loading and verifying ~8000 classes from jars. A class-data-sharing archive (OpenJDK's AppCDS) holds
  them already parsed and verified. The first broker started without one records the classes it loads
  (``-XX:DumpLoadedClassList``, written as it goes, so a killed broker still leaves a usable list); the
  next start builds the archive from that list with ``java -Xshare:dump`` (once, some seconds) and every
  later start maps it. The JVM checks the archive against the JDK and the jars it was made from, and with
  ``-Xshare:auto`` simply loads classes from the jars when it does not match.

``KAFKALAB_FAST_BOOT=0`` turns all of it off (format on every start, no archive, the JVM's default JIT
and G1), e.g. to compare (``python -m tests.bench_broker_start``) or to rule it out.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from compose.config import TEMPLATE, new_cluster_id, render_properties
from compose.runtime import LauncherError, tool_command
from compose.topology import KAFKA_VERSION, cluster_nodes

META = "meta.properties"
METADATA_DIR = "__cluster_metadata-0"
MIN_CLASSES = 3000  # a recorded list shorter than this comes from a broker that died early: not used
DUMP_TIMEOUT_S = 300.0


def enabled() -> bool:
    return os.environ.get("KAFKALAB_FAST_BOOT", "1").strip().lower() not in ("0", "false", "no", "off")


# ---------------------------------------------------------------- storage: format once, copy per node
def storage_template(java: str, lib: Path) -> Path | None:
    """The formatted ``__cluster_metadata-0`` bootstrap of this Kafka version, made once next to the jars;
    None when that folder cannot be written (the launcher then formats each node as before).

    Keyed by the properties template too: a change to it (say, a dynamic quorum) formats again.
    """
    try:
        return _storage_template(java, lib)
    except OSError:
        return None


def _storage_template(java: str, lib: Path) -> Path:
    key = hashlib.sha256(f"{KAFKA_VERSION}\n{TEMPLATE.read_text()}".encode()).hexdigest()[:12]
    target = lib.parent / f"storage-template-{key}"
    if (target / METADATA_DIR).is_dir():
        return target
    staging = lib.parent / f"storage-template.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    properties = staging / "server.properties"
    properties.write_text(render_properties(cluster_nodes(1)[0], staging / "data"))
    command = tool_command(java, lib, "kafka.tools.StorageTool",
                           ["format", "-t", new_cluster_id(), "-c", str(properties)])
    proc = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    if proc.returncode != 0 or not (staging / "data" / METADATA_DIR).is_dir():
        shutil.rmtree(staging, ignore_errors=True)
        raise LauncherError(f"formatting the storage template failed:\n{(proc.stdout + proc.stderr).strip()[-1500:]}")
    (staging / "data" / METADATA_DIR).rename(staging / METADATA_DIR)
    shutil.rmtree(staging / "data")
    properties.unlink()
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)  # atomic: a half-made template is never used
    return target


def format_from_template(template: Path, log_dirs: Path, cluster_id: str, node_id: int) -> bool:
    """What ``kafka-storage format --ignore-formatted`` does, from the template; False if already formatted."""
    if (log_dirs / META).exists():
        return False  # a restart keeps its data, as --ignore-formatted does
    log_dirs.mkdir(parents=True, exist_ok=True)
    shutil.copytree(template / METADATA_DIR, log_dirs / METADATA_DIR, dirs_exist_ok=True)
    partial = log_dirs / f"{META}.partial"
    partial.write_text(meta_properties(cluster_id, node_id, new_cluster_id()))
    partial.rename(log_dirs / META)  # last: a half-copied dir is not "formatted"
    return True


def meta_properties(cluster_id: str, node_id: int, directory_id: str) -> str:
    """The file Kafka's StorageTool writes (version 1, KRaft), same keys and order."""
    stamp = time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime())
    return f"#\n#{stamp}\nnode.id={node_id}\ndirectory.id={directory_id}\nversion=1\ncluster.id={cluster_id}\n"


# ---------------------------------------------------------------- classes: record once, archive once
def class_sharing_flags(java: str, lib: Path, echo=lambda _line: None) -> list[str]:
    """JVM flags that map the broker's class archive, building it first if a class list is ready;
    without one, flags that record the list (the archive comes on a later start). None when the
    folder of the jars cannot be written: the broker then starts as it always did."""
    try:
        return _class_sharing_flags(java, lib, echo)
    except OSError:
        return []


def _class_sharing_flags(java: str, lib: Path, echo) -> list[str]:
    tag = _java_tag(java)
    archive, classlist = lib / f"broker-{tag}.jsa", lib / f"broker-{tag}.classlist"
    failed = lib / f"broker-{tag}.jsa.failed"
    if failed.exists():
        return []  # the dump failed once (its output is in that file): do not pay for it on every start
    if not archive.exists() and not classlist.exists():
        _promote_recorded_list(lib, tag, classlist)
    if not archive.exists() and classlist.exists():
        started = time.monotonic()
        if not _dump_archive(java, lib, classlist, archive, failed):
            return []
        echo(f"built a class archive of the broker's classes in {time.monotonic() - started:.1f}s: {archive}")
    if archive.exists():
        return [f"-XX:SharedArchiveFile={archive}", "-Xshare:auto"]
    return [f"-XX:DumpLoadedClassList={lib / f'broker-{tag}.classlist.recording-{uuid.uuid4().hex[:8]}'}"]


def _promote_recorded_list(lib: Path, tag: str, classlist: Path) -> None:
    """Make the longest list an earlier broker recorded the class list (its complete lines)."""
    recorded = sorted(lib.glob(f"broker-{tag}.classlist.recording-*"), key=lambda p: p.stat().st_size)
    if not recorded:
        return
    text = recorded[-1].read_text(errors="replace")
    lines = text[: text.rfind("\n") + 1]  # a broker still running may be mid-line
    if lines.count("\n") >= MIN_CLASSES:
        partial = classlist.with_name(f"{classlist.name}.partial-{os.getpid()}")
        partial.write_text(lines)
        partial.rename(classlist)
        for path in recorded:  # a broker still writing one keeps its open file; nothing reads it again
            path.unlink(missing_ok=True)


def _dump_archive(java: str, lib: Path, classlist: Path, archive: Path, failed: Path) -> bool:
    partial = archive.with_name(f"{archive.name}.partial-{os.getpid()}")
    command = [java, "-Xshare:dump", f"-XX:SharedClassListFile={classlist}", f"-XX:SharedArchiveFile={partial}",
               "-cp", f"{lib}/*"]  # the same class path the broker runs with: the JVM checks it
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=DUMP_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:  # a very loaded machine: no archive this time, a later start tries again
        partial.unlink(missing_ok=True)
        return False
    if proc.returncode != 0 or not partial.exists():
        partial.unlink(missing_ok=True)
        failed.write_text(f"{' '.join(command)}\n{(proc.stdout + proc.stderr)[-3000:]}")
        return False
    partial.rename(archive)
    return True


def _java_tag(java: str) -> str:
    """Which JDK an archive belongs to: its real path and its ``release`` file (version and build)."""
    real = Path(java).resolve()
    release = real.parent.parent / "release"
    ident = f"{real}\n{release.read_text(errors='replace') if release.is_file() else real.stat().st_mtime}"
    return hashlib.sha256(ident.encode()).hexdigest()[:10]
