"""The HTTP server's limits, in one place: the app enforces the body size, the server the timeouts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HttpLimits:
    max_body_bytes: int = 64 * 1024  # over it: 413, connection closed
    max_header_bytes: int = 16 * 1024  # request line and headers; over it: 431, connection closed
    header_timeout_s: float = 10.0  # request line and headers, from the request's first byte
    body_timeout_s: float = 30.0  # the whole body, from the end of the headers
    idle_timeout_s: float = 5.0  # a keep-alive connection with no request on it is closed
    shutdown_grace_s: float = 2.0  # requests in flight at shutdown get this long to finish
