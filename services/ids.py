"""Where new ids come from. Services never call uuid4 or random themselves: they are given one of these,
so the simulator can hand them a seeded generator and replay a run byte for byte."""

from __future__ import annotations

import random
import uuid
from typing import Protocol


class IdGenerator(Protocol):
    def new_id(self) -> str:
        """A fresh unique id (a uuid string)."""
        ...


class SeededIds:
    """Deterministic uuids from a private ``random.Random(seed)``: same seed, same ids."""

    def __init__(self, seed: int | str) -> None:
        self._rng = random.Random(f"kafkalab-ids/{seed}")

    def new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))


class RandomIds:
    """uuid4s, for real deployments (kafka mode), where runs need not repeat."""

    def new_id(self) -> str:
        return str(uuid.uuid4())
