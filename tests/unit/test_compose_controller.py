"""The three-broker layout with a dedicated KRaft controller node (``kafka up --brokers 3 --controller``):
what each node's rendered properties say, where the controller listens, and what the data dir remembers."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose import launcher
from compose.config import FAILOVER_TIMINGS, ClusterState, DataDir, parse_properties, render_properties
from compose.runtime import LauncherError
from compose.topology import CONTROLLER, all_nodes, bootstrap_servers, cluster_nodes, controller_node


def _listeners(props: dict[str, str], key: str = "listeners") -> dict[str, str]:
    return dict(item.split("://") for item in props[key].split(","))


def test_brokers_are_brokers_only_and_vote_for_the_controller_node_alone():
    brokers = [parse_properties(render_properties(n, Path("/d"))) for n in cluster_nodes(3, 120, controller=True)]
    for props in brokers:
        assert props["process.roles"] == "broker"
        assert props["controller.quorum.voters"] == "4@127.0.0.1:9513"  # node 4: 9093 + 3 * 100 + 120
        assert CONTROLLER not in _listeners(props)  # a broker-only node must not bind the controller listener
        assert props["controller.listener.names"] == CONTROLLER
        assert {k: int(props[k]) for k in FAILOVER_TIMINGS} == FAILOVER_TIMINGS
    assert bootstrap_servers(3, 120) == "localhost:9212,localhost:9312,localhost:9412"  # unchanged for clients


def test_the_controller_node_binds_only_its_controller_port_and_fences_fast():
    node = controller_node(3, 120)
    props = parse_properties(render_properties(node, Path("/d/4")))
    assert (node.node_id, props["process.roles"], props["node.id"]) == (4, "controller", "4")
    assert _listeners(props) == {CONTROLLER: "127.0.0.1:9513"} and node.ports == {CONTROLLER: 9513}
    assert props["controller.quorum.voters"] == "4@127.0.0.1:9513"
    assert int(props["broker.session.timeout.ms"]) < 9000  # Kafka's default; the controller reads it
    ports = [p for n in all_nodes(3, 120, controller=True) for p in n.ports.values()]
    assert len(ports) == len(set(ports)) == 3 * 3 + 1  # EXTERNAL, INTERNAL, BROKER each; CONTROLLER once


def test_combined_nodes_keep_the_default_timings_and_their_own_controller_listener():
    for n in cluster_nodes(3):
        props = parse_properties(render_properties(n, Path("/d")))
        assert props["process.roles"] == "broker,controller"
        assert _listeners(props)[CONTROLLER] == f"127.0.0.1:{n.port(CONTROLLER)}"
        assert not set(FAILOVER_TIMINGS) & set(props)


def test_the_data_dir_remembers_the_layout(tmp_path):
    data = DataDir(tmp_path)
    data.save_state(ClusterState("AAAAAAAAAAAAAAAAAAAAAA", 3, port_offset=120, controller=True))
    assert data.load_state().controller
    data.save_state(ClusterState("AAAAAAAAAAAAAAAAAAAAAA", 3))
    assert '"controller"' not in data.state_file.read_text() and not data.load_state().controller


def test_a_controller_node_with_one_broker_is_one_clear_error_and_starts_nothing(tmp_path):
    with pytest.raises(LauncherError, match=r"three brokers, not 1 \(--brokers 3 --controller\)"):
        launcher.up(1, controller=True, data=DataDir(tmp_path / "kafka"), port_offset=121)
    assert not (tmp_path / "kafka").exists()


def test_a_data_dir_of_one_layout_refuses_the_other(tmp_path):
    data = DataDir(tmp_path)
    data.save_state(ClusterState("AAAAAAAAAAAAAAAAAAAAAA", 3, port_offset=121))
    with pytest.raises(LauncherError, match="kafka down --wipe"):
        launcher.up(3, controller=True, data=data, port_offset=121, wait=False)
