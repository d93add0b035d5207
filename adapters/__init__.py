"""Implementations of the ports: simulator, confluent-kafka, PostgreSQL and in-memory."""
