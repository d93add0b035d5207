"""Real servers for tests marked ``kafka``: an existing cluster (KAFKA_BOOTSTRAP) or the local launcher.

``database_url`` lives here for now; it is written so it can move to tests/conftest.py unchanged.
"""

from __future__ import annotations

import os

import pytest

from tests.conftest import missing_dependency
from tests.registry_support import registry_url  # noqa: F401  (a fixture)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """Bootstrap servers of a Kafka that answers metadata and has a group coordinator."""
    from compose.launcher import up
    from compose.runtime import LauncherError

    try:
        result = up(1, wait=True, timeout=float(os.environ.get("KAFKALAB_KAFKA_TIMEOUT", "180")))
    except LauncherError as exc:
        missing_dependency(f"no Kafka broker: {exc}")
    if not result.ready:
        missing_dependency(f"Kafka at {result.bootstrap} is not ready: {result.detail}")
    return result.bootstrap


@pytest.fixture(scope="session")
def database_url() -> str:
    """A PostgreSQL DSN: DATABASE_URL, or the local server with role/database ``kafkalab``."""
    from compose.postgres import ensure_database
    from compose.runtime import LauncherError

    try:
        return ensure_database()
    except LauncherError as exc:
        missing_dependency(f"no PostgreSQL: {exc}")
        raise  # unreachable: missing_dependency skips or fails


@pytest.fixture
def lab_dir(tmp_path, monkeypatch, kafka_bootstrap):
    """Learner mode in a directory of the test's own, pointed at the real broker."""
    monkeypatch.setenv("KAFKALAB_LAB_DIR", str(tmp_path))
    monkeypatch.setenv("KAFKA_BOOTSTRAP", kafka_bootstrap)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def registry_lab_dir(lab_dir, monkeypatch, registry_url):  # noqa: F811
    """``lab_dir``, with the real schema registry named too."""
    monkeypatch.setenv("KAFKALAB_REGISTRY_URL", registry_url)
    return lab_dir
