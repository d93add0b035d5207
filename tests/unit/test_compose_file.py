"""docker-compose.yml must describe the same Kafka as the local launcher (compose/topology.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from compose.config import parse_properties, render_properties
from compose.topology import (
    BASE_PORTS,
    BROKER,
    CONTROLLER,
    EXTERNAL,
    EXTERNAL_BOOTSTRAP,
    INTERNAL,
    INTERNAL_HOST,
    KAFKA_VERSION,
    ORDER_HTTP_PORT,
    SERVICES,
    TOPICS,
    cluster_nodes,
)

COMPOSE_FILE = Path(__file__).resolve().parents[2] / "compose" / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def kafka_props(compose) -> dict[str, str]:
    """The kafka service's KAFKA_* environment as the apache/kafka image turns it into properties."""
    return {env_to_property(k): str(v) for k, v in compose["services"]["kafka"]["environment"].items()
            if k.startswith("KAFKA_") and k != "KAFKA_HEAP_OPTS"}


def env_to_property(name: str) -> str:
    # The image's rule: drop KAFKA_, lower-case, ___ -> '-', __ -> '_', _ -> '.'.
    body = name.removeprefix("KAFKA_").lower()
    return body.replace("___", "\0").replace("__", "\1").replace("_", ".").replace("\0", "-").replace("\1", "_")


def listener_map(value: str) -> dict[str, str]:
    return dict(item.split("://") for item in value.split(","))


def test_kafka_images_use_the_launcher_version(compose):
    for name in ("kafka", "kafka-init"):
        assert compose["services"][name]["image"] == f"apache/kafka:{KAFKA_VERSION}"


def test_listener_names_and_ports_match_the_launcher(kafka_props):
    bound = listener_map(kafka_props["listeners"])
    assert set(bound) == {EXTERNAL, INTERNAL, BROKER, CONTROLLER}
    assert {name: int(addr.rsplit(":", 1)[1]) for name, addr in bound.items()} == BASE_PORTS
    assert kafka_props["controller.listener.names"] == CONTROLLER
    assert kafka_props["inter.broker.listener.name"] == BROKER


def test_advertised_addresses_are_the_seeds_internal_and_external_ones(kafka_props):
    advertised = listener_map(kafka_props["advertised.listeners"])
    assert advertised[EXTERNAL] == EXTERNAL_BOOTSTRAP == cluster_nodes(1)[0].external_address
    assert advertised[INTERNAL] == f"{INTERNAL_HOST}:{BASE_PORTS[INTERNAL]}" == cluster_nodes(1)[0].internal_address
    assert CONTROLLER not in advertised


def test_broker_settings_agree_with_the_local_server_properties(kafka_props):
    local = parse_properties(render_properties(cluster_nodes(1)[0], Path("/unused")))
    host_specific = {"listeners", "advertised.listeners", "controller.quorum.voters", "log.dirs"}
    shared = (set(kafka_props) & set(local)) - host_specific
    assert {"offsets.topic.num.partitions", "group.initial.rebalance.delay.ms",
            "transaction.state.log.min.isr", "listener.security.protocol.map"} <= shared
    assert {k: kafka_props[k] for k in shared} == {k: local[k] for k in shared}


def test_external_port_is_published_to_the_host(compose):
    assert f"{BASE_PORTS[EXTERNAL]}:{BASE_PORTS[EXTERNAL]}" in compose["services"]["kafka"]["ports"]


def test_topic_init_creates_exactly_the_launcher_topics(compose):
    init = compose["services"]["kafka-init"]
    specs = dict(spec.split(":") for spec in init["environment"]["TOPICS"].split())
    assert {name: int(parts) for name, parts in specs.items()} == TOPICS
    assert init["environment"]["BOOTSTRAP"] == f"{INTERNAL_HOST}:{BASE_PORTS[INTERNAL]}"
    assert init["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_services_run_inside_the_network_with_the_internal_bootstrap(compose):
    for service in SERVICES:
        spec = compose["services"][f"{service}-service"]
        assert spec["command"] == ["kafkalab", "service", "run", service]
        assert spec["environment"]["KAFKA_BOOTSTRAP"] == f"{INTERNAL_HOST}:{BASE_PORTS[INTERNAL]}"
        assert spec["depends_on"]["kafka-init"]["condition"] == "service_completed_successfully"
    assert f"{ORDER_HTTP_PORT}:{ORDER_HTTP_PORT}" in compose["services"]["order-service"]["ports"]


def test_every_server_has_a_health_check(compose):
    for name in ("kafka", "postgres"):
        assert compose["services"][name]["healthcheck"]["test"]
