"""Complete sagas per second through the simulator on one core (trace on): the ``sagas/s`` figure.

Run as ``python -m tests.bench_sagas``; prints figures, asserts nothing. ``--profile`` prints where
the time goes (cProfile, top functions by own time).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

from adapters.memory_store import MemoryStore
from adapters.sim_broker import SimBroker
from services.ids import SeededIds
from services.ports import OrderStatus
from services.shop import KINDS, build_shop
from sim import World


def run(orders: int, instances: int, trace: bool, seed: int = 1) -> dict:
    world = World(seed=seed, trace=trace)
    broker = SimBroker(world)
    stores = {kind: MemoryStore() for kind in KINDS}
    shop = build_shop(broker, stores, broker.clock, SeededIds(seed), instances=dict.fromkeys(KINDS, instances))
    for service in shop.services:
        world.spawn(service.name, service.step, period_ms=10)
    started = time.perf_counter()
    for i in range(orders):
        body = {"customerId": f"cust_{i % 97}", "productId": f"prod_load_{i % 10:02d}", "quantity": 1,
                "amount": 10.00 + i % 50}
        shop.place_order(body, publish=False)  # the order service's next step publishes the outbox
    placed = time.perf_counter()
    steps = world.run_until_idle(max_steps=50_000_000)
    elapsed = time.perf_counter() - started
    completed = len(shop.orders(OrderStatus.COMPLETED))
    return {
        "orders": orders, "completed": completed, "instances": instances, "trace": trace, "steps": steps,
        "seconds": elapsed, "place_seconds": placed - started, "sagas_per_s": completed / elapsed,
        "virtual_ms": world.clock.now_ms(), "trace_lines": len(world.trace.lines()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--instances", type=int, default=1, help="instances of each service")
    parser.add_argument("--no-trace", action="store_true")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
    r = run(args.orders, args.instances, not args.no_trace)
    if args.profile:
        profiler.disable()
    print(f"sagas/s: {r['sagas_per_s']:,.0f}  ({r['completed']:,}/{r['orders']:,} sagas completed in "
          f"{r['seconds']:.2f}s wall, placing {r['place_seconds']:.2f}s; {r['instances']} instance(s) per service; "
          f"trace {'on' if r['trace'] else 'off'}, {r['trace_lines']:,} lines; {r['steps']:,} scheduler steps; "
          f"{r['virtual_ms']:,} virtual ms)")
    if args.profile:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
