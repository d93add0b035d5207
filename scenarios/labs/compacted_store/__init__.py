"""compacted-store: a compacted topic as the durable store of each customer's current profile."""

from scenarios.labs.compacted_store.story import LAB

__all__ = ["LAB"]
