"""stock-rollback: payment succeeds, inventory cannot reserve, the saga compensates with a refund."""

from scenarios.labs.stock_rollback.story import LAB

__all__ = ["LAB"]
