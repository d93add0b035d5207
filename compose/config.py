"""Files of a local cluster on disk: the data directory layout, cluster id and server.properties."""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from string import Template

from compose.topology import (
    BROKER,
    COMBINED,
    CONTROLLER,
    CONTROLLER_ONLY,
    EXTERNAL,
    INTERNAL,
    KAFKA_VERSION,
    Node,
    cluster_nodes,
    controller_node,
    replication_settings,
)

TEMPLATE = Path(__file__).resolve().parent / "server.properties"
CONTROLLER_TEMPLATE = Path(__file__).resolve().parent / "controller.properties"
# A cluster with a controller node of its own is the one whose brokers are killed on purpose (the
# broker-failure lab): a dead broker is fenced, and its partitions' leaders move, within ~5 s instead of
# Kafka's 9 s (broker.session.timeout.ms, read by the controller; brokers heartbeat every 0.5 s instead of
# 2 s). A SIGSTOP shorter than the session timeout is a GC pause the cluster rides out, as it should.
FAILOVER_TIMINGS = {"broker.heartbeat.interval.ms": 500, "broker.session.timeout.ms": 5000}


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, base64url without padding, never starting with '-'.

    (Kafka's own Uuid.randomUuid also avoids a leading '-', which CLI parsers would take for a flag.)
    """
    while True:
        text = base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode("ascii")
        if not text.startswith("-"):
            return text


def data_root() -> Path:
    """Where clusters keep their logs and pids: $KAFKALAB_DATA, else .kafkalab/kafka in the current dir."""
    return Path(os.environ.get("KAFKALAB_DATA") or Path.cwd() / ".kafkalab" / "kafka").resolve()


@dataclass(frozen=True, slots=True)
class NodePaths:
    root: Path

    @property
    def properties(self) -> Path:
        return self.root / "server.properties"

    @property
    def log_dirs(self) -> Path:
        return self.root / "data"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def stdout(self) -> Path:
        return self.root / "stdout.log"

    @property
    def pid_file(self) -> Path:
        return self.root / "kafka.pid"


@dataclass(frozen=True, slots=True)
class ClusterState:
    """What ``cluster.json`` in the data dir remembers between ``up`` and ``down``."""

    cluster_id: str
    brokers: int
    version: str = KAFKA_VERSION
    port_offset: int = 0
    controller: bool = False  # a dedicated controller node (id brokers + 1) runs the KRaft quorum

    def to_json(self) -> str:
        fields: dict = {"cluster_id": self.cluster_id, "brokers": self.brokers, "version": self.version}
        if self.port_offset:  # written only when set: the shared cluster's file stays as it was
            fields["port_offset"] = self.port_offset
        if self.controller:
            fields["controller"] = True
        return json.dumps(fields)


class DataDir:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root or data_root()

    @property
    def state_file(self) -> Path:
        return self.root / "cluster.json"

    def node(self, node_id: int) -> NodePaths:
        return NodePaths(self.root / f"node-{node_id}")

    def load_state(self) -> ClusterState | None:
        try:
            raw = json.loads(self.state_file.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return ClusterState(raw["cluster_id"], int(raw["brokers"]), raw.get("version", KAFKA_VERSION),
                            int(raw.get("port_offset", 0)), bool(raw.get("controller", False)))

    def save_state(self, state: ClusterState) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(state.to_json() + "\n")


def quorum_voters(size: int, port_offset: int = 0, *, controller: bool = False) -> str:
    voters = [controller_node(size, port_offset)] if controller else cluster_nodes(size, port_offset)
    return ",".join(f"{n.node_id}@127.0.0.1:{n.port(CONTROLLER)}" for n in voters)


def render_properties(node: Node, log_dirs: Path) -> str:
    """server.properties of ``node``: the broker template (combined or broker-only), or the controller's."""
    dedicated = node.roles != COMBINED
    voters = quorum_voters(node.cluster_size, node.port_offset, controller=dedicated)
    timings = "".join(f"{k}={v}\n" for k, v in FAILOVER_TIMINGS.items()) if dedicated else ""
    if timings:
        timings = "\n# A cluster whose brokers are killed on purpose: fence a dead one fast (compose/config.py).\n" + timings
    if node.roles == CONTROLLER_ONLY:
        return Template(CONTROLLER_TEMPLATE.read_text()).substitute(
            node_id=node.node_id, quorum_voters=voters, controller_port=node.port(CONTROLLER),
            log_dirs=str(log_dirs), failover_timings=timings)
    replication = replication_settings(node.cluster_size)
    return Template(TEMPLATE.read_text()).substitute(
        node_id=node.node_id,
        process_roles=node.roles,
        controller_listener="" if dedicated else f",CONTROLLER://127.0.0.1:{node.port(CONTROLLER)}",
        failover_timings=timings,
        quorum_voters=voters,
        external_port=node.port(EXTERNAL),
        internal_port=node.port(INTERNAL),
        broker_port=node.port(BROKER),
        controller_port=node.port(CONTROLLER),
        faulty_port=node.faulty_port,
        proxy_port=node.proxy_port,
        internal_host=node.internal_host,
        log_dirs=str(log_dirs),
        replication_factor=replication["replication_factor"],
        min_isr=replication["min_isr"],
    )


def parse_properties(text: str) -> dict[str, str]:
    """``key=value`` lines of a Java properties file (no continuation lines: ours has none)."""
    pairs = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "!")) and "=" in line:
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs
