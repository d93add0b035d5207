"""happy-path: the seed's first curl. One order flows through payment and inventory to COMPLETED."""

from scenarios.labs.happy_path.story import LAB

__all__ = ["LAB"]
