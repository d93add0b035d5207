"""Partition assignors: range, roundrobin and cooperative-sticky, as Kafka's clients compute them.

Each takes the members (member id -> subscribed topics), the partition count of every topic, and
(for sticky) what each member owns now; it returns member id -> sorted list of (topic, partition).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

TP = tuple[str, int]


def range_assign(subs: Mapping[str, Sequence[str]], counts: Mapping[str, int]) -> dict[str, list[TP]]:
    """Per topic: members sorted by id get contiguous ranges; the first ``n % m`` get one extra."""
    out: dict[str, list[TP]] = {m: [] for m in subs}
    for topic in sorted({t for ts in subs.values() for t in ts}):
        n = counts.get(topic, 0)
        members = sorted(m for m, ts in subs.items() if topic in ts)
        if not members or not n:
            continue
        per, extra = divmod(n, len(members))
        start = 0
        for i, member in enumerate(members):
            size = per + (1 if i < extra else 0)
            out[member].extend((topic, p) for p in range(start, start + size))
            start += size
    return {m: sorted(tps) for m, tps in out.items()}


def roundrobin_assign(subs: Mapping[str, Sequence[str]], counts: Mapping[str, int]) -> dict[str, list[TP]]:
    """All partitions sorted by (topic, partition), dealt to members in id order, skipping non-subscribers."""
    out: dict[str, list[TP]] = {m: [] for m in subs}
    members = sorted(subs)
    if not members:
        return out
    turn = 0
    for topic in sorted({t for ts in subs.values() for t in ts}):
        for p in range(counts.get(topic, 0)):
            for _ in range(len(members)):
                member = members[turn % len(members)]
                turn += 1
                if topic in subs[member]:
                    out[member].append((topic, p))
                    break
    return out


def sticky_target(subs: Mapping[str, Sequence[str]], counts: Mapping[str, int],
                  owned: Mapping[str, Sequence[TP]]) -> dict[str, list[TP]]:
    """A balanced assignment that moves as few owned partitions as possible."""
    members = sorted(subs)
    out: dict[str, list[TP]] = {m: [] for m in members}
    if not members:
        return out
    valid = {(t, p) for t in {t for ts in subs.values() for t in ts} for p in range(counts.get(t, 0))}
    total = len(valid)
    low, extra_slots = divmod(total, len(members))
    claimed: set[TP] = set()
    # Members that own the most keep first, so the members allowed one extra are the big owners.
    for member in sorted(members, key=lambda m: (-len(owned.get(m, ())), m)):
        keep = sorted(tp for tp in owned.get(member, ()) if tp in valid and tp not in claimed and tp[0] in subs[member])
        allowed = low
        if extra_slots and len(keep) > low:
            allowed, extra_slots = low + 1, extra_slots - 1
        out[member] = keep[:allowed]
        claimed.update(out[member])
    for tp in sorted(valid - claimed):
        eligible = [m for m in members if tp[0] in subs[m]]
        if eligible:
            fewest = min(eligible, key=lambda m: (len(out[m]), m))
            out[fewest].append(tp)
    return {m: sorted(tps) for m, tps in out.items()}


def cooperative_round(subs: Mapping[str, Sequence[str]], counts: Mapping[str, int],
                      owned: Mapping[str, Sequence[TP]]) -> tuple[dict[str, list[TP]], bool]:
    """One cooperative round: a partition that must move is withheld until its owner revoked it.

    Returns the assignment and whether anything was withheld (a second round is then needed).
    """
    target = sticky_target(subs, counts, owned)
    owner = {tp: m for m, tps in owned.items() if m in subs for tp in tps}
    withheld = False
    result: dict[str, list[TP]] = {}
    for member, tps in target.items():
        mine = []
        for tp in tps:
            holder = owner.get(tp)
            if holder is not None and holder != member:
                withheld = True
            else:
                mine.append(tp)
        result[member] = mine
    return result, withheld


EAGER = {"range": range_assign, "roundrobin": roundrobin_assign}
ASSIGNORS = ("range", "roundrobin", "cooperative-sticky")
