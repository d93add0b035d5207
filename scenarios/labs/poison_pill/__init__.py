"""poison-pill: a record the consumer cannot handle must go to a DLQ, and the consumer must move on."""

from scenarios.labs.poison_pill.story import LAB

__all__ = ["LAB"]
