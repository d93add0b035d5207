"""The shop's domain: order, payment and inventory services and the ports they depend on.

Nothing here imports sim, adapters, scenarios, confluent_kafka or psycopg.
"""
