"""One proxied client connection: two pumps (requests to the broker, responses back) and two outboxes.

A pump reads chunks, cuts them into frame pieces, asks the fault state about each frame's head and
puts the pieces it lets through into the other side's outbox with a due time. An outbox is a bounded
queue written in order, never before a piece's due time: latency and delayed responses hold the
frames behind them too, as a slow link would, and a full outbox stops its pump reading (backpressure).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass

from compose.faultproxy.faults import ConnectionInfo, FaultState, InFlight
from compose.faultproxy.wire import (
    PRODUCE,
    REQUEST_HEAD_LIMIT,
    RESPONSE_HEAD_LIMIT,
    FrameSplitter,
    Piece,
    ProtocolError,
    parse_produce,
    parse_request_header,
    response_correlation_id,
)


@dataclass(frozen=True, slots=True)
class Limits:
    max_connections: int = 256  # client connections at once, over every route
    max_frame_bytes: int = 128 * 1024 * 1024  # a larger size prefix is not Kafka: the connection is cut
    max_queued_chunks: int = 64  # per direction and connection; with read_bytes, bounds the memory held
    read_bytes: int = 256 * 1024
    max_in_flight: int = 10_000  # requests awaiting a response on one connection
    connect_timeout_s: float = 5.0


class Outbox:
    """Pieces for one side, written in order and not before they are due; at most ``max_chunks`` held."""

    def __init__(self, writer: asyncio.StreamWriter, max_chunks: int) -> None:
        self.writer = writer
        self._max = max_chunks
        self._items: deque[tuple[float, bytes]] = deque()
        self._has_items = asyncio.Event()
        self._has_room = asyncio.Event()
        self._last_due = 0.0

    async def put(self, data: bytes, hold_s: float) -> None:
        while len(self._items) >= self._max:
            self._has_room.clear()
            await self._has_room.wait()
        due = asyncio.get_running_loop().time() + hold_s if hold_s else 0.0
        self._last_due = due = max(due, self._last_due)  # never overtake what is already held
        self._items.append((due, data))
        self._has_items.set()

    async def flush(self) -> None:
        """Wait until everything put has been handed to the socket (the other side said goodbye)."""
        while self._items:
            self._has_room.clear()
            await self._has_room.wait()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._items:
                self._has_items.clear()
                await self._has_items.wait()
            wait = self._items[0][0] - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)  # only appends happen meanwhile, with later due times
            now = loop.time()
            chunks = []
            while self._items and self._items[0][0] <= now:
                chunks.append(self._items.popleft()[1])  # everything due in one write
            self._has_room.set()
            self.writer.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))
            await self.writer.drain()


class Connection:
    def __init__(self, number: int, node: int, state: FaultState, limits: Limits,
                 client: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
        self.number, self.node = number, node
        self.state, self.limits = state, limits
        self.client_reader, self.client_writer = client
        self.client_id: str | None = None
        self.blackholed = False  # a request of this connection was swallowed: cut it on heal
        self.in_flight: deque[InFlight] = deque()
        self._upstream_writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task | None = None
        self.closed = False

    @property
    def info(self) -> ConnectionInfo:
        return ConnectionInfo(self.node, self.number, self.client_id)

    async def run(self, upstream_host: str, upstream_port: int) -> None:
        self._task = asyncio.current_task()
        try:
            async with asyncio.timeout(self.limits.connect_timeout_s):  # not wait_for: it can lose the socket
                reader, writer = await asyncio.open_connection(upstream_host, upstream_port,
                                                               limit=self.limits.read_bytes)
        except (TimeoutError, OSError) as exc:
            self.state.note("proxy", "upstream_unreachable", node=self.node, connection=self.number,
                            upstream=f"{upstream_host}:{upstream_port}", error=str(exc) or type(exc).__name__)
            self._close()
            return
        self._upstream_writer = writer
        to_broker = Outbox(writer, self.limits.max_queued_chunks)
        to_client = Outbox(self.client_writer, self.limits.max_queued_chunks)
        tasks = [asyncio.ensure_future(job) for job in (
            self._pump(self.client_reader, to_broker, REQUEST_HEAD_LIMIT, "bytes_to_broker", self._on_request),
            self._pump(reader, to_client, RESPONSE_HEAD_LIMIT, "bytes_to_client", self._on_response),
            to_broker.run(), to_client.run())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._close()

    def cut(self, fault: str) -> None:
        """Close both sides now (RST, no goodbye), as a failing network or broker would."""
        if self.closed:
            return
        self.state.note(fault, "connection_cut", node=self.node, connection=self.number, client_id=self.client_id,
                        in_flight=len(self.in_flight))
        self._close(abort=True)

    def abort(self) -> None:
        """Close both sides without recording a fault (the proxy is stopping)."""
        self._close(abort=True)

    def _close(self, abort: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        for writer in (self.client_writer, self._upstream_writer):
            if writer is not None:
                with contextlib.suppress(Exception):
                    writer.transport.abort() if abort else writer.close()
        if abort and self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()

    async def _pump(self, reader: asyncio.StreamReader, outbox: Outbox, head_limit: int, counter: str,
                    on_head) -> None:
        """Read, cut into frame pieces, ask ``on_head`` about each frame, pass on what it lets through."""
        splitter = FrameSplitter(head_limit, self.limits.max_frame_bytes)
        forward, hold = True, 0.0
        while data := await reader.read(self.limits.read_bytes):
            self.state.count(counter, len(data))
            pieces = self._split(splitter, data)
            if pieces is None:
                return
            for piece in pieces:
                if piece.head is not None:
                    forward, hold = on_head(piece.head)
                    if self.closed:
                        return
                if forward:
                    await outbox.put(piece.data, hold)
        await outbox.flush()  # the other side said goodbye: hand on what is still held first

    def _split(self, splitter: FrameSplitter, data: bytes) -> list[Piece] | None:
        """The frame pieces in ``data``, or None (and the connection cut) when it is not Kafka."""
        try:
            return splitter.feed(data)
        except ProtocolError as exc:
            self._fail("protocol_error", error=str(exc))
            return None

    def _fail(self, action: str, **detail) -> None:
        """The proxy itself closes the connection: a stream it cannot read, or a limit passed."""
        self.state.note("proxy", action, node=self.node, connection=self.number, client_id=self.client_id, **detail)
        self._close(abort=True)

    def _on_request(self, head: bytes) -> tuple[bool, float]:
        """(forward?, seconds to hold it) for a request; cuts the connection when the verdict says so."""
        try:
            header = parse_request_header(head)
        except ProtocolError as exc:
            self._fail("protocol_error", error=str(exc))
            return False, 0.0
        self.state.count("requests")
        if self.client_id is None:
            self.client_id = header.client_id
        produce = None
        if header.api_key == PRODUCE and header.api_version >= 3:
            with contextlib.suppress(ProtocolError):
                produce = parse_produce(head, header)
        verdict = self.state.on_request(self.info, header, produce)
        if verdict.action == "cut":
            self.cut("isolate")
            return False, 0.0
        if verdict.action == "swallow":
            self.blackholed = True
            return False, 0.0
        if verdict.expects_response:
            if len(self.in_flight) >= self.limits.max_in_flight:
                self._fail("too_many_in_flight", limit=self.limits.max_in_flight)
                return False, 0.0
            self.in_flight.append(InFlight(header, verdict, produce.topics if produce else ()))
        return True, verdict.delay_s

    def _on_response(self, head: bytes) -> tuple[bool, float]:
        self.state.count("responses")
        correlation_id = response_correlation_id(head)
        while self.in_flight:
            pending = self.in_flight.popleft()
            if pending.header.correlation_id == correlation_id:
                return self.state.on_response(self.info, pending)
        # No request we forwarded has this id (responses come in order, so this is not Kafka as we know it).
        self.state.note("proxy", "unmatched_response", node=self.node, connection=self.number,
                        correlation_id=correlation_id)
        return True, 0.0
