"""connectivity: ENOTFOUND. Host clients bootstrap through the container-only name, or reach the broker
and are handed an advertised listener they cannot resolve. Fix: use the listener meant for the host."""

from scenarios.labs.connectivity.story import LAB

__all__ = ["LAB"]
