"""The local launcher's pure parts: cluster ids, rendered server.properties, tool arguments, pom pin."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from compose.config import new_cluster_id, parse_properties, quorum_voters, render_properties
from compose.runtime import POM, broker_command, tool_command
from compose.tools import TOOLS, with_default_bootstrap
from compose.topology import (
    APP_TOPICS,
    KAFKA_VERSION,
    TOPICS,
    bootstrap_servers,
    cluster_nodes,
)


def test_cluster_id_is_16_bytes_base64url_without_padding_or_leading_dash():
    for _ in range(200):
        cluster_id = new_cluster_id()
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", cluster_id)
        assert not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_single_node_advertises_localhost_externally_and_kafka_internally():
    (node,) = cluster_nodes(1)
    props = parse_properties(render_properties(node, Path("/data/n1")))
    assert props["node.id"] == "1"
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:9093"
    advertised = dict(item.split("://") for item in props["advertised.listeners"].split(","))
    assert advertised == {"EXTERNAL": "localhost:9092", "INTERNAL": "kafka:29092", "BROKER": "127.0.0.1:19092",
                          "FAULTY": "127.0.0.1:9094"}
    assert props["log.dirs"] == "/data/n1"
    assert props["offsets.topic.replication.factor"] == "1"
    assert int(props["offsets.topic.num.partitions"]) <= 3
    assert props["group.initial.rebalance.delay.ms"] == "0"


def test_inter_broker_listener_is_advertised_with_an_address_the_broker_resolves():
    for size in (1, 3):
        for node in cluster_nodes(size):
            props = parse_properties(render_properties(node, Path("/d")))
            name = props["inter.broker.listener.name"]
            advertised = dict(item.split("://") for item in props["advertised.listeners"].split(","))
            assert advertised[name].startswith("127.0.0.1:"), "the broker must reach itself there"
            assert name != "INTERNAL", "INTERNAL advertises a name that does not resolve on the host"


def test_three_nodes_have_distinct_ports_shared_voters_and_rf3_min_isr2():
    nodes = cluster_nodes(3)
    rendered = [parse_properties(render_properties(n, Path(f"/d/{n.node_id}"))) for n in nodes]
    assert {p["controller.quorum.voters"] for p in rendered} == {quorum_voters(3)}
    assert quorum_voters(3) == "1@127.0.0.1:9093,2@127.0.0.1:9193,3@127.0.0.1:9293"
    all_ports = [port for n in nodes for port in n.ports.values()]
    assert len(all_ports) == len(set(all_ports)) == 12
    assert [n.external_address for n in nodes] == ["localhost:9092", "localhost:9192", "localhost:9292"]
    assert bootstrap_servers(3) == "localhost:9092,localhost:9192,localhost:9292"
    for props in rendered:
        assert props["offsets.topic.replication.factor"] == "3"
        assert props["min.insync.replicas"] == "2"
        assert props["transaction.state.log.min.isr"] == "2"


def test_cluster_size_other_than_one_or_three_is_refused():
    with pytest.raises(ValueError, match="1 or 3"):
        cluster_nodes(2)


def test_every_app_topic_has_a_dlq_twin():
    assert set(TOPICS) == set(APP_TOPICS) | {f"{t}.dlq" for t in APP_TOPICS}
    assert set(APP_TOPICS) == {"orders", "payments", "inventory"}


def test_pom_pins_the_same_kafka_version_as_the_launcher():
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    root = ET.parse(POM).getroot()
    assert root.find("m:properties/m:kafka.version", ns).text == KAFKA_VERSION
    artifacts = {d.find("m:artifactId", ns).text for d in root.findall("m:dependencies/m:dependency", ns)}
    assert {"kafka_2.13", "kafka-tools", "log4j-slf4j-impl", "log4j-core", "log4j-api"} <= artifacts


def test_jvm_commands_bound_the_heap_and_use_the_lib_classpath():
    broker = broker_command("java", Path("/lib"), Path("/n/server.properties"), Path("/n/logs"))
    assert "-Xmx512m" in broker and broker[-3:] == ["/lib/*", "kafka.Kafka", "/n/server.properties"][-3:]
    tool = tool_command("java", Path("/lib"), TOOLS["kafka-topics"], ["--list"])
    assert "-XX:TieredStopAtLevel=1" in tool and "-XX:+UseSerialGC" in tool
    assert tool[-2:] == ["org.apache.kafka.tools.TopicCommand", "--list"]


def test_bootstrap_server_is_injected_in_front_only_when_missing(monkeypatch):
    monkeypatch.delenv("KAFKA_BOOTSTRAP", raising=False)
    assert with_default_bootstrap("kafka-topics", ["--list"]) == ["--bootstrap-server", "localhost:9092", "--list"]
    given = ["--list", "--bootstrap-server", "other:1"]
    assert with_default_bootstrap("kafka-topics", given) == given
    assert with_default_bootstrap("kafka-topics", ["--bootstrap-server=x:1"]) == ["--bootstrap-server=x:1"]
    quorum = ["--bootstrap-controller", "localhost:9093", "describe", "--status"]
    assert with_default_bootstrap("kafka-metadata-quorum", quorum) == quorum
    assert with_default_bootstrap("kafka-topics", ["--help"]) == ["--help"]
    monkeypatch.setenv("KAFKA_BOOTSTRAP", "elsewhere:9092")
    assert with_default_bootstrap("kafka-consumer-groups", ["--list"])[:2] == ["--bootstrap-server", "elsewhere:9092"]
