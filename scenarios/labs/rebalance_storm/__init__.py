"""rebalance-storm: a consumer group whose batches sometimes outlast max.poll.interval.ms, and a rolling
restart. Eager, dynamic members stop the whole group at every restart and every slow batch; static
membership, cooperative-sticky and a bounded batch keep it working; the consumer protocol (KIP-848)
is compared on the same figures."""

from scenarios.labs.rebalance_storm.story import LAB

__all__ = ["LAB"]
