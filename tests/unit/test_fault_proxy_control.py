"""Driving the fault proxy from outside: the control channel, the background process, the CLI."""

from __future__ import annotations

import json
import socket

import pytest

from compose import launcher, processes
from compose.config import DataDir
from compose.faultproxy import FaultProxy, FaultProxyClient, FaultProxyError, Route
from compose.faultproxy import background as fault_proxy
from compose.topology import cluster_nodes, fault_control_port
from scenarios.cli import build_parser, main
from tests.unit.test_fault_proxy_forwarding import Client, free_port

# Offsets whose proxy ports (9094-9096 + offset) no kafkalab cluster uses; the first free one is taken.
SPARE_OFFSETS = (21111, 22222, 23333, 24444)


def spare_offset() -> int:
    for offset in SPARE_OFFSETS:
        node = cluster_nodes(1, offset)[0]
        if not any(processes.port_in_use(p) for p in (node.proxy_port, fault_control_port(offset))):
            return offset
    pytest.skip(f"no free fault proxy ports at offsets {SPARE_OFFSETS}")


@pytest.fixture
def controlled():
    with FaultProxy([Route(1, free_port(), free_port())], control_port=free_port()) as proxy:
        yield proxy, FaultProxyClient(proxy.control_port)


def test_the_client_drives_the_same_faults_as_the_proxy_object(controlled):
    proxy, client = controlled
    assert client.lose_ack(count=2, topic="kl-7-payments") == {"fault": "lose_ack", "count": 2,
                                                               "topic": "kl-7-payments"}
    client.isolate("inventory", mode="cut")
    active = proxy.report()["active"]
    assert active["responses"][0]["remaining"] == 2 and active["isolated"] == {"inventory": "cut"}
    client.command("heal")
    assert client.report()["active"]["isolated"] == {}


def test_story_steps_drive_it_by_name(controlled):
    proxy, _ = controlled
    for op, args in [("lose_ack", {"topic": "orders"}), ("broker_down", {"ms": 100}), ("heal", {})]:
        proxy.command(op, **args)
    assert [e["fault"] for e in proxy.report()["events"] if e["action"] in ("armed", "healed")] == [
        "lose_ack", "broker_down", "heal"]


def test_refused_commands_come_back_as_one_line_errors(controlled):
    _, client = controlled
    with pytest.raises(FaultProxyError, match=r"isolate: missing client_id"):
        client.command("isolate")
    with pytest.raises(FaultProxyError, match="lose_ack: unknown argument.s. ms"):
        client.command("lose_ack", ms=5)
    with pytest.raises(FaultProxyError, match="count must be between 1 and"):
        client.lose_ack(count=0)


def test_a_control_line_that_is_not_json_is_answered_not_dropped(controlled):
    proxy, _ = controlled
    with socket.create_connection(("127.0.0.1", proxy.control_port), timeout=5) as sock:
        sock.sendall(b"lose_ack please\n[1, 2]\n")
        lines = sock.makefile()
        first, second = json.loads(lines.readline()), json.loads(lines.readline())
    assert first["ok"] is False and first["error"].startswith("not JSON")
    assert second == {"ok": False, "error": 'a control message is {"op": NAME, "args": {...}}'}
    assert proxy.report()["events"] == []


def test_a_client_without_a_proxy_says_how_to_start_one():
    with pytest.raises(FaultProxyError, match="start one with `kafkalab kafka up --faults`"):
        FaultProxyClient(free_port(), timeout=1).report()


def test_background_proxy_starts_once_answers_and_stops_with_kafka_down(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KAFKALAB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KAFKA_BOOTSTRAP", raising=False)
    data = DataDir(tmp_path / "kafka")
    offset = spare_offset()
    proxy, started = fault_proxy.start(data, 1, offset)
    try:
        assert started and fault_proxy.is_our_proxy(proxy.pid, data)
        assert fault_proxy.start(data, 1, offset) == (proxy, False)  # found, not started twice
        assert main(["kafka", "faults", "lose_ack", "--count", "3", "--data-dir", str(data.root)]) == 0
        assert capsys.readouterr().out.strip() == "lose_ack: count=3"
        described = launcher.status(data=data).fault_proxy
        assert described["pid"] == proxy.pid and described["active"]["responses"][0]["remaining"] == 3
        assert main(["kafka", "status", "--data-dir", str(data.root)]) == 3  # no broker: not ready
        assert f"fault proxy pid {proxy.pid}" in capsys.readouterr().out
        client = Client(cluster_nodes(1, offset)[0].proxy_port)  # it listens where the broker advertises
        client.close()
    finally:
        launcher.down(data=data)
    assert not processes.command_line(proxy.pid)
    assert fault_proxy.find(data) is None and launcher.status(data=data).fault_proxy is None
    assert main(["kafka", "faults", "heal", "--data-dir", str(data.root)]) == 1
    assert "no fault proxy runs for" in capsys.readouterr().err


def test_a_recorded_pid_that_is_not_our_proxy_is_never_signalled(tmp_path):
    data = DataDir(tmp_path)
    tmp_path.joinpath("faultproxy.pid").write_text(f"{processes.os.getpid()}\n")
    assert fault_proxy.find(data) is None
    assert fault_proxy.stop(data) is None


def test_faults_need_a_broker_started_by_kafkalab(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KAFKA_BOOTSTRAP", "elsewhere:9092")
    assert main(["kafka", "up", "--faults", "--data-dir", str(tmp_path)]) == 1
    assert "--faults needs a broker started by kafkalab" in capsys.readouterr().err
    assert build_parser().parse_args(["kafka", "up", "--faults"]).faults is True


def test_a_broker_without_the_faulty_listener_is_named_with_the_fix(tmp_path):
    data = DataDir(tmp_path)
    data.node(1).root.mkdir(parents=True)
    data.node(1).properties.write_text("listeners=EXTERNAL://127.0.0.1:9092\n")
    with pytest.raises(FaultProxyError, match="runs without the FAULTY listener.*kafkalab kafka up --faults"):
        fault_proxy.check_listeners(data, 1, 0)
