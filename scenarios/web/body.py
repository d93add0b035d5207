"""Reading request bodies as strict JSON.

``parse_json`` is what ``request.json()`` means in this app (``JsonBodyRoute`` puts it there, as
FastAPI's custom-request recipe does). Python's ``json.loads`` alone accepts ``NaN`` and
``Infinity``, turns a 1,000-digit decimal into a rounded float, and raises ValueError (not a decode
error) on an integer of more than 4,300 digits or RecursionError on deep nesting; here each of those
is a JSON error or an exact value, so a bad body is a 400 and never an internal error.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any, NoReturn

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

MAX_INT_DIGITS = 32  # longer integer literals stay Decimal: int() of thousands of digits is slow


def _number(literal: str) -> int | Decimal:
    return int(literal) if len(literal) <= MAX_INT_DIGITS else Decimal(literal)


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON value")


def parse_json(body: bytes) -> Any:
    """The JSON value in ``body`` (numbers as int or exact Decimal); JSONDecodeError for anything else."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError("not UTF-8", "", exc.start) from None
    try:
        return json.loads(text, parse_int=_number, parse_float=Decimal, parse_constant=_refuse_constant)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", "", 0) from None
    except ValueError as exc:  # from _refuse_constant
        raise json.JSONDecodeError(str(exc), "", 0) from None


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body())
        return self._json


class JsonBodyRoute(APIRoute):
    """A route whose JSON body is read by ``parse_json``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_json_handler(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict_json_handler
