"""schema-evolution: a new event version against old consumers; the registry's compatibility guards them."""

from scenarios.labs.schema_evolution.story import LAB

__all__ = ["LAB"]
