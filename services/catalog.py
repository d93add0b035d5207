"""The shop's products and the rules the lab's special ids trigger.

- ``prod_123`` has 5 units: quantity 2 completes, quantity 10 is refused by inventory (refund, cancel).
- ``prod_ignore`` makes the inventory service fail with a logic error: the DLQ lab.
- ``prod_456``/``prod_789`` and ``prod_load_00``..``prod_load_09`` (a million units each) are for load.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_STOCK: dict[str, int] = {
    "prod_123": 5,
    "prod_456": 50,
    "prod_789": 500,
    "prod_ignore": 100,
    **{f"prod_load_{i:02d}": 1_000_000 for i in range(10)},
}


@dataclass(frozen=True, slots=True)
class Catalog:
    """Initial stock per product and the products inventory deliberately fails on."""

    stock: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_STOCK))
    poison_products: frozenset[str] = frozenset({"prod_ignore"})

    def knows(self, product_id: str) -> bool:
        return product_id in self.stock


DEFAULT_CATALOG = Catalog()
