"""The fault proxy on real sockets, in front of a fake upstream (asyncio sockets, no Kafka needed).

The fake answers every request that expects an answer with its correlation id, in order, as a broker
does; it records what reached it, so a test can tell "the broker wrote it" from "the client heard back".
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time

import pytest

from compose.faultproxy import FaultProxy, FaultProxyError, Limits, Route
from compose.faultproxy.wire import encode_frame, parse_produce, parse_request_header
from tests.unit.test_fault_proxy_wire import produce_body, request

FETCH_BYTES = 3 * 1024 * 1024  # a Fetch response larger than any buffer the proxy holds


class FakeBroker:
    """Answers requests in order: ``corr_id + b"ok"`` (Fetch: megabytes); acks=0 Produce gets nothing."""

    def __init__(self) -> None:
        self.received: list[tuple[int, int, str | None]] = []  # (api_key, correlation_id, client_id)
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        for task in asyncio.all_tasks(self._loop):
            task.cancel()
        self._loop.run_until_complete(asyncio.sleep(0.01))
        self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                size = struct.unpack(">i", await reader.readexactly(4))[0]
                body = await reader.readexactly(size)
                header = parse_request_header(body)
                with self._lock:
                    self.received.append((header.api_key, header.correlation_id, header.client_id))
                if header.api_key == 0 and parse_produce(body, header).acks == 0:
                    continue
                payload = b"f" * FETCH_BYTES if header.api_key == 1 else b"ok"
                writer.write(encode_frame(struct.pack(">i", header.correlation_id) + payload))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def correlation_ids(self, client_id: str) -> list[int]:
        with self._lock:
            return [corr for _, corr, client in self.received if client == client_id]

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


class Client:
    """A blocking Kafka-framed client socket (closed after each test by ``close_clients``)."""

    opened: list[Client] = []

    def __init__(self, port: int, client_id: str = "shop", timeout: float = 5.0) -> None:
        self.client_id = client_id
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        Client.opened.append(self)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, api_key: int, correlation_id: int, body: bytes = b"", version: int = 7) -> None:
        self.sock.sendall(encode_frame(request(api_key, version, correlation_id, self.client_id, body)))

    def produce(self, correlation_id: int, topic: str = "orders", acks: int = -1) -> None:
        self.send(0, correlation_id, produce_body(7, [topic], acks))

    def receive(self) -> tuple[int, bytes]:
        size = struct.unpack(">i", self._exactly(4))[0]
        body = self._exactly(size)
        return struct.unpack(">i", body[:4])[0], body[4:]

    def _exactly(self, n: int) -> bytes:
        data = bytearray()
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed by the proxy")
            data += chunk
        return bytes(data)

    def close(self) -> None:
        self.sock.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def until(condition, timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@pytest.fixture(autouse=True)
def close_clients():
    yield
    while Client.opened:
        Client.opened.pop().close()


@pytest.fixture
def broker():
    fake = FakeBroker()
    yield fake
    fake.close()


@pytest.fixture
def proxy(broker):
    with FaultProxy([Route(1, free_port(), broker.port)], limits=Limits(max_connections=4)) as running:
        yield running


@pytest.fixture
def port(proxy) -> int:
    return proxy.routes[0].listen_port


def test_requests_and_responses_pass_through_in_order(proxy, port, broker):
    client = Client(port)
    for n in range(1, 6):
        client.send(3, n)
    assert [client.receive()[0] for _ in range(5)] == [1, 2, 3, 4, 5]
    assert broker.correlation_ids("shop") == [1, 2, 3, 4, 5]
    traffic = proxy.report()["traffic"]
    assert traffic["requests"] == traffic["responses"] == 5


def test_a_large_response_streams_through_intact(port):
    client = Client(port)
    client.send(1, 9)
    correlation_id, payload = client.receive()
    assert correlation_id == 9 and payload == b"f" * FETCH_BYTES


def test_lose_ack_drops_the_next_produce_response_after_the_broker_received_it(proxy, port, broker):
    client = Client(port)
    proxy.lose_ack()
    client.produce(1)
    client.produce(2)
    assert client.receive()[0] == 2  # 1 was written, its ack never came
    assert broker.correlation_ids("shop") == [1, 2]
    report = proxy.report()
    assert report["counts"]["response_dropped"] == 1
    (dropped,) = [e for e in report["events"] if e["action"] == "response_dropped"]
    assert (dropped["api"], dropped["correlation_id"], dropped["client_id"], dropped["topics"]) == (
        "Produce", 1, "shop", ["orders"])


def test_lose_ack_for_one_client_spares_the_others(proxy, port):
    other, victim = Client(port, "order"), Client(port, "payment")
    proxy.lose_ack(client_id="payment")
    other.produce(1)
    assert other.receive()[0] == 1
    victim.produce(1)
    victim.produce(2)
    assert victim.receive()[0] == 2


def test_an_acks_0_produce_does_not_shift_which_response_belongs_to_which_request(proxy, port):
    client = Client(port)
    client.produce(1, acks=0)
    proxy.lose_ack()
    client.produce(2)
    client.send(3, 3)
    assert client.receive()[0] == 3


def test_delay_ack_holds_the_response_and_those_behind_it(proxy, port):
    client = Client(port)
    proxy.delay_ack(300)
    started = time.monotonic()
    client.produce(1)
    client.send(3, 2)
    assert [client.receive()[0] for _ in range(2)] == [1, 2]
    assert time.monotonic() - started >= 0.3
    assert proxy.report()["counts"]["response_delayed"] == 1


def test_slow_network_holds_frames_each_way_until_healed(proxy, port):
    client = Client(port)
    proxy.slow_network(150)
    started = time.monotonic()
    client.send(3, 1)
    assert client.receive()[0] == 1
    assert time.monotonic() - started >= 0.3  # 150 ms there and 150 ms back
    proxy.heal()
    assert proxy.report()["active"]["latency_ms"] == {"to_broker": 0, "to_client": 0}


def test_broker_down_cuts_connections_refuses_new_ones_and_comes_back(proxy, port):
    client = Client(port)
    client.send(3, 1)
    client.receive()
    proxy.broker_down(400)
    with pytest.raises(OSError):  # reset or closed: the connection is gone
        client.send(3, 2)
        client.receive()
    with pytest.raises(ConnectionRefusedError):
        Client(port)
    until(lambda: proxy.report()["routes"][0]["listening"], what="the listener to reopen")
    again = Client(port)
    again.send(3, 3)
    assert again.receive()[0] == 3
    actions = [e["action"] for e in proxy.report()["events"] if e["fault"] == "broker_down"]
    assert actions == ["armed", "listener_closed", "connection_cut", "listener_reopened"]


def test_heal_ends_an_outage_at_once(proxy, port):
    proxy.broker_down(60_000)
    proxy.heal()
    client = Client(port)
    client.send(3, 1)
    assert client.receive()[0] == 1


def test_a_blackholed_client_is_heard_by_no_one_while_others_pass(proxy, port, broker):
    victim, other = Client(port, "inventory"), Client(port, "order")
    proxy.isolate("inventory")
    victim.send(3, 1)
    other.send(3, 1)
    assert other.receive()[0] == 1
    until(lambda: proxy.report()["counts"].get("request_blackholed") == 1, what="the swallowed request")
    assert broker.correlation_ids("inventory") == []
    proxy.heal()  # a blackholed connection is cut on heal, so the client reconnects cleanly
    with pytest.raises(OSError):
        victim.receive()


def test_isolate_with_cut_closes_the_clients_connections(proxy, port):
    victim = Client(port, "payment")
    victim.send(3, 1)
    victim.receive()
    proxy.isolate("payment", mode="cut")
    with pytest.raises(OSError):
        victim.receive()
    fresh = Client(port, "payment")
    fresh.send(3, 2)
    with pytest.raises(OSError):  # cut as soon as its first request names it
        fresh.receive()
    assert proxy.report()["by_fault"]["isolate"] >= 2


def test_connections_over_the_limit_are_refused_and_reported(proxy, port):
    clients = [Client(port) for _ in range(4)]
    for n, client in enumerate(clients):
        client.send(3, n)
        client.receive()
    extra = Client(port)
    with pytest.raises(OSError):
        extra.send(3, 9)
        extra.receive()
    assert proxy.report()["counts"]["connection_refused"] == 1


def test_a_stream_that_is_not_kafka_is_cut(proxy, port):
    client = Client(port)
    client.sock.sendall(struct.pack(">i", -5) + b"GET / HTTP/1.1\r\n")
    with pytest.raises(OSError):
        client.receive()
    assert proxy.report()["counts"]["protocol_error"] == 1


def test_the_proxy_listens_on_loopback_only():
    with pytest.raises(FaultProxyError, match="must be 127.0.0.1 or ::1, not '0.0.0.0'"):
        Route(1, 19094, 19095, host="0.0.0.0")
    with pytest.raises(FaultProxyError, match="loopback"):
        Route(1, 19094, 19095, host="localhost")


def test_a_taken_port_is_a_clear_error(broker):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        with pytest.raises(FaultProxyError, match=f"cannot listen on 127.0.0.1:{busy} for node 1"):
            FaultProxy([Route(1, busy, broker.port)]).start()


def test_leaving_the_with_block_by_an_exception_stops_the_proxy(broker):
    proxy = FaultProxy([Route(1, free_port(), broker.port)])
    with pytest.raises(RuntimeError, match="lab failed"), proxy:
        client = Client(proxy.routes[0].listen_port)
        raise RuntimeError("lab failed")
    assert not proxy.running
    with pytest.raises(OSError):
        client.receive()
    with pytest.raises(ConnectionRefusedError):
        Client(proxy.routes[0].listen_port)


def test_bad_fault_arguments_are_refused_with_the_reason(proxy):
    with pytest.raises(FaultProxyError, match="broker_down: ms must be a whole number, not 'soon'"):
        proxy.broker_down("soon")
    with pytest.raises(FaultProxyError, match="no node 3 behind this proxy"):
        proxy.broker_down(100, node=3)
    with pytest.raises(FaultProxyError, match="unknown fault 'explode'"):
        proxy.command("explode")
    with pytest.raises(FaultProxyError, match="direction must be one of both, to_broker, to_client"):
        proxy.slow_network(10, direction="sideways")
    assert proxy.report()["events"] == []  # nothing was armed


def test_an_unreachable_upstream_closes_the_client_and_says_so():
    with FaultProxy([Route(1, free_port(), free_port())]) as proxy:
        client = Client(proxy.routes[0].listen_port)
        with pytest.raises(OSError):
            client.send(3, 1)
            client.receive()
        until(lambda: proxy.report()["counts"].get("upstream_unreachable") == 1, what="the report")


def test_broker_down_for_one_node_leaves_the_others_reachable(broker):
    routes = [Route(node, free_port(), broker.port) for node in (1, 2, 3)]
    with FaultProxy(routes) as proxy:
        proxy.broker_down(60_000, node=2)
        with pytest.raises(ConnectionRefusedError):
            Client(routes[1].listen_port)
        for route in (routes[0], routes[2]):
            client = Client(route.listen_port)
            client.send(3, route.node)
            assert client.receive()[0] == route.node
        assert [r["listening"] for r in proxy.report()["routes"]] == [True, False, True]
