"""Record values and keys for the tuning runs, the same for the Python client and the Java perf-test.

Seeded, so every run sends the same bytes. Values are one line of ASCII each (the perf-test reads its
payload file line by line):

- ``json``: order-like events (ids, amounts, a free-text note), compressible as real events are;
- ``random``: random letters and digits, which compress poorly (about 6 bits of entropy per byte).

Keys are ``"0"`` … ``"K-1"`` in turn, exactly what ``kafka-producer-perf-test --key-distribution range
--record-key-range K`` sends, so both clients spread records over the same partitions.
"""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

DISTINCT_PAYLOADS = 200
_WORDS = ("order", "paid", "shipped", "express", "gift", "wrap", "fragile", "return", "window", "door",
          "left", "right", "blue", "green", "large", "small", "monday", "friday", "call", "before")
_ALPHABET = string.ascii_letters + string.digits


def _json_value(rng: random.Random, size: int) -> str:
    event = {
        "orderId": f"{rng.getrandbits(64):016x}",
        "customerId": f"cust_{rng.randrange(5000)}",
        "productId": f"prod_{rng.randrange(200):03d}",
        "quantity": rng.randrange(1, 10),
        "amount": f"{rng.randrange(100, 100_000) / 100:.2f}",
        "note": "",
    }
    text = json.dumps(event, separators=(",", ":"))
    note: list[str] = []
    while len(text) + len(" ".join(note)) < size:
        note.append(rng.choice(_WORDS))
    event["note"] = " ".join(note)
    text = json.dumps(event, separators=(",", ":"))
    return text[:size] if len(text) >= size else text + " " * (size - len(text))


def _random_value(rng: random.Random, size: int) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(size))


def payloads(kind: str, size: int, *, seed: int = 13, count: int = DISTINCT_PAYLOADS) -> list[bytes]:
    """``count`` distinct values of exactly ``size`` bytes."""
    rng = random.Random(seed)
    make = _json_value if kind == "json" else _random_value
    return [make(rng, size).encode("ascii") for _ in range(count)]


def keys(spread: int) -> list[bytes]:
    return [str(i).encode("ascii") for i in range(spread)]


def write_payload_file(values: list[bytes], path: Path) -> Path:
    path.write_bytes(b"\n".join(values) + b"\n")
    return path
