"""The lab's checker, as Jepsen's queue checkers count: per event id, lost, duplicated, read-while-aborted.

Two places are counted:

- the payments log (``payment-events``, read back at the end): an event the payer saw acked but that
  is not in the log is lost; an event id at more than one offset is duplicated;
- downstream (what the auditor, the ledger's reader, read): an event the payer saw acked that was never
  read is lost; an event id read at more than one offset is duplicated; a record read whose
  transaction never committed (its attempt was not committed, or the ledger was transactional and the
  attempt crashed) is read-while-aborted. Reading the same offset twice (after a rebalance) is not a
  duplicate: the log holds it once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from scenarios.engine.observation import Observation
from scenarios.labs.exactly_once.parts import LEDGER, PAYMENTS, header


@dataclass
class Tally:
    lost: list[str] = field(default_factory=list)
    duplicated: dict[str, list[str]] = field(default_factory=dict)  # event id -> where its copies are
    aborted_reads: list[str] = field(default_factory=list)  # "event id at ledger-0@5 (attempt ...)"

    def counts(self) -> dict[str, int]:
        return {"lost": len(self.lost), "duplicated": len(self.duplicated), "read_while_aborted": len(self.aborted_reads)}

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.aborted_reads)

    def detail(self) -> str:
        shown = [f"lost {len(self.lost)}, duplicated {len(self.duplicated)}, "
                 f"read-while-aborted {len(self.aborted_reads)}"]
        for event_id, where in sorted(self.duplicated.items())[:2]:
            shown.append(f"{event_id} at {' and '.join(where)}")
        shown += [f"lost {e}" for e in self.lost[:2]]
        shown += [f"aborted read {a}" for a in self.aborted_reads[:2]]
        return "; ".join(shown)


def notes(obs: Observation, kind: str) -> list[dict[str, Any]]:
    return [n for n in obs.notes if n.get("kind") == kind]


def acked(obs: Observation) -> list[str]:
    return sorted({n["event_id"] for n in notes(obs, "sent")})


def payments_log(obs: Observation) -> Tally:
    copies: dict[str, list[str]] = defaultdict(list)
    for r in obs.records.get(PAYMENTS, []):
        copies[header(r, "event-id")].append(f"{PAYMENTS}-{r.partition}@{r.offset} (producer-seq "
                                             f"{header(r, 'producer-seq')})")
    return Tally(lost=[e for e in acked(obs) if e not in copies],
                 duplicated={e: where for e, where in copies.items() if len(where) > 1})


def downstream(obs: Observation) -> Tally:
    committed = {n["attempt"] for n in notes(obs, "committed")}
    committed |= {n["attempt"] for n in notes(obs, "wrote") if not n.get("transactional")}
    positions: dict[str, dict[tuple[int, int], str]] = defaultdict(dict)
    aborted: dict[tuple[int, int], str] = {}
    for n in notes(obs, "read"):
        at = (n["partition"], n["offset"])
        positions[n["event_id"]][at] = n["attempt"]
        if n["attempt"] not in committed:
            aborted[at] = f"{n['event_id']} at {LEDGER}-{at[0]}@{at[1]} (attempt {n['attempt']})"
    duplicated = {e: [f"{LEDGER}-{p}@{o}" for p, o in sorted(at)] for e, at in positions.items() if len(at) > 1}
    return Tally(lost=[e for e in acked(obs) if e not in positions], duplicated=duplicated,
                 aborted_reads=[aborted[k] for k in sorted(aborted)])


def fencing(obs: Observation) -> list[dict[str, Any]]:
    """What became of each zombie: fenced by the broker (good), or allowed to commit (bad)."""
    return notes(obs, "zombie_fenced") + notes(obs, "zombie_committed") + notes(obs, "fenced")
