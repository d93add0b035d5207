"""Producer tuning: a grid of librdkafka settings measured on a real broker (``kafkalab tune``), and a
deterministic batch-formation model of the same grid (``--mode sim``, a model, not a measurement).

A lab's check calls the library directly: build a ``GridSpec`` (or one ``Cell``), ``measure_grid`` it,
and ask ``meets_target`` whether a cell reached a throughput and a p99 at the same time.
"""
