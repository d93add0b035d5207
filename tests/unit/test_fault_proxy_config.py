"""Where the fault proxy sits in the cluster layout: FAULTY listeners, proxy ports, routes."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.config import parse_properties, render_properties
from compose.faultproxy import cluster_routes
from compose.topology import (
    cluster_nodes,
    fault_control_port,
    port_offset_of,
    proxy_bootstrap,
)


def listeners(props: dict[str, str], key: str) -> dict[str, str]:
    return dict(item.split("://") for item in props[key].split(","))


@pytest.mark.parametrize(("size", "offset"), [(1, 0), (1, 8000), (3, 0), (3, 8000)])
def test_each_node_binds_faulty_and_advertises_its_proxy(size, offset):
    for node in cluster_nodes(size, offset):
        props = parse_properties(render_properties(node, Path("/d")))
        assert listeners(props, "listeners")["FAULTY"] == f"127.0.0.1:{node.faulty_port}"
        assert listeners(props, "advertised.listeners")["FAULTY"] == node.proxy_address
        assert "FAULTY:PLAINTEXT" in props["listener.security.protocol.map"].split(",")
    routes = cluster_routes(size, offset)
    assert [(r.node, r.listen_port, r.upstream_port) for r in routes] == [
        (n.node_id, n.proxy_port, n.faulty_port) for n in cluster_nodes(size, offset)]
    assert proxy_bootstrap(size, offset) == ",".join(r.address for r in routes)


def test_private_cluster_at_offset_8000_puts_the_proxy_at_17094_and_its_control_at_17096():
    (node,) = cluster_nodes(1, 8000)
    assert (node.proxy_port, node.faulty_port, fault_control_port(8000)) == (17094, 17095, 17096)


def test_fault_ports_never_meet_another_clusters_ports_at_offsets_in_steps_of_500():
    # (Offsets 10000 apart already share ports: 9092 + 10000 is node 1's BROKER port. Below that, none do.)
    offsets = range(0, 10_000, 500)
    listener_ports = {p for o in offsets for node in cluster_nodes(3, o) for p in node.ports.values()}
    fault_ports = [p for o in offsets for node in cluster_nodes(3, o) for p in (node.proxy_port, node.faulty_port)]
    fault_ports += [fault_control_port(o) for o in offsets]
    assert len(fault_ports) == len(set(fault_ports))
    assert not set(fault_ports) & listener_ports


def test_the_port_offset_is_read_back_from_a_local_bootstrap():
    assert port_offset_of("localhost:17092") == 8000
    assert port_offset_of("127.0.0.1:9092,127.0.0.1:9192") == 0
    assert port_offset_of("kafka:29092") is None
    assert port_offset_of("localhost:80") is None
