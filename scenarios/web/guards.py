"""ASGI middleware that guards the app: a bounded head with one framing, a bounded body, HEAD as GET."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scenarios.web.models import error_json


class CheckRequestHead:
    """ASGI middleware: refuse, and close the connection of, a request whose head is too large (431;
    uvicorn's h11 limit only applies while the head is incomplete, not to one that arrives in a single
    read) or that has both Content-Length and Transfer-Encoding, which two servers can frame two ways
    (request smuggling; RFC 9112, 6.1)."""

    def __init__(self, app: ASGIApp, max_head_bytes: int) -> None:
        self.app = app
        self.max_head_bytes = max_head_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self._refusal(scope)
            if refusal is not None:
                status, message = refusal
                response = Response(error_json(message), status, media_type="application/json",
                                    headers={"Connection": "close"})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope) -> tuple[int, str] | None:
        headers = scope["headers"]
        size = len(scope.get("raw_path", b"")) + len(scope.get("query_string", b""))
        size += sum(len(name) + len(value) + 4 for name, value in headers)  # "name: value\r\n"
        if size > self.max_head_bytes:
            return 431, f"headers: the request line and headers are larger than {self.max_head_bytes} bytes"
        names = {name for name, _ in headers}
        if b"content-length" in names and b"transfer-encoding" in names:
            return 400, "body: Content-Length and Transfer-Encoding together are refused"
        return None


class BodyLimit:
    """ASGI middleware: a body over ``max_bytes``, declared or counted as it streams (chunked), is a 413.

    A declared one is answered before the app runs; a streamed one raises HTTPException(413) from
    ``receive`` inside the app's body read, so the app's error handler answers it. Either way the
    handler closes the connection: the unread rest of the body is never read as a next request.
    (Starlette's own limiter answers in plain text, whatever the app's error handlers say.)
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")  # h11 has checked it is one number
        if declared is not None and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413)
            return message

        await self.app(scope, receive_within_limit, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = error_json(f"body: larger than {self.max_bytes} bytes")
        response = Response(body, 413, media_type="application/json", headers={"Connection": "close"})
        await response(scope, receive, send)


class HeadAsGet:
    """ASGI middleware: HEAD is answered as GET (the server sends no body for HEAD), as HTTP requires of
    every resource that answers GET; FastAPI's routes, unlike Starlette's, do not add it themselves."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD":
            scope = {**scope, "method": "GET"}
        await self.app(scope, receive, send)
