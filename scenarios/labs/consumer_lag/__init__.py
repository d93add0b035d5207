"""consumer-lag: a steady load against a deliberately slow inventory service. One instance falls behind;
as many as partitions drain the lag; more than the partition count leaves members idle."""

from scenarios.labs.consumer_lag.story import LAB

__all__ = ["LAB"]
