"""The control channel of a background fault proxy: one JSON object per line over loopback TCP.

    -> {"op": "lose_ack", "args": {"count": 1}}
    <- {"ok": true, "result": {"fault": "lose_ack", "count": 1}}
    -> {"op": "broker_down", "args": {"ms": "soon"}}
    <- {"ok": false, "error": "broker_down: ms must be a whole number, not 'soon'"}

:class:`FaultProxyClient` speaks it with the same methods as the in-process proxy (``lose_ack``,
``broker_down``, ``slow_network``, ``isolate``, ``heal``, ``report``, ``command``). The channel listens on
127.0.0.1 only, takes a few connections at a time and lines of at most 64 KiB.
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import TYPE_CHECKING, Any

from compose.faultproxy.commands import FaultCommands, FaultProxyError, validate

if TYPE_CHECKING:
    from compose.faultproxy.proxy import FaultProxy

CONTROL_HOST = "127.0.0.1"
MAX_LINE = 64 * 1024
MAX_CONTROL_CONNECTIONS = 8


async def serve_control(proxy: FaultProxy, port: int) -> asyncio.base_events.Server:
    open_connections = 0
    nodes = {route.node for route in proxy.routes}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal open_connections
        open_connections += 1
        try:
            if open_connections > MAX_CONTROL_CONNECTIONS:
                await _send(writer, {"ok": False, "error": "too many control connections; try again"})
                return
            while line := await reader.readline():
                await _send(writer, await _answer(proxy, nodes, line))
        except (ValueError, ConnectionError):  # a line over the limit, or the client went away
            pass
        finally:
            open_connections -= 1
            writer.close()

    try:
        return await asyncio.start_server(handle, CONTROL_HOST, port, limit=MAX_LINE, reuse_address=True)
    except OSError as exc:
        raise FaultProxyError(f"the fault proxy's control channel cannot listen on {CONTROL_HOST}:{port}: "
                              f"{exc.strerror or exc}") from None


async def _answer(proxy: FaultProxy, nodes: set[int], line: bytes) -> dict[str, Any]:
    try:
        message = json.loads(line)
        if not isinstance(message, dict) or not isinstance(message.get("op"), str):
            raise FaultProxyError('a control message is {"op": NAME, "args": {...}}')
        args = message.get("args") or {}
        if not isinstance(args, dict):
            raise FaultProxyError("args must be a JSON object")
        values = validate(message["op"], {k: v for k, v in args.items() if v is not None}, nodes)
        return {"ok": True, "result": await proxy.apply(message["op"], values)}
    except json.JSONDecodeError as exc:
        return {"ok": False, "error": f"not JSON: {exc.msg}"}
    except FaultProxyError as exc:
        return {"ok": False, "error": str(exc)}


async def _send(writer: asyncio.StreamWriter, answer: dict[str, Any]) -> None:
    writer.write(json.dumps(answer).encode() + b"\n")
    await writer.drain()


class FaultProxyClient(FaultCommands):
    """Drives a fault proxy running in another process through its control channel."""

    def __init__(self, port: int, host: str = CONTROL_HOST, timeout: float = 15.0, bootstrap: str | None = None) -> None:
        self.port, self.host, self.timeout = port, host, timeout
        self.bootstrap = bootstrap  # where clients connect to go through that proxy, when known

    def command(self, op: str, **args: Any) -> dict[str, Any]:
        message = json.dumps({"op": op, "args": {k: v for k, v in args.items() if v is not None}})
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout) as sock:
                sock.sendall(message.encode() + b"\n")
                answer = _read_line(sock)
        except OSError as exc:
            raise FaultProxyError(
                f"no fault proxy answers on {self.host}:{self.port} ({exc.strerror or exc}); "
                f"start one with `kafkalab kafka up --faults`") from None
        try:
            reply = json.loads(answer)
        except json.JSONDecodeError:
            raise FaultProxyError(f"the fault proxy on {self.host}:{self.port} sent no JSON answer") from None
        if not reply.get("ok"):
            raise FaultProxyError(reply.get("error") or "the fault proxy refused the command")
        return reply["result"]

    def ping(self) -> bool:
        """True when a fault proxy answers on the control port."""
        try:
            self.report()
        except FaultProxyError:
            return False
        return True


def _read_line(sock: socket.socket) -> bytes:
    chunks = []
    size = 0
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if chunk.endswith(b"\n"):
            break
        if size > 64 * MAX_LINE:  # a report with a thousand events fits many times over
            raise OSError("the answer is too long")
    return b"".join(chunks)
