"""The local launcher against a real broker: really ready, topics work, Kafka's own tools work."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from adapters.kafka_readiness import probe
from compose import launcher, processes
from compose.config import parse_properties
from compose.tools import run_tool

pytestmark = pytest.mark.kafka


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_broker_answers_metadata_and_the_group_coordinator(kafka_bootstrap):
    check = probe(kafka_bootstrap, timeout=10)
    assert check.ready, check.detail
    assert check.brokers >= 1 and check.coordinator


def test_up_again_reuses_the_running_cluster(kafka_bootstrap):
    result = launcher.up(1, wait=True, timeout=60)
    assert result.ready
    assert result.outcome in {"already-running", "reused-env", "reused-external"}
    assert result.bootstrap == kafka_bootstrap


def test_status_reports_ready(kafka_bootstrap):
    if os.environ.get("KAFKA_BOOTSTRAP"):
        pytest.skip("status of the local launcher; this run uses an external cluster")
    current = launcher.status()
    if not current.running:
        pytest.skip("the broker on localhost:9092 was not started from this data dir")
    assert current.ready and current.bootstrap == "localhost:9092"
    assert all(current.pids.values())


def test_topics_can_be_created_and_a_group_consumes_from_them(kafka_bootstrap):
    topic, group = unique("launcher-topic"), unique("launcher-group")
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(30)
    assert len(admin.list_topics(topic, timeout=10).topics[topic].partitions) == 3

    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(topic, b"hello", key=b"k")
    assert producer.flush(15) == 0
    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    try:
        consumer.subscribe([topic])
        deadline, message = time.monotonic() + 30, None
        while message is None and time.monotonic() < deadline:
            candidate = consumer.poll(0.5)
            if candidate is not None and candidate.error() is None:
                message = candidate
        assert message is not None and message.value() == b"hello"
        consumer.commit(message, asynchronous=False)
    finally:
        consumer.close()

    listed = run_tool("kafka-topics", ["--list"], capture=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert topic in listed.stdout.split()
    groups = run_tool("kafka-consumer-groups", ["--list"], capture=True, timeout=120)
    assert groups.returncode == 0, groups.stderr
    assert group in groups.stdout.split()
    described = run_tool("kafka-consumer-groups", ["--describe", "--group", group], capture=True, timeout=120)
    assert described.returncode == 0, described.stderr
    assert topic in described.stdout


@pytest.mark.postgres
def test_database_url_connects_and_can_hold_a_schema(database_url):
    import psycopg

    schema = unique("launcher_check").replace("-", "_")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"DROP SCHEMA {schema}")


def _masked_batches(checkpoint: bytes) -> bytes:
    """A KRaft snapshot file with what differs between two formats zeroed: each record batch's CRC and
    timestamps, and the control batches' records (the snapshot header holds the time it was written)."""
    out, at = bytearray(checkpoint), 0
    while at + 61 <= len(out):  # v2 record batch header: 61 bytes
        end = at + 12 + int.from_bytes(out[at + 8:at + 12], "big")
        out[at + 17:at + 21] = bytes(4)  # crc
        out[at + 27:at + 43] = bytes(16)  # first and max timestamp
        if int.from_bytes(out[at + 21:at + 23], "big") & 0x20:  # a control batch
            out[at + 61:end] = bytes(end - at - 61)
        at = end
    assert at == len(out), "not a record-batch file"
    return bytes(out)


def test_the_storage_template_holds_what_kafka_storage_format_writes(tmp_path):
    from compose import fastboot
    from compose.config import new_cluster_id, render_properties
    from compose.runtime import ensure_jars, java_binary, tool_command
    from compose.topology import cluster_nodes

    java, lib = java_binary(), ensure_jars().lib
    template = fastboot.storage_template(java, lib)
    node = cluster_nodes(3, 3700)[1]  # another size, node and cluster id than the template's
    (tmp_path / "server.properties").write_text(render_properties(node, tmp_path / "data"))
    cluster_id = new_cluster_id()
    formatted = subprocess.run(
        tool_command(java, lib, "kafka.tools.StorageTool",
                     ["format", "-t", cluster_id, "-c", str(tmp_path / "server.properties")]),
        capture_output=True, text=True, timeout=180)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    theirs = sorted(p.relative_to(tmp_path / "data") for p in (tmp_path / "data").rglob("*") if p.is_file())
    copied = tmp_path / "copy"
    fastboot.format_from_template(template, copied, cluster_id, node.node_id)
    ours = sorted(p.relative_to(copied) for p in copied.rglob("*") if p.is_file())
    assert ours == theirs
    for path in ours:
        if path.name == fastboot.META:
            mine, tool = (parse_properties((root / path).read_text()) for root in (copied, tmp_path / "data"))
            assert mine.keys() == tool.keys() and mine["cluster.id"] == tool["cluster.id"] == cluster_id
            assert mine["node.id"] == tool["node.id"] == "2" and mine["directory.id"] != tool["directory.id"]
        else:
            assert _masked_batches((copied / path).read_bytes()) == _masked_batches((tmp_path / "data" / path).read_bytes())


def test_a_short_lived_private_broker_from_the_template_and_archive_is_its_own_cluster():
    from compose.config import DataDir
    from scenarios.worlds.servers import PrivateBroker

    broker = PrivateBroker()
    try:
        bootstrap = broker.start()
        admin = AdminClient({"bootstrap.servers": bootstrap})  # kept: a collected client cancels its futures
        cluster = admin.describe_cluster(request_timeout=30).result(40)
        assert cluster.cluster_id == DataDir(broker.data.root).load_state().cluster_id
        assert [n.id for n in cluster.nodes] == [1]
        meta = parse_properties((broker.data.node(1).log_dirs / "meta.properties").read_text())
        assert meta["cluster.id"] == cluster.cluster_id and meta["node.id"] == "1"
        pid = processes.read_pid(broker.data.node(1).pid_file)
        flags = processes.command_line(pid).split()
        assert "-XX:TieredStopAtLevel=1" in flags and "-XX:+UseSerialGC" in flags
        archive = next((f.partition("=")[2] for f in flags if f.startswith("-XX:SharedArchiveFile=")), None)
        if archive:  # the JVM checked the archive against the JDK and the jars, and mapped it
            assert archive in Path(f"/proc/{pid}/maps").read_text()
        else:  # this machine's first start: it records the classes for the archive
            assert any(f.startswith("-XX:DumpLoadedClassList=") for f in flags), flags
        producer = Producer({"bootstrap.servers": bootstrap})
        producer.produce(unique("fastboot-topic"), b"hello")
        assert producer.flush(30) == 0
    finally:
        broker.stop()
    assert not broker.root.exists()
