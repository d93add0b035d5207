"""The store contract against the in-memory store, plus its outage switch."""

from __future__ import annotations

import pytest

from adapters.memory_store import MemoryStore, memory_stores
from services.ports import StoreUnavailable
from tests.contract.store_contract import StoreContract


class TestMemoryStore(StoreContract):
    def make_store(self) -> MemoryStore:
        return MemoryStore()


def test_fail_next_makes_exactly_that_many_transactions_fail() -> None:
    store = MemoryStore()
    store.fail_next(2)
    for _ in range(2):
        with pytest.raises(StoreUnavailable), store.transaction():
            pass
    with store.transaction() as tx:
        tx.seed_stock("p", 1)
    assert store.stock == {"p": 1}


def test_memory_stores_gives_each_service_its_own_store() -> None:
    stores = memory_stores()
    assert sorted(stores) == ["inventory", "order", "payment"]
    assert len({id(s) for s in stores.values()}) == 3
