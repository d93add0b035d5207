"""Serving the order API: uvicorn on a daemon thread, with the timeouts uvicorn lacks.

uvicorn closes a keep-alive connection that stays idle (``timeout_keep_alive``) and bounds the size of
an incomplete request head (the app checks a complete one), but it has no timeout for receiving a
request: a client that sends half its headers,
or half its body, holds the connection for ever (uvicorn issue 157 lists both as not done).
``GuardedH11Protocol`` adds them to uvicorn's h11 protocol, through uvicorn's own extension point
(``Config(http=...)``): the headers must arrive within ``header_timeout_s`` of the request's first
byte, the body within ``body_timeout_s`` of the headers, a new connection must start a request within
``idle_timeout_s``. A late request gets a JSON 408 and the connection is closed; it never reaches the
order service whole, so nothing is written. The deadline is fixed when a phase starts: trickling a
byte at a time does not extend it.

Closing a connection while the client is still sending (a 413, a 408, a malformed request) is done
the way HTTP servers call a lingering close: our side is shut once the response is flushed, what
still arrives is discarded for ``LINGER_S``, then the socket is closed. Closed at once with unread
bytes, the kernel sends a reset that can destroy the response before the client has read it.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import threading
import time
from typing import Any

import h11
import structlog
import uvicorn
from uvicorn.protocols.http.h11_impl import STATUS_PHRASES, H11Protocol

from scenarios.web.app import create_app
from scenarios.web.endpoints import OrderEndpoints
from scenarios.web.limits import HttpLimits
from scenarios.web.models import error_json

log = structlog.get_logger("kafkalab.http")
START_TIMEOUT_S = 10.0
LINGER_S = 2.0
_STILL_SENDING = (h11.IDLE, h11.SEND_BODY, h11.ERROR)  # with bytes of a request not read


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with request-receive deadlines and JSON protocol errors."""

    def __init__(self, *args: Any, limits: HttpLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timeouts = {"idle": limits.idle_timeout_s, "headers": limits.header_timeout_s,
                          "body": limits.body_timeout_s}
        self._watched: tuple[str | None, object] = (None, None)  # (phase, the request it belongs to)
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_LingeringTransport(transport, self))  # type: ignore[arg-type]
        self._watch()

    def data_received(self, data: bytes) -> None:
        if self.transport.lingering:  # type: ignore[attr-defined]
            return  # the connection is being closed: what the client still sends is discarded
        super().data_received(data)
        self._watch()

    def client_still_sending(self) -> bool:
        state = self.conn.their_state
        return state in _STILL_SENDING and (state is not h11.IDLE or bool(self.conn.trailing_data[0]))

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._arm(None)
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request h11 cannot parse, as JSON like every other error."""
        self._answer_and_close(400, "malformed HTTP request")

    def _watch(self) -> None:
        """Arm the deadline of the phase the client is in, unless it is armed for it already."""
        state = self.conn.their_state
        if state is h11.IDLE:
            phase: str | None = "headers" if self.conn.trailing_data[0] else "idle"
        elif state is h11.SEND_BODY:
            phase = "body"
        else:  # the request is in (the app has it) or the connection is closing
            phase = None
        if (phase, self.cycle) != self._watched:
            self._arm(phase)

    def _arm(self, phase: str | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._watched = (phase, self.cycle)
        self._deadline = None if phase is None else self.loop.call_later(self._timeouts[phase], self._expired)

    def _expired(self) -> None:
        phase = self._watched[0]
        self._deadline = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        answered = cycle is not None and cycle.response_started and phase == "body"
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True  # the app's receive() now says http.disconnect; its sends are dropped
            cycle.message_event.set()
        (log.debug if phase == "idle" else log.info)("http timeout", phase=phase, client=self.client)
        if phase == "idle" or answered:
            self.transport.close()
        else:
            self._answer_and_close(408, f"request {phase} not received within {self._timeouts[phase]:g} s")

    def _answer_and_close(self, status: int, message: str) -> None:
        body = error_json(message)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close")]
        try:
            output = self.conn.send(h11.Response(status_code=status, headers=headers, reason=STATUS_PHRASES[status]))
            output += self.conn.send(h11.Data(data=body)) + self.conn.send(h11.EndOfMessage())
            self.transport.write(output)
        except h11.LocalProtocolError:  # a response is already under way: all that is left is to close
            pass
        self.transport.close()


class _LingeringTransport:
    """A connection's transport whose close() lingers while the client is still sending (see above)."""

    def __init__(self, transport: asyncio.Transport, protocol: GuardedH11Protocol) -> None:
        self._transport = transport
        self._protocol = protocol
        self.lingering = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def is_closing(self) -> bool:
        return self.lingering or self._transport.is_closing()

    def close(self) -> None:
        if self.lingering or self._transport.is_closing() or not self._protocol.client_still_sending():
            self._transport.close()
            return
        self.lingering = True
        self._transport.write_eof()  # sent once the response is flushed
        self._transport.resume_reading()
        self._protocol.loop.call_later(LINGER_S, self._transport.close)


class OrderHttpServer:
    """The order API, served by uvicorn on a daemon thread from a socket bound by the caller."""

    def __init__(self, app: Any, sock: socket.socket, limits: HttpLimits, loop: str = "auto") -> None:
        config = uvicorn.Config(
            app,
            http=functools.partial(GuardedH11Protocol, limits=limits),  # type: ignore[arg-type]
            # "auto": uvloop when installed (a dependency), asyncio's own loop otherwise. uvloop spends
            # less CPU per request on the loop and the socket transport (tests/bench_kafka_http.py).
            loop=loop,
            ws="none",
            lifespan="off",
            log_config=None,  # leave the process's logging as it is
            access_log=False,
            server_header=False,
            timeout_keep_alive=limits.idle_timeout_s,  # type: ignore[arg-type] (a float works)
            timeout_graceful_shutdown=limits.shutdown_grace_s,  # type: ignore[arg-type]
            h11_max_incomplete_event_size=limits.max_header_bytes,
        )
        self._server = uvicorn.Server(config)
        self._sock = sock
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="order-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:  # uvicorn offers no start event to wait on
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the order API did not start on port {self.port}")
            time.sleep(0.005)

    def close(self) -> None:
        """Stop accepting, give requests in flight ``shutdown_grace_s``, then stop."""
        self._server.should_exit = True
        self._thread.join()
        self._sock.close()


def serve_in_thread(
    endpoints: OrderEndpoints, host: str = "127.0.0.1", port: int = 3000, limits: HttpLimits | None = None,
    loop: str = "auto",
) -> OrderHttpServer:
    """Bind (port 0 picks a free one; OSError if taken) and serve on a daemon thread; stop with close().
    ``loop`` is uvicorn's: "auto" (uvloop if installed), "uvloop" or "asyncio"."""
    limits = limits or HttpLimits()
    sock = listening_socket(host, port)
    server = OrderHttpServer(create_app(endpoints, limits), sock, limits, loop)
    try:
        server.start()
    except BaseException:
        sock.close()
        raise
    return server


def listening_socket(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A bound, listening TCP socket (OSError at once if the port is taken).

    Made with proto=IPPROTO_TCP, not by ``socket.create_server``: asyncio sets TCP_NODELAY only on
    sockets that say they are TCP, and without it Nagle's algorithm holds back the second write of a
    response (uvicorn writes the head and the body apart) until the client's delayed ACK, 40 ms later.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart must not wait for TIME_WAIT
        sock.bind((host, port))
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock
