"""The order API's request and response bodies as pydantic models: they validate requests and they
are where the OpenAPI document's schemas come from.

The request model states the body rules of ``services.order_api`` in JSON Schema terms (types,
ranges, lengths, a pattern), so a refused body is refused before the order service is called and the
document tells a client what is accepted. ``OrderApi`` still checks everything itself (and the
catalog), since it also serves callers that are not HTTP; the limits come from the same constants.

Numbers arrive as ``int`` or ``Decimal`` (see ``body.parse_json``): an amount is checked exactly,
so ``1.0000000000000001`` has too many decimals instead of passing as the float ``1.0``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from services.order_api import MAX_AMOUNT, MAX_QUANTITY, MAX_TEXT_LENGTH
from services.ports import Order

# No C0/C1 control characters (NUL included). Lone surrogates are refused by pydantic's str itself.
TEXT_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]+$"
MAX_ORDER_ID_LENGTH = 64
ORDER_ID_PATTERN = r"^[A-Za-z0-9_-]+$"


def _int_as_decimal(value: Any) -> Any:
    """An int amount becomes a Decimal; anything else is left for the strict Decimal check to refuse."""
    if value.__class__ is int:
        return Decimal(value)
    return value


Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_LENGTH, pattern=TEXT_PATTERN)]
Amount = Annotated[
    Decimal,
    BeforeValidator(_int_as_decimal),
    Field(gt=0, le=int(MAX_AMOUNT), decimal_places=2),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": int(MAX_AMOUNT), "multipleOf": 0.01}),
]


class OrderRequest(BaseModel):
    """An order to place. Unknown fields are ignored."""

    model_config = ConfigDict(
        strict=True,
        json_schema_extra={
            "examples": [{"customerId": "cust_happy_path", "productId": "prod_123", "quantity": 2, "amount": 250.50}]
        },
    )

    customerId: Text = Field(description="who orders; printable text")  # noqa: N815 (the JSON name)
    productId: Text = Field(description="a product of the catalog, e.g. prod_123")  # noqa: N815
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY)]
    amount: Amount = Field(description="the price in currency units, at most two decimals")

    def as_body(self) -> dict[str, Any]:
        """The body ``OrderApi.place_order`` takes."""
        return self.model_dump()


class OrderAccepted(BaseModel):
    orderId: str  # noqa: N815
    status: str


class ItemLine(BaseModel):
    productId: str  # noqa: N815
    quantity: int


class OrderView(BaseModel):
    """An order as the API shows it: money in units and in exact cents, one item line."""

    orderId: str  # noqa: N815
    status: str
    customerId: str  # noqa: N815
    productId: str  # noqa: N815
    quantity: int
    amount: float
    amountCents: int  # noqa: N815
    items: list[ItemLine]
    reason: str | None
    createdMs: int  # noqa: N815
    updatedMs: int  # noqa: N815

    @classmethod
    def of(cls, order: Order) -> OrderView:
        return cls(
            orderId=order.order_id,
            status=str(order.status),
            customerId=order.customer_id,
            productId=order.product_id,
            quantity=order.quantity,
            amount=float(Decimal(order.amount_cents) / 100),
            amountCents=order.amount_cents,
            items=[ItemLine(productId=order.product_id, quantity=order.quantity)],
            reason=order.reason or None,
            createdMs=order.created_ms,
            updatedMs=order.updated_ms,
        )


class Health(BaseModel):
    """``ok`` when the service is ready, ``starting`` while not; the rest says what it is."""

    model_config = ConfigDict(extra="allow")
    status: str


class ErrorBody(BaseModel):
    """Every refusal and failure: what went wrong, and the offending field when there is one."""

    error: str
    field: str | None = None


def error_json(message: str, field: str | None = None) -> bytes:
    return ErrorBody(error=message, field=field).model_dump_json().encode()
