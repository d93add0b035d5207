"""chaos: a seeded storm of faults over seeded orders; every saga invariant must still hold."""

from scenarios.labs.chaos.story import LAB

__all__ = ["LAB"]
