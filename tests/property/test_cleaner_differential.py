"""Differential test of the simulated log cleaner against a plain list of everything produced.

Hypothesis produces keyed values and tombstones, rolls segments and lets virtual time pass, in any
order; after every step the compacted log must still be a faithful subset of what was produced: same
offsets and content, the active segment untouched, every key's latest value kept, and a record gone
only if a later record with its key exists (or it was a tombstone past delete.retention.ms).
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from services.ports import ProducerConfig
from sim import World

CONFIG = {"cleanup.policy": "compact", "segment.ms": "100", "min.cleanable.dirty.ratio": "0.2",
          "delete.retention.ms": "300", "min.compaction.lag.ms": "0"}
KEYS = [b"a", b"b", b"c", b"d"]


class CleanerDifferential(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.world = World(seed=0, trace=False)
        self.world.create_topic("t", 1, CONFIG)
        self.producer = self.world.producer(ProducerConfig(linger_ms=0))
        self.produced: list[tuple[bytes, bytes | None]] = []  # offset -> (key, value)
        self.log = self.world.cluster.log("t", 0)

    @rule(key=st.sampled_from(KEYS), tombstone=st.booleans(), count=st.integers(1, 3))
    def produce(self, key: bytes, tombstone: bool, count: int) -> None:
        for _ in range(count):
            value = None if tombstone else f"v{len(self.produced)}".encode()
            self.producer.produce("t", value, key=key)
            self.produced.append((key, value))
        self.producer.flush()

    @rule(ms=st.sampled_from([50, 150, 400, 1_000]))
    def let_time_pass(self, ms: int) -> None:
        self.world.run_for(ms)

    @invariant()
    def the_log_is_a_faithful_subset_of_what_was_produced(self) -> None:
        offsets = self.log.offsets
        assert offsets == sorted(set(offsets)), "offsets strictly increase"
        assert self.log.high_watermark == len(self.produced) and self.log.log_start == 0
        for offset, key, value in zip(offsets, self.log.keys, self.log.values, strict=True):
            assert self.produced[offset] == (key, value), f"offset {offset} changed its content"

    @invariant()
    def the_active_segment_is_never_cleaned(self) -> None:
        active = self.log.segments[-1].base
        assert [o for o in self.log.offsets if o >= active] == list(range(active, len(self.produced)))

    @invariant()
    def a_record_goes_only_when_superseded_or_an_expired_tombstone(self) -> None:
        kept = set(self.log.offsets)
        latest = {key: offset for offset, (key, _) in enumerate(self.produced)}
        for offset, (key, value) in enumerate(self.produced):
            if offset in kept:
                continue
            superseded = latest[key] > offset
            assert superseded or value is None, f"offset {offset} ({key!r}) removed though it is the latest value"


TestCleanerDifferential = CleanerDifferential.TestCase
