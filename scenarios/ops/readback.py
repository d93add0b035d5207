"""Reading topics back through the broker port: every record up to the end offsets seen at the start,
through a fresh consumer group that never commits (so nothing is left behind but an empty group)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from services.ports import Broker, BrokerError, ConsumerConfig, Record, TopicPartition


def read_topics(broker: Broker, topics: Sequence[str], group: str, *, wait: Callable[[], bool],
                poll_timeout_s: float = 0.5) -> dict[str, list[Record]]:
    """Physical topic -> its records (partition by partition, in offset order as polled).

    ``wait`` runs between polls and between retries (the simulator lets virtual time pass there) and
    returns False once the caller's deadline is over; what was read by then is returned. A broker
    that answers "not leader" for a topic created a moment ago is asked again.
    """
    seen: dict[str, list[Record]] = {t: [] for t in topics}
    while True:
        try:
            admin = broker.admin()
            names = admin.list_topics()
            existing = [t for t in topics if t in names]  # e.g. no service lived to create them
            ends = {tp: end for tp, end in admin.end_offsets(existing).items() if end > 0} if existing else {}
            break
        except BrokerError:
            if not wait():
                return seen
    if not ends:
        return seen
    consumer = broker.consumer(ConsumerConfig(group_id=group, client_id="kafkalab-reader"))
    positions: dict[TopicPartition, int] = {}
    try:
        consumer.subscribe(existing)
        while any(positions.get(tp, 0) < end for tp, end in ends.items()):
            if not wait():
                break
            try:
                for r in consumer.poll(1000, timeout=poll_timeout_s):
                    if r.offset < ends.get(r.tp, 0):
                        seen[r.topic].append(r)
                    positions[r.tp] = max(positions.get(r.tp, 0), r.offset + 1)
                for tp in ends:
                    pos = consumer.position(tp)
                    if pos is not None and pos >= ends[tp]:
                        positions[tp] = max(positions.get(tp, 0), pos)
            except BrokerError:
                continue  # a passing trouble (this reader's group forming, a leader moving): try again
    finally:
        consumer.close()
    return seen
