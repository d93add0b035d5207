"""Find a Java new enough for a program: JAVA_HOME first, then ``java`` on PATH, then the usual JVM
folders (Debian/Ubuntu, RHEL, macOS, SDKMAN, IntelliJ). Versions come from each JDK's ``release``
file when it has one (no JVM start), else from ``java -version``."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

from compose.runtime import LauncherError, java_major_version

JVM_FOLDERS = (
    "/usr/lib/jvm",
    "/usr/java",
    "/opt/java",
    "/Library/Java/JavaVirtualMachines",
    "~/.sdkman/candidates/java",
    "~/.jdks",
)
_RELEASE_VERSION = re.compile(r'^JAVA_VERSION="(\d+)(?:\.(\d+))?', re.MULTILINE)


def candidates(env: Mapping[str, str] | None = None, folders: Iterable[str] = JVM_FOLDERS) -> list[Path]:
    """``java`` binaries in search order, each once."""
    env = os.environ if env is None else env
    found: list[Path] = []
    if env.get("JAVA_HOME"):
        found.append(Path(env["JAVA_HOME"]) / "bin" / "java")
    on_path = shutil.which("java", path=env.get("PATH"))
    if on_path:
        found.append(Path(on_path))
    for folder in folders:
        root = Path(folder).expanduser()
        if root.is_dir():
            for home in sorted(root.iterdir(), reverse=True):  # newest-looking names first
                for java in (home / "bin" / "java", home / "Contents" / "Home" / "bin" / "java"):
                    if java.exists():
                        found.append(java)
    unique: dict[Path, None] = {}
    for java in found:
        unique.setdefault(java.resolve() if java.exists() else java, None)
    return list(unique)


def major_version(java: Path) -> int | None:
    """The Java major version of ``java``, or None when it cannot be told."""
    release = java.parent.parent / "release"
    if release.is_file():
        match = _RELEASE_VERSION.search(release.read_text(errors="replace"))
        if match:
            first, second = int(match.group(1)), int(match.group(2) or 0)
            return second if first == 1 else first
    if not java.exists():
        return None
    try:
        return java_major_version(str(java))
    except (LauncherError, OSError):
        return None


def find_java(minimum: int = 21, *, program: str = "Apicurio Registry", env: Mapping[str, str] | None = None,
              folders: Iterable[str] = JVM_FOLDERS) -> str:  # fmt: skip
    """The newest ``java`` of at least ``minimum``, or a LauncherError naming every Java it found."""
    seen: list[tuple[Path, int | None]] = [(java, major_version(java)) for java in candidates(env, folders)]
    good = [(version, str(java)) for java, version in seen if version is not None and version >= minimum]
    if good:
        return max(good)[1]
    listing = ", ".join(f"{java} ({version or '?'})" for java, version in seen) or "none"
    raise LauncherError(
        f"{program} needs Java {minimum}+; found: {listing}. Install one (Debian/Ubuntu: apt-get install "
        f"openjdk-{minimum}-jre-headless, or a Temurin {minimum}+) and set JAVA_HOME to it."
    )
