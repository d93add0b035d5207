"""Serialization cost: events/s to encode + decode in JSON and in Avro, and bytes per event.

Run as ``python -m tests.bench_serde``; prints figures, asserts nothing. Avro goes through confluent's
AvroSerializer/AvroDeserializer over the in-process registry (schemas registered once, then cached
as against a real registry), so the figures are the serdes' own cost, not the network's.
"""

from __future__ import annotations

import argparse
import time

from adapters.avro_codec import AvroCodec
from adapters.memory_registry import MemoryRegistry
from adapters.registry_client import MemoryRegistryClient
from services.codec import JSON, Codec
from services.events import Event, Topics
from services.ports import Record


def saga_events(count: int) -> list[Event]:
    """A saga's mix: per order an OrderCreated, PaymentCompleted and InventoryReserved."""
    events = []
    for i in range(count // 3 + 1):
        order = {"orderId": f"order-{i:08d}", "customerId": f"cust_{i % 97}", "productId": "prod_123",
                 "quantity": 1 + i % 5, "amountCents": 25_050 + i}  # fmt: skip
        created = Event.caused_by(order["orderId"], "OrderCreated", **order)
        paid = Event.caused_by(created.event_id, "PaymentCompleted", **order)
        reserved = Event.caused_by(paid.event_id, "InventoryReserved", orderId=order["orderId"],
                                   productId="prod_123", quantity=order["quantity"])  # fmt: skip
        events += [created, paid, reserved]
    return events[:count]


def measure(codec: Codec, events: list[Event], topics: Topics) -> dict:
    codec.encode(events[0], topics)  # registers the schemas (Avro) before the clock starts
    started = time.perf_counter()
    encoded = [codec.encode(event, topics) for event in events]
    encoding = time.perf_counter() - started
    records = [Record(t, 0, i, k, v, h) for i, (t, k, v, h) in enumerate(encoded)]
    started = time.perf_counter()
    decoded = [codec.decode(record) for record in records]
    decoding = time.perf_counter() - started
    assert decoded == events  # a benchmark of a broken codec would measure nothing
    value_bytes = sum(len(r.value) for r in records)
    return {
        "codec": codec.name,
        "events_per_s": len(events) / (encoding + decoding),
        "encode_per_s": len(events) / encoding,
        "decode_per_s": len(events) / decoding,
        "value_bytes": value_bytes / len(events),
        "record_bytes": (value_bytes + sum(len(r.key) + sum(len(n) + len(v) for n, v in r.headers) for r in records))
        / len(events),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=30_000)
    args = parser.parse_args(argv)
    events, topics = saga_events(args.events), Topics()
    avro = AvroCodec(MemoryRegistryClient(MemoryRegistry()))
    print(f"serde: {args.events} saga events (OrderCreated, PaymentCompleted, InventoryReserved), one core")
    print(f"{'codec':<6} {'enc+dec ev/s':>13} {'encode ev/s':>12} {'decode ev/s':>12} {'value B/ev':>11} {'record B/ev':>12}")
    results = [measure(codec, events, topics) for codec in (JSON, avro)]
    for r in results:
        print(f"{r['codec']:<6} {r['events_per_s']:>13,.0f} {r['encode_per_s']:>12,.0f} {r['decode_per_s']:>12,.0f} "
              f"{r['value_bytes']:>11.1f} {r['record_bytes']:>12.1f}")  # fmt: skip
    json_r, avro_r = results
    print(f"avro/json: {avro_r['events_per_s'] / json_r['events_per_s']:.2f}x the speed, "
          f"{avro_r['value_bytes'] / json_r['value_bytes']:.2f}x the value bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
