"""The consumer group protocols under any schedule: a Hypothesis state machine over the simulator's
classic protocol (eager range and roundrobin, cooperative-sticky) and ``group.protocol=consumer``
(KIP-848, with the broker's uniform and range assignors).

Members join (dynamic or static), poll, commit, leave, crash, stall past ``max.poll.interval.ms``,
restart with the same ``group.instance.id`` or a new one, a duplicate instance id joins, time passes
(sessions run out), partitions are added and records are produced. What must hold after every step is
in tests/property/group_support.py; a failure prints the run as a replayable JSON script.
"""

from __future__ import annotations

from hypothesis import HealthCheck, event, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from .group_support import MAX_PARTITIONS, MAX_POLL_MS, PROTOCOLS, SESSION_MS, TOPICS, GroupLab

MAX_LIVE = 4
pick = st.integers(0, MAX_LIVE - 1)  # which live member: shrinks towards the first


class GroupMachine(RuleBasedStateMachine):
    group_class = None  # the planted-bug tests swap in a broken coordinator
    last_script: str | None = None  # the latest run's script: Hypothesis runs the shrunk failure last

    def __init__(self) -> None:
        super().__init__()
        self.lab: GroupLab | None = None
        self.broken = False  # a step or check failed: teardown must not mask it with another failure

    @initialize(protocol=st.sampled_from(sorted(PROTOCOLS)), seed=st.integers(0, 3))
    def open_lab(self, protocol: str, seed: int) -> None:
        kwargs = {} if self.group_class is None else {"group_class": self.group_class}
        self.lab = GroupLab(protocol, seed, **kwargs)

    def do(self, op: str, **args) -> None:
        self.broken = True
        self.lab.apply({"op": op, **args})
        self.broken = False

    def member(self, i: int) -> str:
        names = self.lab.live_names()
        return names[i % len(names)]

    def has_live(self) -> bool:
        return self.lab is not None and bool(self.lab.live_names())

    def has_static(self) -> bool:
        return self.lab is not None and any(h.instance_id and self.lab.is_member(h) for h in self.lab.live())

    def has_room(self) -> bool:
        return self.lab is not None and len(self.lab.live_names()) < MAX_LIVE

    # ------------------------------------------------------------ members
    @precondition(has_room)
    @rule(static=st.booleans())
    def join(self, static: bool) -> None:
        self.do("join", instance=self.lab._new_instance_id() if static else None)

    @precondition(has_live)
    @rule(i=pick, max_records=st.sampled_from((1, 5, 50)))
    def poll(self, i: int, max_records: int) -> None:
        self.do("poll", name=self.member(i), max_records=max_records)

    @precondition(has_live)
    @rule(i=pick)
    def commit(self, i: int) -> None:
        self.do("commit", name=self.member(i))

    @precondition(has_live)
    @rule(i=pick)
    def leave(self, i: int) -> None:
        self.do("leave", name=self.member(i))

    @precondition(has_live)
    @rule(i=pick)
    def crash(self, i: int) -> None:
        self.do("crash", name=self.member(i))

    @precondition(has_live)
    @rule(i=pick)
    def stall(self, i: int) -> None:
        self.do("stall", name=self.member(i))

    @precondition(has_live)
    @rule(i=pick, crash=st.booleans(), same_id=st.booleans())
    def restart(self, i: int, crash: bool, same_id: bool) -> None:
        self.do("restart", name=self.member(i), crash=crash, same_id=same_id)

    @precondition(has_static)
    @rule(i=pick)
    def duplicate(self, i: int) -> None:
        statics = [h.name for h in self.lab.live() if h.instance_id and self.lab.is_member(h)]
        self.do("duplicate", name=statics[i % len(statics)])

    # ------------------------------------------------------------ the world
    @precondition(lambda self: self.lab is not None)
    @rule(ms=st.sampled_from((100, 1_000, SESSION_MS + 1, MAX_POLL_MS + 1)))
    def advance(self, ms: int) -> None:
        self.do("advance", ms=ms)

    @precondition(lambda self: self.lab is not None)
    @rule(topic=st.sampled_from(sorted(TOPICS)))
    def add_partitions(self, topic: str) -> None:
        if len(self.lab.cluster.topic(topic).partitions) < MAX_PARTITIONS:
            self.do("add_partitions", topic=topic)

    @precondition(lambda self: self.lab is not None)
    @rule(topic=st.sampled_from(sorted(TOPICS)), count=st.integers(1, 6))
    def produce(self, topic: str, count: int) -> None:
        self.do("produce", topic=topic, count=count)

    @precondition(has_live)
    @rule()
    def settle(self) -> None:
        self.do("settle")

    # ------------------------------------------------------------ checks
    @invariant()
    def group_invariants(self) -> None:
        if self.lab is not None:
            self.broken = True
            self.lab.check()
            self.broken = False

    def teardown(self) -> None:
        if self.lab is None:
            return
        try:
            if self.lab.live_names() and not self.broken:
                self.do("settle")  # in the script, so the replay ends the same way
            self._tell_statistics()
        finally:
            type(self).last_script = self.lab.dumps()
            note(f"replayable script ({len(self.lab.steps)} steps; save it and run "
                 f"`python -m tests.property.group_support FILE`):\n{self.lab.dumps()}")

    def _tell_statistics(self) -> None:
        """What the run exercised (``--hypothesis-show-statistics``): proof the machine is not vacuous."""
        lab = self.lab
        event(f"protocol: {lab.protocol}")
        statuses = {h.status for h in lab.handles.values()}
        for status in ("crashed", "fenced", "refused"):
            event(f"a consumer was {status}: {status in statuses}")
        group = lab.group
        event(f"generations: {'3+' if group and group.generation >= 3 else 'few'}")
        event(f"committed something: {bool(group and any(group.committed.values()))}")


# 100 runs (about a second) unless a long profile asks for more: HYPOTHESIS_PROFILE=explore runs 5,000.
EXAMPLES = settings.default.max_examples if settings.default.max_examples > 1_000 else min(settings.default.max_examples, 100)
GroupMachine.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestGroupMachine = GroupMachine.TestCase
