"""Where new ids come from. Services never call uuid4 or random themselves: they are given one of these,
so the simulator can hand them a seeded generator and replay a run byte for byte."""

from __future__ import annotations

import random
import uuid
from typing import Protocol

# A version 4 uuid's fixed bits, as uuid.UUID(version=4) sets them: the variant (10) and the version (4).
_V4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_V4_SET = (0x8000 << 48) | (4 << 76)


class IdGenerator(Protocol):
    def new_id(self) -> str:
        """A fresh unique id (a uuid string)."""
        ...


class SeededIds:
    """Deterministic uuids from a private ``random.Random(seed)``: same seed, same ids."""

    def __init__(self, seed: int | str) -> None:
        self._rng = random.Random(f"kafkalab-ids/{seed}")

    def new_id(self) -> str:
        # str(uuid.UUID(int=bits, version=4)), formatted by hand: the uuid class is slow per order.
        bits = (self._rng.getrandbits(128) & _V4_CLEAR) | _V4_SET
        h = f"{bits:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class RandomIds:
    """uuid4s, for real deployments (kafka mode), where runs need not repeat."""

    def new_id(self) -> str:
        return str(uuid.uuid4())
