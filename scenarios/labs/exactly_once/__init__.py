"""exactly-once: a lost ack and a crash between produce and commit make duplicates; idempotence and
transactions remove them, and a zombie is fenced by epoch."""

from scenarios.labs.exactly_once.story import LAB

__all__ = ["LAB"]
