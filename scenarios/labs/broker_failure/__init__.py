"""broker-failure: the leader of a partition dies under load; acknowledged records must survive it."""

from scenarios.labs.broker_failure.story import LAB

__all__ = ["LAB"]
