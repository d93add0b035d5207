"""Consumer groups in the simulator: assignors, rebalances, fencing, static members, redelivery."""

from __future__ import annotations

import pytest

from services.ports import CommitFailed, ConsumerConfig, RebalanceInProgress, TopicPartition
from sim import ClientClosed, OffsetOutOfRange, World
from sim.assignors import range_assign, roundrobin_assign, sticky_target

SESSION = 10_000
MAX_POLL = 30_000


def make_world(partitions: int = 6, records: int = 0, seed: int = 1) -> World:
    w = World(seed=seed)
    w.create_topic("t", partitions)
    if records:
        p = w.producer()
        for i in range(records):
            p.produce("t", f"v{i}".encode(), partition=i % partitions)
        p.flush()
    return w


def member(w: World, assignor: str = "range", **kw) -> object:
    cfg = ConsumerConfig("g", session_timeout_ms=SESSION, max_poll_interval_ms=MAX_POLL, assignor=assignor, **kw)
    c = w.consumer(cfg)
    c.subscribe(["t"])
    return c


def settle(*consumers, rounds: int = 4, max_records: int = 0) -> list:
    """Poll each consumer a few times so a rebalance completes; returns what was fetched."""
    got = []
    for _ in range(rounds):
        for c in consumers:
            got.extend(c.poll(max_records))
    return got


def next_heartbeat(w: World) -> None:
    """A member hears of a rebalance begun while it was working in its next heartbeat's answer."""
    w.run_for(ConsumerConfig("g").heartbeat_interval_ms)


def owned(c) -> list[int]:
    return [tp.partition for tp in c.assignment()]


# ---------------------------------------------------------------- assignors


def test_range_gives_first_members_one_extra_partition_per_topic() -> None:
    out = range_assign({"b": ("t", "u"), "a": ("t", "u")}, {"t": 3, "u": 5})
    assert out["a"] == [("t", 0), ("t", 1), ("u", 0), ("u", 1), ("u", 2)]
    assert out["b"] == [("t", 2), ("u", 3), ("u", 4)]


def test_roundrobin_deals_partitions_across_topics() -> None:
    out = roundrobin_assign({"a": ("t", "u"), "b": ("t", "u")}, {"t": 3, "u": 2})
    assert out == {"a": [("t", 0), ("t", 2), ("u", 1)], "b": [("t", 1), ("u", 0)]}


def test_sticky_target_keeps_owned_partitions_and_balances() -> None:
    owned_now = {"a": [("t", p) for p in range(6)], "b": []}
    out = sticky_target({"a": ("t",), "b": ("t",)}, {"t": 6}, owned_now)
    assert out["a"] == [("t", 0), ("t", 1), ("t", 2)]
    assert len(out["b"]) == 3


# ---------------------------------------------------------------- rebalances


def test_single_member_gets_every_partition_on_first_poll() -> None:
    w = make_world(records=12)
    c = member(w)
    assert len(c.poll(100)) == 12
    assert owned(c) == [0, 1, 2, 3, 4, 5]


def test_join_rebalances_range_with_members_sorted_by_id() -> None:
    w = make_world()
    a, b = member(w), member(w)
    settle(a, b)
    first, second = sorted([a, b], key=lambda c: c.member_id)
    assert owned(first) == [0, 1, 2] and owned(second) == [3, 4, 5]
    assert w.cluster.groups["g"].generation == 2


def test_eager_rebalance_revokes_everything_then_assigns_from_inside_poll() -> None:
    w = make_world()
    events = []
    a = w.consumer(ConsumerConfig("g"))
    a.subscribe(["t"], on_assign=lambda tps: events.append(("assign", len(tps))),
                on_revoke=lambda tps: events.append(("revoke", len(tps))))
    a.poll()
    assert events == [("assign", 6)]
    b = member(w)
    b.poll()
    assert events == [("assign", 6)], "callbacks only run inside the member's own poll"
    a.poll()
    assert events == [("assign", 6), ("revoke", 6), ("assign", 3)]


def test_commit_inside_on_revoke_succeeds_during_eager_rebalance() -> None:
    w = make_world(records=12)
    a = w.consumer(ConsumerConfig("g", session_timeout_ms=SESSION, max_poll_interval_ms=MAX_POLL))
    a.subscribe(["t"], on_revoke=lambda tps: a.commit())
    assert len(a.poll(100)) == 12
    b = member(w)
    settle(a, b)
    assert sum(w.cluster.groups["g"].committed.values()) == 12
    assert len(b.assignment()) == 3


def test_cooperative_sticky_revokes_only_moved_partitions_in_two_rounds() -> None:
    w = make_world()
    revoked, assigned = [], []
    a = w.consumer(ConsumerConfig("g", assignor="cooperative-sticky"))
    a.subscribe(["t"], on_revoke=lambda tps: revoked.append(sorted(tp.partition for tp in tps)),
                on_assign=lambda tps: assigned.append(sorted(tp.partition for tp in tps)))
    a.poll()
    b = member(w, assignor="cooperative-sticky")
    settle(a, b)
    assert revoked == [[3, 4, 5]]
    # librdkafka calls the incremental assign callback after every rebalance, even with nothing new
    assert assigned == [[0, 1, 2, 3, 4, 5], [], []]
    assert owned(a) == [0, 1, 2] and owned(b) == [3, 4, 5]
    rounds = [e for e in w.trace.events("rebalance_done")]
    assert len(rounds) == 3  # a alone, then the two cooperative rounds


def test_cooperative_member_can_commit_revoked_partitions_in_on_revoke() -> None:
    w = make_world(records=12)
    a = w.consumer(ConsumerConfig("g", assignor="cooperative-sticky"))
    a.subscribe(["t"], on_revoke=lambda tps: a.commit({tp: a.position(tp) for tp in tps}))
    assert len(a.poll(100)) == 12
    b = member(w, assignor="cooperative-sticky")
    settle(a, b)
    committed = w.cluster.groups["g"].committed
    assert {p: committed[("t", p)] for p in (3, 4, 5)} == {3: 2, 4: 2, 5: 2}
    assert owned(b) == [3, 4, 5]


def test_leave_on_close_rebalances_at_once() -> None:
    w = make_world()
    a, b = member(w), member(w)
    settle(a, b)
    b.close()
    settle(a)
    assert owned(a) == [0, 1, 2, 3, 4, 5]
    with pytest.raises(ClientClosed):
        b.poll()


def test_crashed_member_is_removed_only_after_session_timeout() -> None:
    w = make_world()
    a, b = member(w), member(w)
    settle(a, b)
    w.faults.crash(b)
    w.run_for(SESSION - 1)
    assert len(w.cluster.groups["g"].members) == 2
    w.run_for(1)
    assert len(w.cluster.groups["g"].members) == 1
    next_heartbeat(w)
    settle(a)
    assert owned(a) == [0, 1, 2, 3, 4, 5]


def test_redelivers_uncommitted_records_after_member_crash() -> None:
    w = make_world(partitions=2, records=20)
    a, b = member(w), member(w)
    settle(a, b)
    a.commit()
    b.commit()
    got_a = a.poll(100)
    a.commit({TopicPartition(r.topic, r.partition): r.offset + 1 for r in got_a[:2]})
    w.faults.crash(a)
    w.run_for(SESSION)
    next_heartbeat(w)
    redelivered = settle(b, max_records=100)
    assert sorted(r.offset for r in redelivered if r.partition == got_a[0].partition) == list(range(2, 10))


def test_stalled_member_is_removed_and_its_commit_fails() -> None:
    w = make_world(records=12)
    a, b = member(w), member(w)
    settle(a, b)
    for _ in range(4):
        w.clock.sleep(MAX_POLL // 4)
        b.poll()
    assert a.member_id not in w.cluster.groups["g"].members
    with pytest.raises(CommitFailed) as info:
        a.commit({a.assignment()[0]: 0})
    assert not isinstance(info.value, RebalanceInProgress)
    assert owned(b) == [0, 1, 2, 3, 4, 5]


def test_fenced_member_commit_is_rejected() -> None:
    w = make_world(records=12)
    a, b = member(w), member(w)
    settle(a, b)
    mine = a.assignment()[0]
    w.clock.sleep(MAX_POLL)
    settle(b)
    with pytest.raises(CommitFailed):
        a.commit({mine: 1})
    a.poll()  # rejoins as a new member, having lost its partitions
    settle(a, b)
    assert a.member_id in w.cluster.groups["g"].members


def test_commit_of_a_partition_the_member_does_not_own_is_rejected() -> None:
    w = make_world()
    a, b = member(w), member(w)
    settle(a, b)
    theirs = b.assignment()[0]
    with pytest.raises(CommitFailed):
        a.commit({theirs: 0})


def test_commit_after_rejoining_raises_rebalance_in_progress() -> None:
    w = make_world(records=12)
    a = member(w, assignor="cooperative-sticky")
    a.poll()
    b = member(w, assignor="cooperative-sticky")
    b.poll()  # b joined: a rebalance is in progress; a has not rejoined yet
    a.commit()  # still allowed: the usual commit-in-on_revoke pattern
    w.cluster.groups["g"].rejoin(w.cluster.groups["g"].members[a.member_id])
    with pytest.raises(RebalanceInProgress):
        a.commit({a.assignment()[0]: 1})


def test_static_member_restart_keeps_assignment_without_rebalance() -> None:
    w = make_world()
    a = member(w, group_instance_id="svc-a")
    b = member(w, group_instance_id="svc-b")
    settle(a, b)
    before = owned(a)
    generation = w.cluster.groups["g"].generation
    a.close()  # static: no LeaveGroup
    assert w.cluster.groups["g"].state == "Stable"
    w.run_for(SESSION // 2)
    a2 = member(w, group_instance_id="svc-a")
    settle(a2, b)
    assert owned(a2) == before
    assert w.cluster.groups["g"].generation == generation
    assert not w.trace.events("member_removed")


def test_static_member_that_stays_away_past_session_timeout_is_removed() -> None:
    w = make_world()
    a = member(w, group_instance_id="svc-a")
    b = member(w, group_instance_id="svc-b")
    settle(a, b)
    a.close()
    w.run_for(SESSION)
    next_heartbeat(w)
    settle(b)
    assert owned(b) == [0, 1, 2, 3, 4, 5]


# ---------------------------------------------------------------- offsets


def test_auto_offset_reset_latest_skips_existing_records() -> None:
    w = make_world(records=6)
    c = member(w, auto_offset_reset="latest")
    assert c.poll() == []
    p = w.producer()
    p.produce("t", b"new", partition=0)
    p.flush()
    assert [r.value for r in c.poll()] == [b"new"]


def test_auto_offset_reset_error_raises_without_committed_offset() -> None:
    w = make_world(records=6)
    c = member(w, auto_offset_reset="error")
    with pytest.raises(OffsetOutOfRange):
        c.poll()


def test_committed_offset_is_where_the_next_member_starts() -> None:
    w = make_world(partitions=1, records=10)
    a = member(w)
    a.poll(4)
    a.commit()
    a.close()
    b = member(w)
    assert [r.offset for r in b.poll()] == list(range(4, 10))


def test_subscribed_missing_topic_is_reported_once_then_assigned_when_created() -> None:
    from services.ports import UnknownTopic

    w = World(seed=1)
    c = w.consumer(ConsumerConfig("g"))
    c.subscribe(["late"])
    with pytest.raises(UnknownTopic):
        c.poll()
    assert c.poll() == []
    w.create_topic("late", 2)
    p = w.producer()
    p.produce("late", b"hello", partition=1)
    p.flush()
    assert [(r.partition, r.value) for r in c.poll()] == [(1, b"hello")]
