"""compacted-store: a profile service (profiles.py) keeps each customer's current profile in a topic and
rebuilds itself from it on restart. Five customers sign up and change, one is deleted (a tombstone),
a keyless record is tried, segments roll (``segment.ms``) and the broker's cleaner or retention does
its work; the log is read twice (after the first cleaning, and after ``delete.retention.ms``), then
the service restarts and must serve exactly what it served before.

The same steps in both worlds: on the simulator its cleaner model works on virtual time; on Kafka the
lab broker runs its cleaner every 500 ms and its retention check every second
(compose/server.properties), so the whole phase takes seconds. Segments roll by record time, so each
wait is followed by a write that rolls the segment and gives the cleaner something to do.
"""

from __future__ import annotations

from typing import Any, Literal

from scenarios.engine.knobs import Knobs, knob
from scenarios.engine.lab import Lab, LabContext, Observed
from scenarios.engine.model import Check, Phase, Step, check
from scenarios.engine.spec import WorldSpec
from scenarios.labs.compacted_store.profiles import ProfileService

PROFILES = "compacted-store/profiles"
CUSTOMERS = 5
DELETED = f"cust_{CUSTOMERS - 1}"
WAIT_DEADLINE_MS = 10_000
MARGIN_MS = 500
NO_SHOP = ("order", "payment", "inventory")  # one component of its own, no saga


class StoreKnobs(Knobs):
    cleanup_policy: Literal["delete", "compact", "compact,delete"] = knob(
        "delete", lesson=True, help="cleanup.policy: delete old segments, or keep the latest record per key")
    retention_ms: int = knob(1_000, ge=-1, help="retention.ms: age after which delete drops a segment (-1: never)")
    segment_ms: int = knob(500, ge=100, le=2_000, help="segment.ms: roll the active segment after this much record time",
                           guard="the lab's waits are sized for segments of at most 2 s")
    min_cleanable_dirty_ratio: float = knob(0.01, ge=0.0, le=1.0,
                                            help="min.cleanable.dirty.ratio: dirty share of the log before cleaning")
    min_compaction_lag_ms: int = knob(0, ge=0, le=600_000,
                                      help="min.compaction.lag.ms: a record is this old before it may be compacted")
    delete_retention_ms: int = knob(2_000, ge=0, le=5_000, help="delete.retention.ms: how long a tombstone outlives "
                                                                "its first cleaning", guard="the lab waits this long once")


def call(action: str, **args: Any) -> Step:
    return Step("call", {"component": PROFILES, "action": action, "args": args})


def profile(i: int, version: int) -> dict[str, Any]:
    return {"customer": f"cust_{i}", "name": f"Customer {i}", "tier": ("bronze", "silver", "gold")[version % 3],
            "version": version}


def story(knobs: StoreKnobs, ctx: LabContext) -> list[Phase]:
    settings = {k: v for k, v in knobs.values().items()}
    steps = [call("create", **settings)]
    steps += [call("put", key=f"cust_{i}", profile=profile(i, 1)) for i in range(CUSTOMERS)]
    steps += [call("put", key=f"cust_{i}", profile=profile(i, 2)) for i in range(CUSTOMERS - 1)]
    steps += [call("delete", key=DELETED), call("put_keyless", profile=profile(99, 1)), call("read"),
              Step("advance", {"ms": knobs.segment_ms + MARGIN_MS}),
              call("put", key="cust_0", profile=profile(0, 3)),  # rolls the segment: the cleaner may start
              call("wait_log", until="one_per_key", deadline_ms=WAIT_DEADLINE_MS),
              Step("advance", {"ms": knobs.delete_retention_ms + MARGIN_MS}),
              call("put", key="cust_1", profile=profile(1, 3)),  # rolls again: new dirty data, a later cleaning
              call("wait_log", until="no_tombstones", deadline_ms=WAIT_DEADLINE_MS),
              call("serve"), call("restart"), call("serve")]
    name = f"cleanup.policy={knobs.cleanup_policy}, retention.ms={knobs.retention_ms}"
    return [Phase(name, WorldSpec(partitions=1, deferred=NO_SHOP), tuple(steps))]


def _results(observed: Observed, action: str) -> list[dict[str, Any]]:
    (obs,) = observed
    return [c["result"] for c in obs.calls if c["action"] == action]


def _restart(observed: Observed) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    serves, restarts = _results(observed, "serve"), _results(observed, "restart")
    before = serves[0]["profiles"] if serves else {}
    after = serves[-1]["profiles"] if len(serves) > 1 else {}
    return before, after, restarts[-1] if restarts else {}


def _loss_hint(restart: dict[str, Any], knobs: StoreKnobs) -> str:
    start = (restart.get("log") or {}).get("log_start", 0)
    return (f"The service rebuilds from the topic, and the topic's log now starts at offset {start}: retention "
            f"deleted whole segments older than retention.ms ({knobs.retention_ms} ms), with the only record of "
            f"customers who had not changed since. Keep the latest record per key instead of the newest time "
            f"window: cleanup_policy = \"compact\".")


def checks(observed: Observed, knobs: StoreKnobs, ctx: LabContext) -> list[Check]:
    before, after, restart = _restart(observed)
    cleaned, later = (_results(observed, "wait_log") + [{}, {}])[:2]
    written = len((_results(observed, "read") or [{}])[0].get("records", []))
    keyless = (_results(observed, "put_keyless") or [{}])[0]
    tombstone = [r for r in cleaned.get("records", []) if r[1] == DELETED and r[2] is None]
    lost = sorted(set(before) - set(after))
    found = [
        check("a restart keeps every customer at its latest profile", before == after and bool(before),
              f"served {len(before)} before, {len(after)} after the restart" + (f"; lost {', '.join(lost)}" if lost else ""),
              _loss_hint(restart, knobs)),
        check("the deleted customer stays deleted", DELETED not in after and DELETED not in before,
              f"{DELETED} {'served' if DELETED in after else 'not served'} after the restart",
              "a delete is a tombstone: the rebuild drops the key when it reads one"),
        check("after cleaning: one record per customer, at its original offset, with gaps",
              bool(cleaned.get("reached")) and not cleaned.get("not_as_written") and bool(cleaned.get("gaps")),
              f"{written} records before cleaning, {len(cleaned.get('records', []))} after, at offsets {[r[0] for r in cleaned.get('records', [])]}, "
              f"gaps at {cleaned.get('gaps', [])}"
              + (f", rewritten: {cleaned['not_as_written']}" if cleaned.get("not_as_written") else ""),
              "the cleaner compacts rolled segments only, once the dirty share exceeds min.cleanable.dirty.ratio and "
              "the records are older than min.compaction.lag.ms: keep those small (0.01, 0) and cleanup_policy "
              "compact"),
        check("the tombstone survives the first cleaning", bool(tombstone),
              f"{DELETED}'s tombstone {'at offset ' + str(tombstone[0][0]) if tombstone else 'not in the cleaned log'}",
              "a tombstone is kept through one cleaning (for delete.retention.ms) so that every reader sees the "
              "delete; with cleanup_policy delete it went with its segment"),
        check("the tombstone is gone after delete.retention.ms", bool(later.get("reached")),
              f"log after {knobs.delete_retention_ms} ms more: offsets {[r[0] for r in later.get('records', [])]}",
              "a later cleaning removes a tombstone once delete.retention.ms has passed since the first one"),
        check("a keyless record is refused, with the reason", bool(keyless.get("refused")),
              str(keyless.get("refused") or f"accepted at offset {keyless.get('offset')}"),
              "a compacted topic keeps one record per key, so a record without a key means nothing there and "
              "the broker refuses it; a delete-policy topic takes it"),
    ]
    return found


def symptoms(observed: Observed, knobs: StoreKnobs, ctx: LabContext) -> list[Check]:
    before, after, restart = _restart(observed)
    lost = sorted(set(before) - set(after))
    start = (restart.get("log") or {}).get("log_start", 0)
    return [check("a restart loses customers", bool(lost),
                  f"served {sorted(before)} before, {sorted(after)} after; the log starts at offset {start}")]


LAB = Lab.define(__file__, StoreKnobs, story, checks, symptoms,
                 demo=lambda ctx: [("delete policy, short retention", {})],
                 fix=lambda ctx: {"cleanup_policy": "compact"},
                 components={"profiles": ProfileService})
