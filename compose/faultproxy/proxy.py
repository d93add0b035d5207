"""The fault proxy: loopback listeners in front of a broker's FAULTY listeners, on an asyncio loop in a thread.

    with FaultProxy.for_cluster(brokers=1) as proxy:      # listens on 127.0.0.1:9094 -> broker :9095
        producer = Producer({"bootstrap.servers": proxy.bootstrap, ...})
        proxy.lose_ack()                                   # the next Produce response never arrives
        ...
        print(proxy.report()["counts"])                    # {"response_dropped": 1, ...}

It runs beside synchronous code (a lab's Kafka world, a test): ``start`` returns once every listener is
bound, fault methods may be called from any thread, ``stop`` (or leaving the ``with``) closes every
connection and listener, also when the block raised. The broker advertises the proxy's address on its
FAULTY listener, so clients that bootstrap here are sent back here for every broker they learn of.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import Any

from compose.faultproxy.commands import (
    RESPONSE_FAULTS,
    FaultCommands,
    FaultProxyError,
    response_rule_args,
    validate,
)
from compose.faultproxy.connection import Connection, Limits
from compose.faultproxy.faults import FaultState, ResponseRule
from compose.faultproxy.routes import Route, cluster_routes

RETRY_BIND_S = 0.2  # a listener that could not reopen after an outage tries again this often


async def _close_server(server: asyncio.base_events.Server) -> None:
    """Stop accepting, let accepts already under way finish, then close the listening sockets.

    (Python 3.11's Server.close() right after an accept trips an assertion in the half-made transport and
    leaks its socket; taking the listening socket out of the selector first avoids that window.)
    """
    loop = asyncio.get_running_loop()
    for sock in server.sockets:
        loop.remove_reader(sock.fileno())
    for _ in range(3):
        await asyncio.sleep(0)
    server.close()


class FaultProxy(FaultCommands):
    def __init__(self, routes: Sequence[Route], *, control_port: int | None = None, limits: Limits | None = None,
                 on_event: Callable[[dict], None] | None = None) -> None:
        if not routes or len({r.node for r in routes}) != len(routes):
            raise FaultProxyError("a fault proxy needs one route per broker node, each node once")
        self.routes = list(routes)
        self.control_port = control_port
        self.limits = limits or Limits()
        self.state = FaultState(on_event=on_event)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: dict[int, asyncio.base_events.Server | None] = {}
        self._connections: set[Connection] = set()
        self._numbers = 0
        self._reopen: asyncio.TimerHandle | None = None
        self._stopping: asyncio.Event | None = None
        self._enforcing: asyncio.Lock | None = None  # one _enforce at a time: both may close and reopen listeners

    @classmethod
    def for_cluster(cls, brokers: int = 1, port_offset: int = 0, **options: Any) -> FaultProxy:
        """One route per node of a local cluster (compose/topology.py's proxy and FAULTY ports)."""
        return cls(cluster_routes(brokers, port_offset), **options)

    @property
    def bootstrap(self) -> str:
        return ",".join(route.address for route in self.routes)

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 10.0) -> FaultProxy:
        if self._thread is not None:
            raise FaultProxyError("this fault proxy is already started")
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="kafkalab-fault-proxy", daemon=True)
        self._thread.start()
        try:
            ready.result(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Close every connection and listener and end the thread; safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is not None and self._stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._stopping.set)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._thread = None

    def __enter__(self) -> FaultProxy:
        return self if self._thread is not None else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ------------------------------------------------------------------ faults
    def command(self, op: str, **args: Any) -> dict[str, Any]:
        """Run one fault command (see compose/faultproxy/commands.py); callable from any thread."""
        values = validate(op, {k: v for k, v in args.items() if v is not None}, {r.node for r in self.routes})
        loop = self._loop
        if loop is None or not self.running:
            raise FaultProxyError("the fault proxy is not running")
        if threading.current_thread() is self._thread:
            raise FaultProxyError("call apply() from inside the proxy's loop")
        return asyncio.run_coroutine_threadsafe(self.apply(op, values), loop).result(10)

    async def apply(self, op: str, values: dict[str, Any]) -> dict[str, Any]:
        """Run an already validated command on the proxy's loop."""
        if op in RESPONSE_FAULTS:
            self.state.arm_response_rule(ResponseRule(**response_rule_args(op, values)))
        elif op == "broker_down":
            self.state.broker_down(values["ms"], values["node"])
        elif op == "slow_network":
            self.state.slow_network(values["ms"], values["direction"])
        elif op == "isolate":
            self.state.isolate(values["client_id"], values["mode"])
        elif op == "heal":
            self.state.heal()
        elif op == "report":
            return self._report()
        await self._enforce()
        return {"fault": op, **{k: v for k, v in values.items() if v is not None}}

    def _report(self) -> dict[str, Any]:
        report = self.state.report()
        report["routes"] = [{"node": r.node, "listen": r.address, "upstream": f"{r.host}:{r.upstream_port}",
                             "listening": self._servers.get(r.node) is not None} for r in self.routes]
        report["connections"] = len(self._connections)
        return report

    async def _enforce(self) -> None:
        """Make listeners and connections agree with the armed faults (outages, isolation, heal)."""
        async with self._enforcing:
            await self._enforce_locked()

    async def _enforce_locked(self) -> None:
        down = self.state.down_nodes()
        for route in self.routes:
            if None in down or route.node in down:
                server = self._servers.get(route.node)
                if server is not None:
                    self._servers[route.node] = None
                    await _close_server(server)  # new connections are refused by the kernel, as with a dead broker
                    self.state.note("broker_down", "listener_closed", node=route.node)
                for conn in [c for c in self._connections if c.node == route.node]:
                    conn.cut("broker_down")
            elif self._servers.get(route.node) is None and not self._stopping.is_set():
                await self._listen(route, reopening=True)
        for conn in list(self._connections):
            mode = self.state.isolation(conn.client_id)
            if mode == "cut":
                conn.cut("isolate")
            elif mode is None and conn.blackholed:
                conn.cut("heal")  # its swallowed requests will never be answered: let it reconnect afresh
        self._schedule_reopen(down)

    def _schedule_reopen(self, down: dict[int | None, float]) -> None:
        if self._reopen is not None:
            self._reopen.cancel()
            self._reopen = None
        closed = [r for r in self.routes if self._servers.get(r.node) is None]
        if not closed and not down:
            return
        loop = asyncio.get_running_loop()
        wake = min(down.values(), default=loop.time() + RETRY_BIND_S)
        # FaultState's clock is time.monotonic, the loop's is too (asyncio's default).
        self._reopen = loop.call_at(max(wake, loop.time()) + 0.001, lambda: asyncio.ensure_future(self._enforce()))

    # ------------------------------------------------------------------ the loop thread
    def _run(self, ready: concurrent.futures.Future[None]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main(ready))
        except BaseException as exc:  # an error before ready is the caller's; after it, the report's
            if not ready.done():
                ready.set_exception(exc)
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _main(self, ready: concurrent.futures.Future[None]) -> None:
        from compose.faultproxy.control import serve_control

        self._stopping = asyncio.Event()
        self._enforcing = asyncio.Lock()
        control = None
        try:
            for route in self.routes:
                await self._listen(route)
            if self.control_port is not None:
                control = await serve_control(self, self.control_port)
            ready.set_result(None)
            await self._stopping.wait()
        finally:
            if self._reopen is not None:
                self._reopen.cancel()
            for server in [*self._servers.values(), control]:
                if server is not None:
                    await _close_server(server)
            await self._drain_tasks()

    async def _drain_tasks(self, timeout: float = 2.0) -> None:
        """End every connection, including ones accepted a moment ago that reach ``_accept`` only now.

        Their tasks are left to finish rather than cancelled: an accept cancelled before it ran leaks its socket.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            for conn in list(self._connections):
                conn.abort()
            others = asyncio.all_tasks() - {asyncio.current_task()}
            if not others:
                return
            await asyncio.wait(others, timeout=max(0.0, deadline - loop.time()), return_when=asyncio.FIRST_COMPLETED)
        for task in asyncio.all_tasks() - {asyncio.current_task()}:
            task.cancel()

    async def _listen(self, route: Route, reopening: bool = False) -> None:
        try:
            self._servers[route.node] = await asyncio.start_server(
                lambda r, w: self._accept(route, r, w), route.host, route.listen_port, reuse_address=True,
                limit=self.limits.read_bytes)  # the reader buffers up to this before TCP pushes back
        except OSError as exc:
            if not reopening:
                raise FaultProxyError(
                    f"the fault proxy cannot listen on {route.address} for node {route.node}: {exc.strerror or exc}"
                    f" (is another fault proxy running? `kafkalab kafka status` shows it)") from None
            self._servers[route.node] = None
            self.state.note("proxy", "listener_reopen_failed", node=route.node, error=str(exc))
            return
        if reopening:
            self.state.note("broker_down", "listener_reopened", node=route.node)

    async def _accept(self, route: Route, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.state.count("connections_accepted")
        conn = None
        try:
            if self._stopping.is_set():
                return
            if len(self._connections) >= self.limits.max_connections or self.state.is_down(route.node):
                self.state.note("proxy", "connection_refused", node=route.node, open=len(self._connections),
                                limit=self.limits.max_connections)
                return
            self._numbers += 1
            conn = Connection(self._numbers, route.node, self.state, self.limits, (reader, writer))
            self._connections.add(conn)
            await conn.run(route.host, route.upstream_port)
        except asyncio.CancelledError:
            pass  # cut, or the proxy is stopping
        finally:
            if conn is not None:
                self._connections.discard(conn)
                conn.abort()  # a no-op when it closed itself
            else:
                writer.transport.abort()
