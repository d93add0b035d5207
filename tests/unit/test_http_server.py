"""Regression tests against the running server (uvicorn on a thread, real sockets, raw HTTP/1.1 bytes):
an oversized or ambiguous body cannot smuggle a second request in, slow or idle clients are cut off,
and none of them writes an order."""

from __future__ import annotations

import json
import select
import socket
import threading
from collections.abc import Iterator

import pytest

from adapters.memory_store import MemoryStore
from scenarios.web.endpoints import OrderApiEndpoints
from scenarios.web.limits import HttpLimits
from scenarios.web.server import OrderHttpServer, listening_socket, serve_in_thread
from services.ids import SeededIds
from services.order_api import OrderApi
from tests.unit.test_http_app import FixedClock, written

TIMEOUT_S = 0.3  # the server's header, body and idle timeouts here
READ_DEADLINE_S = 10.0  # how long a test waits for the server at most: generous, the machine is shared
ORDER = json.dumps({"customerId": "cust_smuggled", "productId": "prod_123", "quantity": 1, "amount": 1}).encode()
SMUGGLED = (b"POST /orders HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(ORDER), ORDER))


@pytest.fixture(scope="module")
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture(scope="module")
def server(store: MemoryStore) -> Iterator[OrderHttpServer]:
    endpoints = OrderApiEndpoints(OrderApi(store, FixedClock(), SeededIds(2)))
    limits = HttpLimits(header_timeout_s=TIMEOUT_S, body_timeout_s=TIMEOUT_S, idle_timeout_s=TIMEOUT_S)
    server = serve_in_thread(endpoints, "127.0.0.1", 0, limits)
    yield server
    server.close()


def connect(server: OrderHttpServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=READ_DEADLINE_S)


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a test fails if it never does)."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def responses(data: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """(status, headers, body) of each response in ``data`` (bodies framed by Content-Length)."""
    found = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        found.append((int(lines[0].split()[1]), headers, rest[:length]))
        data = rest[length:]
    return found


def exchange(server: OrderHttpServer, raw: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    with connect(server) as sock:
        sock.sendall(raw)
        return responses(read_until_closed(sock))


def post_headers(length: int | None = None, *, chunked: bool = False, close: bool = False) -> bytes:
    framing = b"Transfer-Encoding: chunked\r\n" if chunked else b"Content-Length: %d\r\n" % length
    return (b"POST /orders HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\n" + framing
            + (b"Connection: close\r\n" if close else b"") + b"\r\n")


def test_an_oversized_body_is_a_413_that_closes_the_connection_so_a_request_inside_never_runs(
    server: OrderHttpServer, store: MemoryStore
) -> None:
    before = written(store)
    body = SMUGGLED + b" " * (64 * 1024)  # over the limit, and it starts like a second request
    answers = exchange(server, post_headers(len(body)) + body)
    assert [status for status, _, _ in answers] == [413]  # one answer, then the server closed
    assert answers[0][1]["connection"] == "close"
    assert json.loads(answers[0][2])["error"].startswith("body: larger than")
    assert written(store) == before


def test_an_oversized_chunked_body_is_a_413_and_nothing_after_it_runs(
    server: OrderHttpServer, store: MemoryStore
) -> None:
    before = written(store)
    chunk = b" " * 40_000
    body = b"%x\r\n%s\r\n" % (len(chunk), chunk) * 2 + b"0\r\n\r\n"
    answers = exchange(server, post_headers(chunked=True) + body + SMUGGLED)
    assert [status for status, _, _ in answers] == [413]
    assert written(store) == before


def test_a_body_no_route_reads_is_skipped_by_its_length_not_run_as_a_request(
    server: OrderHttpServer, store: MemoryStore
) -> None:
    before = written(store)
    unread = b"POST /nope HTTP/1.1\r\nHost: shop\r\nContent-Length: %d\r\n\r\n%s" % (len(SMUGGLED), SMUGGLED)
    answers = exchange(server, unread + b"GET /health HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n")
    assert [status for status, _, _ in answers] == [404, 200]
    assert written(store) == before


def test_content_length_together_with_chunked_is_refused_and_the_connection_closed(
    server: OrderHttpServer, store: MemoryStore
) -> None:
    before = written(store)
    ambiguous = post_headers(len(SMUGGLED) + 5).replace(b"\r\n\r\n", b"\r\nTransfer-Encoding: chunked\r\n\r\n")
    answers = exchange(server, ambiguous + b"0\r\n\r\n" + SMUGGLED)
    assert [status for status, _, _ in answers] == [400]
    assert "Transfer-Encoding" in json.loads(answers[0][2])["error"]
    assert written(store) == before


def test_a_chunked_order_is_accepted(server: OrderHttpServer, store: MemoryStore) -> None:
    orders, outbox = written(store)
    body = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (ORDER[:7], ORDER[7:])) + b"0\r\n\r\n"
    answers = exchange(server, post_headers(chunked=True, close=True) + body)
    assert [status for status, _, _ in answers] == [201]
    assert written(store) == (orders + 1, outbox + 1)


def test_a_half_sent_body_is_a_408_and_writes_nothing(server: OrderHttpServer, store: MemoryStore) -> None:
    before = written(store)
    answers = exchange(server, post_headers(len(ORDER)) + ORDER[:10])  # and then nothing more
    assert [status for status, _, _ in answers] == [408]
    assert json.loads(answers[0][2])["error"].startswith("request body not received")
    assert written(store) == before


def test_half_sent_headers_are_a_408(server: OrderHttpServer) -> None:
    answers = exchange(server, b"POST /orders HTTP/1.1\r\nHost: shop\r\nContent-Ty")
    assert [status for status, _, _ in answers] == [408]


def test_headers_sent_a_byte_at_a_time_do_not_extend_the_deadline(server: OrderHttpServer) -> None:
    request = b"GET /health HTTP/1.1\r\nHost: shop\r\n" + b"X-Slow: " + b"." * 200 + b"\r\n\r\n"
    with connect(server) as sock:
        sent = 0
        while sent < len(request) and not select.select([sock], [], [], 0.01)[0]:  # a byte per 10 ms
            sock.send(request[sent:sent + 1])
            sent += 1
        answers = responses(read_until_closed(sock))
    assert [status for status, _, _ in answers] == [408]
    assert sent < len(request)  # answered (after 0.3 s) while the headers were still coming


@pytest.mark.parametrize("first_request", [b"", b"GET /health HTTP/1.1\r\nHost: shop\r\n\r\n"])
def test_an_idle_connection_is_closed(server: OrderHttpServer, first_request: bytes) -> None:
    """A new connection that never sends, and a kept-alive one after its answer."""
    answers = exchange(server, first_request)
    assert [status for status, _, _ in answers] == ([200] if first_request else [])


def test_an_oversized_head_is_refused_and_its_request_never_runs(server: OrderHttpServer, store: MemoryStore) -> None:
    """431 from the app when the head arrives whole, 400 from h11 when it is still incomplete at 16 KiB:
    which one depends on how the kernel splits the bytes, and either way nothing runs."""
    before = written(store)
    head = post_headers(len(ORDER)).replace(b"\r\n\r\n", b"\r\nX-Padding: " + b"p" * 20_000 + b"\r\n\r\n")
    answers = exchange(server, head + ORDER)
    assert [status for status, _, _ in answers] in ([431], [400])
    assert written(store) == before


def test_malformed_http_is_a_json_400(server: OrderHttpServer) -> None:
    answers = exchange(server, b"NOT HTTP AT ALL\r\n\r\n")
    assert [(status, headers["content-type"]) for status, headers, _ in answers] == [(400, "application/json")]


def test_idle_connections_hold_no_thread_and_do_not_block_requests(server: OrderHttpServer) -> None:
    threads = threading.active_count()
    idle = [connect(server) for _ in range(200)]
    try:
        answers = exchange(server, b"GET /health HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n")
        assert [status for status, _, _ in answers] == [200]
        assert threading.active_count() < threads + 10
    finally:
        for sock in idle:
            sock.close()


def test_a_taken_port_is_an_oserror_at_once(server: OrderHttpServer, store: MemoryStore) -> None:
    with pytest.raises(OSError):
        serve_in_thread(OrderApiEndpoints(OrderApi(store, FixedClock(), SeededIds(3))), "127.0.0.1", server.port)


def test_the_listening_socket_is_marked_tcp_so_asyncio_turns_nagle_off() -> None:
    """asyncio sets TCP_NODELAY only on sockets made with IPPROTO_TCP; without it every response waited
    ~40 ms for the client's delayed ACK (22 requests/s on one keep-alive connection)."""
    with listening_socket("127.0.0.1", 0) as sock:
        assert sock.proto == socket.IPPROTO_TCP
