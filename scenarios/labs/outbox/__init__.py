"""outbox: the dual write (database, then Kafka, or the other way round) and the transactional outbox."""

from scenarios.labs.outbox.story import LAB

__all__ = ["LAB"]
