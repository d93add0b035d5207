"""Real infrastructure without Docker: a local Apache Kafka from Maven Central jars, and PostgreSQL."""
