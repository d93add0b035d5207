"""PostgreSQL for kafka mode: ``DATABASE_URL`` when given, else the machine's own server.

``ensure_database()`` returns a DSN for one database ``kafkalab`` owned by role ``kafkalab`` (services
get a schema each inside it). On Debian-style installs it starts the cluster with ``pg_ctlcluster``
and creates the role and database as the ``postgres`` OS user (we may run as root, as CI does).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass

from adapters.postgres_store import connection_error
from compose.processes import exclusive_lock
from compose.runtime import LauncherError, kafkalab_home

NAME = "kafkalab"  # role, password and database
HINT = (
    "Set DATABASE_URL=postgresql://USER:PASSWORD@HOST:PORT/DB for a server you have, install PostgreSQL "
    "(Debian/Ubuntu: apt-get install postgresql), or use Docker: docker compose -f compose/docker-compose.yml "
    "up postgres."
)


@dataclass(frozen=True, slots=True)
class Cluster:
    version: str
    name: str
    port: int
    online: bool


def ensure_database(timeout: float = 30.0) -> str:
    """A DSN that connects now, or LauncherError saying what is missing and what to try."""
    given = os.environ.get("DATABASE_URL")
    if given:
        error = connection_error(given)
        if error:
            raise LauncherError(f"DATABASE_URL does not connect: {error}")
        return given
    with exclusive_lock(kafkalab_home() / "postgres.lock"):
        cluster = _local_cluster()
        if not cluster.online:
            _run(["pg_ctlcluster", cluster.version, cluster.name, "start"], "starting PostgreSQL")
        dsn = f"postgresql://{NAME}:{NAME}@127.0.0.1:{cluster.port}/{NAME}"
        _wait_for_server(cluster, timeout)
        _create_role_and_database(cluster)
        error = connection_error(dsn)
        if error:
            raise LauncherError(
                f"created role and database {NAME!r} but {dsn} does not connect: {error}\n"
                f"pg_hba.conf must allow password (md5 or scram-sha-256) logins on 127.0.0.1. {HINT}"
            )
        return dsn


def _local_cluster() -> Cluster:
    if not shutil.which("pg_lsclusters"):
        raise LauncherError(f"no DATABASE_URL and no local PostgreSQL (pg_lsclusters not found). {HINT}")
    out = _run(["pg_lsclusters", "--no-header"], "listing PostgreSQL clusters")
    clusters = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[2].isdigit():
            clusters.append(Cluster(fields[0], fields[1], int(fields[2]), fields[3].startswith("online")))
    if not clusters:
        raise LauncherError(f"PostgreSQL is installed but has no cluster (pg_createcluster). {HINT}")
    # Prefer a running one, then the newest version.
    return max(clusters, key=lambda c: (c.online, _version_key(c.version)))


def _wait_for_server(cluster: Cluster, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        ready = subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(cluster.port)], check=False)
        if ready.returncode == 0:
            return
        if time.monotonic() >= deadline:
            raise LauncherError(f"PostgreSQL {cluster.version}/{cluster.name} did not accept connections "
                                f"on 127.0.0.1:{cluster.port} within {timeout:.0f}s. {HINT}")
        time.sleep(0.3)  # poll interval, bounded by the deadline


def _create_role_and_database(cluster: Cluster) -> None:
    def psql(sql: str) -> str:
        command = ["psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-p", str(cluster.port), "-c", sql]
        return _run(_as_postgres(command), "preparing the kafkalab database").strip()

    psql(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{NAME}') THEN "
        f"CREATE ROLE {NAME} LOGIN PASSWORD '{NAME}'; END IF; END $$;"
    )
    if psql(f"SELECT 1 FROM pg_database WHERE datname = '{NAME}'") != "1":
        psql(f"CREATE DATABASE {NAME} OWNER {NAME}")


def _as_postgres(command: list[str]) -> list[str]:
    if os.geteuid() == 0 and shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *command]
    if shutil.which("sudo"):
        return ["sudo", "-n", "-u", "postgres", *command]
    raise LauncherError(f"cannot act as the postgres OS user to create role {NAME!r}. {HINT}")


def _run(command: list[str], what: str) -> str:
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise LauncherError(f"{what} failed: `{' '.join(command)}`: {(proc.stderr or proc.stdout).strip()}. {HINT}")
    return proc.stdout


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())
