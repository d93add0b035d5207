"""The real schema registry for tests marked ``kafka``: KAFKALAB_REGISTRY_URL, else the local launcher.

Import the fixture into a test module (``from tests.registry_support import registry_url``). Locally a
missing registry (no Java 21+, no Maven, no network) is a skip; under CI=true it is a failure.
"""

from __future__ import annotations

import os

import pytest

from tests.conftest import missing_dependency


@pytest.fixture(scope="session")
def registry_url() -> str:
    """The Confluent-compatible API URL of a registry that answers."""
    from compose.registry import up
    from compose.runtime import LauncherError

    try:
        result = up(wait=True, timeout=float(os.environ.get("KAFKALAB_REGISTRY_TIMEOUT", "180")))
    except LauncherError as exc:
        missing_dependency(f"no schema registry: {exc}")
    if not result.ready:
        missing_dependency(f"the schema registry at {result.url} is not ready: {result.detail}")
    return result.url
