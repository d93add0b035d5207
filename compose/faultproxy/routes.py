"""Where a fault proxy listens and forwards: one route per broker node, loopback only."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from compose.faultproxy.commands import FaultProxyError
from compose.topology import cluster_nodes

LOOPBACK = ("127.0.0.1", "::1")


def check_loopback(host: str, what: str) -> str:
    try:
        loopback = ipaddress.ip_address(host).is_loopback and host in LOOPBACK
    except ValueError:
        loopback = False
    if not loopback:
        raise FaultProxyError(f"the fault proxy stays on loopback: {what} must be 127.0.0.1 or ::1, not {host!r}")
    return host


@dataclass(frozen=True, slots=True)
class Route:
    """Clients connect to ``listen_port``; their bytes go to the broker node's FAULTY ``upstream_port``."""

    node: int
    listen_port: int
    upstream_port: int
    host: str = "127.0.0.1"  # both ends: the proxy is loopback-only

    def __post_init__(self) -> None:
        check_loopback(self.host, "the host")
        for port in (self.listen_port, self.upstream_port):
            if not 1 <= port <= 65535:
                raise FaultProxyError(f"port {port} is not a TCP port (1..65535)")

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.listen_port}" if ":" in self.host else f"{self.host}:{self.listen_port}"


def cluster_routes(brokers: int = 1, port_offset: int = 0) -> list[Route]:
    return [Route(n.node_id, n.proxy_port, n.faulty_port) for n in cluster_nodes(brokers, port_offset)]
