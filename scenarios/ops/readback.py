"""Reading topics back through the broker port: every record up to the end offsets seen at the start,
through a fresh consumer group that never commits (so nothing is left behind but an empty group)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from services.ports import Broker, ConsumerConfig, Record, TopicPartition


def read_topics(broker: Broker, topics: Sequence[str], group: str, *, wait: Callable[[], bool],
                poll_timeout_s: float = 0.5) -> dict[str, list[Record]]:
    """Physical topic -> its records (partition by partition, in offset order as polled).

    ``wait`` runs between polls (the simulator lets virtual time pass there) and returns False once
    the caller's deadline is over; what was read by then is returned.
    """
    admin = broker.admin()
    seen: dict[str, list[Record]] = {t: [] for t in topics}
    names = admin.list_topics()
    existing = [t for t in topics if t in names]  # e.g. no service lived to create them
    ends = {tp: end for tp, end in admin.end_offsets(existing).items() if end > 0} if existing else {}
    if not ends:
        return seen
    consumer = broker.consumer(ConsumerConfig(group_id=group, client_id="kafkalab-reader"))
    consumer.subscribe(existing)
    positions: dict[TopicPartition, int] = {}
    try:
        while any(positions.get(tp, 0) < end for tp, end in ends.items()):
            if not wait():
                break
            for r in consumer.poll(1000, timeout=poll_timeout_s):
                if r.offset < ends.get(r.tp, 0):
                    seen[r.topic].append(r)
                positions[r.tp] = max(positions.get(r.tp, 0), r.offset + 1)
            for tp in ends:
                pos = consumer.position(tp)
                if pos is not None and pos >= ends[tp]:
                    positions[tp] = max(positions.get(tp, 0), pos)
    finally:
        consumer.close()
    return seen
