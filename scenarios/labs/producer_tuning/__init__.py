"""producer-tuning: meet a throughput and a p99 at once by letting librdkafka batch."""

from scenarios.labs.producer_tuning.story import LAB

__all__ = ["LAB"]
