"""The group machine must catch a coordinator that hands a partition to its new owner before the old
owner revoked it, under each protocol, and shrink the schedule to a short script that replays it.

Both bugs are test-only coordinators (``Cluster.group_class``):

- ``ConsumerProtocolHandingOverEarly``: under ``group.protocol=consumer`` a heartbeat hands a member its
  target partitions at once, though another member still holds them (the broker must wait until the
  owner's heartbeat acknowledged the revocation);
- ``ClassicCompletingEarly``: the classic coordinator completes a rebalance without waiting for every
  member to rejoin, so an eager member that has not heard of it yet keeps partitions handed to others.
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, run_state_machine_as_test

from sim.consumer_protocol import ConsumerProtocol
from sim.group import Group

from .group_support import TWO_OWNERS, GroupLab, replay
from .test_group_machine import GroupMachine


class HandsOverBeforeRevocation(ConsumerProtocol):
    def heartbeat(self, member):
        self._refresh_targets()
        target = self.targets.get(member.member_id, [])
        member.generation = self.target_epoch
        member.next_heartbeat_ms = self.group.cluster.clock.now_ms() + \
            self.group.cluster.broker.group_consumer_heartbeat_interval_ms
        return sorted(target)  # the bug: no wait for the previous owner to revoke


class ConsumerProtocolHandingOverEarly(Group):
    def join_consumer(self, **kwargs):
        if self.kip848 is None and not self.members:
            self.kip848 = HandsOverBeforeRevocation(self)
        return super().join_consumer(**kwargs)


class ClassicCompletingEarly(Group):
    def maybe_complete(self) -> None:
        if self.kip848 is None and self.state == "PreparingRebalance":
            for m in self.members.values():
                m.rejoined = True  # the bug: no waiting for the others' JoinGroup
        super().maybe_complete()


def machine_with(group_class: type[Group], protocols: list[str]) -> type[GroupMachine]:
    class Buggy(GroupMachine):
        @initialize(protocol=st.sampled_from(protocols), seed=st.just(0))
        def open_lab(self, protocol: str, seed: int) -> None:
            self.lab = GroupLab(protocol, seed, group_class=group_class)

    Buggy.group_class = group_class
    Buggy.__name__ = f"GroupMachineWith{group_class.__name__}"
    return Buggy


BOUNDED = settings(
    max_examples=500,  # found within a few dozen; the bound keeps a regression from hanging
    stateful_step_count=12,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    report_multiple_bugs=False,
    phases=[Phase.generate, Phase.shrink],  # shrinking is the point: a short script; explaining costs seconds
)


@pytest.mark.parametrize(("group_class", "protocols"), [
    (ConsumerProtocolHandingOverEarly, ["consumer-range", "consumer-uniform"]),
    (ClassicCompletingEarly, ["classic-eager-range", "classic-eager-roundrobin"]),
], ids=["consumer-protocol", "classic-eager"])
def test_the_machine_catches_a_partition_handed_over_before_revocation(group_class, protocols) -> None:
    machine = machine_with(group_class, protocols)
    with pytest.raises(AssertionError, match=re.escape(TWO_OWNERS)):
        run_state_machine_as_test(machine, settings=BOUNDED)
    script = json.loads(machine.last_script)
    assert len(script["steps"]) <= 6, f"not shrunk to a short script: {script['steps']}"
    with pytest.raises(AssertionError, match=re.escape(TWO_OWNERS)):
        replay(script, group_class=group_class)
    replay(script)  # the same schedule is harmless to the real coordinator: the bug broke it
