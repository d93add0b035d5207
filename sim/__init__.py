"""A deterministic, in-process, virtual-time model of Kafka. Standard library only."""
