"""One place for the shape of the real-Kafka world: version, listeners, ports, topics.

The local launcher, ``docker-compose.yml`` and the tests all read these names; a unit test parses the
compose file and checks that it agrees with this module.
"""

from __future__ import annotations

from dataclasses import dataclass

KAFKA_VERSION = "4.4.0"
SCALA_VERSION = "2.13"

# Hosts on the machine reach the broker here (the seed's "external" address).
EXTERNAL_BOOTSTRAP = "localhost:9092"
# Containers reach the broker by this name; on the host it does not resolve: the ENOTFOUND lab.
INTERNAL_HOST = "kafka"

# Listener names, the same locally and in docker-compose.yml.
EXTERNAL = "EXTERNAL"  # host clients: advertised localhost:<port>
INTERNAL = "INTERNAL"  # in-network clients: advertised kafka:<port>
BROKER = "BROKER"  # inter-broker traffic: advertised with a name the broker itself resolves
CONTROLLER = "CONTROLLER"  # KRaft quorum
LISTENER_NAMES = (EXTERNAL, INTERNAL, BROKER, CONTROLLER)
# The fault proxy's listener (local launcher only, not in docker-compose.yml): bound at the FAULTY port,
# advertised at the proxy's, so clients that bootstrap through the proxy keep talking through it.
FAULTY = "FAULTY"

# Base ports of node 1; node n adds (n - 1) * PORT_STEP (9092, 9192, 9292, ...).
BASE_PORTS = {EXTERNAL: 9092, INTERNAL: 29092, BROKER: 19092, CONTROLLER: 9093}
PORT_STEP = 100
# A private cluster (e.g. the startup-race lab's, which it starts last and stops) shifts every port by an
# offset so it never meets the shared one: 1000 -> 10092 external, 30092 internal, 20092 broker, 10093.
MAX_PORT_OFFSET = 65535 - max(BASE_PORTS.values()) - 2 * PORT_STEP
# Fault proxy ports of node 1, stepped and offset like the others: where the proxy listens (and the
# FAULTY listener is advertised), where the broker binds FAULTY, and the proxy's control channel
# (one per cluster, node 1's). Next to 9093 so no offset in steps of 500 makes them meet another port.
PROXY_PORT, FAULTY_PORT, FAULT_CONTROL_PORT = 9094, 9095, 9096

# Application topics: name -> partitions. Each has a dead-letter twin "<name>.dlq".
APP_TOPICS = {"orders": 3, "payments": 3, "inventory": 3}
DLQ_SUFFIX = ".dlq"
TOPICS = {**APP_TOPICS, **{f"{name}{DLQ_SUFFIX}": parts for name, parts in APP_TOPICS.items()}}

# The services of the shop and the HTTP port of the one that has an API.
SERVICES = ("order", "payment", "inventory")
ORDER_HTTP_PORT = 3000


# KRaft roles of a node (process.roles). By default every node is both; a three-broker cluster may run its
# quorum on a node of its own instead (``controller=True``): killing two brokers then still leaves a
# controller that fences them and shrinks the ISRs, so acks=all writes are refused (NOT_ENOUGH_REPLICAS)
# instead of timing out against a cluster with no quorum.
COMBINED, BROKER_ONLY, CONTROLLER_ONLY = "broker,controller", "broker", "controller"


@dataclass(frozen=True, slots=True)
class Node:
    """One node of the local cluster: a combined broker+controller, unless ``roles`` says otherwise."""

    node_id: int
    cluster_size: int
    port_offset: int = 0  # 0: the shared cluster's ports
    roles: str = COMBINED

    @property
    def is_broker(self) -> bool:
        return self.roles != CONTROLLER_ONLY

    def port(self, listener: str) -> int:
        return BASE_PORTS[listener] + (self.node_id - 1) * PORT_STEP + self.port_offset

    @property
    def internal_host(self) -> str:
        # One node keeps the seed's name "kafka"; three get kafka-1..3 like compose replicas would.
        return INTERNAL_HOST if self.cluster_size == 1 else f"{INTERNAL_HOST}-{self.node_id}"

    @property
    def external_address(self) -> str:
        return f"localhost:{self.port(EXTERNAL)}"

    @property
    def internal_address(self) -> str:
        return f"{self.internal_host}:{self.port(INTERNAL)}"

    @property
    def ports(self) -> dict[str, int]:
        """The ports this node binds: a controller-only node its CONTROLLER one, a broker-only node the rest."""
        names = {COMBINED: LISTENER_NAMES, CONTROLLER_ONLY: (CONTROLLER,),
                 BROKER_ONLY: tuple(n for n in LISTENER_NAMES if n != CONTROLLER)}[self.roles]
        return {name: self.port(name) for name in names}

    @property
    def proxy_port(self) -> int:
        return PROXY_PORT + (self.node_id - 1) * PORT_STEP + self.port_offset

    @property
    def faulty_port(self) -> int:
        return FAULTY_PORT + (self.node_id - 1) * PORT_STEP + self.port_offset

    @property
    def proxy_address(self) -> str:
        # 127.0.0.1, not localhost: the proxy binds IPv4 loopback only, and "localhost" may try ::1 first.
        return f"127.0.0.1:{self.proxy_port}"


def cluster_nodes(size: int, port_offset: int = 0, *, controller: bool = False) -> list[Node]:
    """The brokers of a local cluster (ids 1..size); with ``controller`` they are brokers only."""
    if size not in (1, 3):
        raise ValueError(f"a local cluster has 1 or 3 brokers, not {size}")
    if controller and size != 3:
        raise ValueError(f"a dedicated controller node goes with three brokers, not {size} (--brokers 3 --controller)")
    if not 0 <= port_offset <= MAX_PORT_OFFSET:
        raise ValueError(f"port offset must be between 0 and {MAX_PORT_OFFSET}, not {port_offset}")
    return [Node(node_id, size, port_offset, BROKER_ONLY if controller else COMBINED)
            for node_id in range(1, size + 1)]


def controller_node(size: int, port_offset: int = 0) -> Node:
    """The dedicated controller of a three-broker cluster: node id 4, CONTROLLER port 9393 (+ offset)."""
    return Node(size + 1, size, port_offset, CONTROLLER_ONLY)


def all_nodes(size: int, port_offset: int = 0, *, controller: bool = False) -> list[Node]:
    """Every process of the cluster: its brokers, and its dedicated controller if it has one."""
    brokers = cluster_nodes(size, port_offset, controller=controller)
    return [*brokers, controller_node(size, port_offset)] if controller else brokers


def bootstrap_servers(size: int, port_offset: int = 0) -> str:
    """The host-side bootstrap list for a cluster of ``size`` nodes."""
    return ",".join(node.external_address for node in cluster_nodes(size, port_offset))


def proxy_bootstrap(size: int, port_offset: int = 0) -> str:
    """The bootstrap list through the fault proxy (one proxied listener per node)."""
    return ",".join(node.proxy_address for node in cluster_nodes(size, port_offset))


def fault_control_port(port_offset: int = 0) -> int:
    return FAULT_CONTROL_PORT + port_offset


def port_offset_of(bootstrap: str) -> int | None:
    """The port offset of a local cluster from its bootstrap (localhost:17092 -> 8000); None if not one of ours."""
    host, _, port = bootstrap.split(",")[0].strip().rpartition(":")
    if host not in ("localhost", "127.0.0.1") or not port.isdigit():
        return None
    offset = int(port) - BASE_PORTS[EXTERNAL]
    return offset if 0 <= offset <= MAX_PORT_OFFSET else None


def replication_settings(size: int) -> dict[str, int]:
    """Replication factor and min ISR for internal and default topics: 1/1 alone, 3/2 with three."""
    return {"replication_factor": size, "min_isr": 1 if size == 1 else 2}
