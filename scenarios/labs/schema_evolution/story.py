"""schema-evolution: a new version of OrderCreated is deployed while the payment service still reads v1.

Events are Avro with a schema registry. A few orders go through on v1; then the subject's compatibility
is set (``compatibility``), the order API's new version registers its OrderCreated v2 (``evolution``)
and, if the registry takes it, writes every new order with it. A record whose schema id the registry
does not know is written before them. At the end an old (v1) and a new (v2) reader read the whole topic.

Broken start: NONE and a renamed field. The registry checks nothing, and the payment service cannot
resolve a single v2 record (``customerId`` has no default): each is dead-lettered with the Avro error
and its order cancelled; the consumer goes on. BACKWARD refuses the rename (409, with the reason); a
field added with a default is taken, and both readers read every record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from scenarios.engine import checks as c
from scenarios.engine.knobs import Knobs, knob
from scenarios.engine.lab import Lab, LabContext, Observed
from scenarios.engine.model import Check, Phase, Step, check
from scenarios.engine.spec import WorldSpec
from scenarios.engine.steps import orders, quiet
from services import schemas

EVENT = "OrderCreated"
OLD_ORDERS, NEW_ORDERS = 2, 3
UNKNOWN_ID = 2_000_000_001  # no registry here hands out ids that high
UNKNOWN_ID_VALUE = b"\x00" + UNKNOWN_ID.to_bytes(4, "big") + b"\x02ab"  # wire format, a schema nobody has
HERE = Path(__file__).parent
EVOLUTIONS = {  # knob value -> (schema file, producer-side renames, what the change is)
    "rename_field": ("OrderCreated.v2-rename.avsc", {"customerId": "customer"}, "OrderCreated v2: customerId renamed to customer"),
    "drop_field": ("OrderCreated.v2-drop.avsc", {}, "OrderCreated v2: customerId dropped"),
    "add_field": ("OrderCreated.v2-add.avsc", {}, 'OrderCreated v2: currency added, default "EUR"'),
}
GUARDING = ("BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE")
Level = Literal["NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"]
Evolution = Literal["rename_field", "drop_field", "add_field"]
TABLE = "[schema-evolution] of .kafkalab/lab.toml"


class SchemaKnobs(Knobs):
    compatibility: Level = knob("NONE", lesson=True, help="the level of the OrderCreated subject before the deploy")
    evolution: Evolution = knob("rename_field", lesson=True,
                                help="what OrderCreated v2 changes: rename_field, drop_field or add_field")


def v2_schema(evolution: str) -> str:
    return (HERE / EVOLUTIONS[evolution][0]).read_text(encoding="utf-8")


def story(knobs: SchemaKnobs, ctx: LabContext) -> list[Phase]:
    name, renames, note = EVOLUTIONS[knobs.evolution]
    v1, v2 = schemas.schema_text(EVENT, 1), v2_schema(knobs.evolution)
    steps = [
        *orders(OLD_ORDERS, prefix="cust_v1"),
        quiet(20_000),
        Step("set_compatibility", {"event_type": EVENT, "level": knobs.compatibility}),
        Step("deploy_schema", {"event_type": EVENT, "schema": v2, "renames": renames, "note": note}),
        Step("inject", {"topic": "orders", "value_hex": UNKNOWN_ID_VALUE.hex(),
                        "note": f"schema id {UNKNOWN_ID}, which the registry does not know"}),
        *orders(NEW_ORDERS, prefix="cust_v2"),
        quiet(30_000),  # quiet: every group caught up, so the payment service went past what it could not read
        Step("read_as", {"topic": "orders", "event_type": EVENT,
                         "readers": {"v1 reader (the old consumer)": v1, "v2 reader (a new consumer)": v2}}),
    ]
    return [Phase("a new version of OrderCreated", WorldSpec(codec="avro"), tuple(steps))]


# ---------------------------------------------------------------- what the run saw


def _answer(obs: c.Observation, op: str) -> dict:
    return next((s for s in obs.schema_steps if s["op"] == op), {})


def _letters(obs: c.Observation) -> list:
    """The dead letters of events the payment service could not read (not the unknown-id record)."""
    return [r for r in obs.records.get("orders.dlq", []) if c.header_text(r, c.EVENT_TYPE) == EVENT]


def _unknown_id_letters(obs: c.Observation) -> list:
    return [r for r in obs.records.get("orders.dlq", []) if c.header_text(r, c.EVENT_TYPE) is None
            and f"unknown schema id {UNKNOWN_ID}" in (c.dlq_fact(r, "error") or "")]


def _statuses(obs: c.Observation, placed: list) -> list[str | None]:
    return [obs.statuses.get(p.order_id) if p.order_id else None for p in placed]


def _first_error(letters: list) -> str:
    return (c.dlq_fact(letters[0], "error") or "") if letters else ""


def _sizes(obs: c.Observation) -> tuple[bool, str]:
    s = obs.sizes
    if not s.get("events"):
        return False, "no event was encoded (is the world's codec avro?)"
    avro, json_ = s["avro_bytes"] / s["events"], s["json_bytes"] / s["events"]
    return avro < json_, (f"{s['events']} events: Avro {avro:.0f} B, JSON {json_:.0f} B per event "
                          f"({100 * (1 - avro / json_):.0f}% smaller; the field names live in the schema)")


def _reading(obs: c.Observation, label_start: str) -> dict:
    return next((r for label, r in obs.readings.items() if label.startswith(label_start)), {})


def _hint(obs: c.Observation, knobs: SchemaKnobs) -> str:
    deploy, level = _answer(obs, "deploy_schema"), _answer(obs, "set_compatibility").get("level", knobs.compatibility)
    letters = _letters(obs)
    if deploy.get("accepted") and letters:
        if level == "NONE":
            return (f"The registry took OrderCreated v2 without a check (compatibility NONE), and the payment "
                    f"service, still on v1, cannot read one record written with it: {len(letters)} in orders.dlq, "
                    f'e.g. "{_first_error(letters)}". Let the registry guard the subject: set compatibility = '
                    f'"BACKWARD" in {TABLE}.')
        return (f"{level} let this v2 through, yet the payment service (v1) cannot read it: "
                f'"{_first_error(letters)}". BACKWARD promises that the new schema reads old records (upgrade the '
                f"consumers first); old consumers reading new records is FORWARD, both is FULL. Or ship a change "
                f'every level takes: evolution = "add_field" in {TABLE}.')
    if not deploy.get("accepted", True):
        return (f"The registry refused v2 ({deploy.get('reason')}), so the old version still runs and nothing "
                f"broke. Now ship a compatible evolution: a field added with a default, which v1 readers skip and "
                f'v2 readers fill in for old records: evolution = "add_field" in {TABLE}.')
    if level not in GUARDING:
        return (f"This change happened to be compatible, but with compatibility {level} the registry would take "
                f'the next breaking one too: set compatibility = "BACKWARD" in {TABLE}.')
    return ""


def checks(observed: Observed, knobs: SchemaKnobs, ctx: LabContext) -> list[Check]:
    (obs,) = observed
    hint = _hint(obs, knobs)
    level_seen, deploy = _answer(obs, "set_compatibility"), _answer(obs, "deploy_schema")
    level = level_seen.get("level", "?")
    letters, unknown = _letters(obs), _unknown_id_letters(obs)
    new = _statuses(obs, obs.placed[OLD_ORDERS:])
    old_reader, new_reader = _reading(obs, "v1 reader"), _reading(obs, "v2 reader")
    smaller, sizes = _sizes(obs)
    return [
        check("the subject's compatibility refuses breaking versions", level in GUARDING,
              f"{level_seen.get('subject', EVENT)}: {level}", hint),
        check("the new version is deployed", bool(deploy.get("accepted")),
              f"version {deploy.get('version')} (id {deploy.get('schema_id')})" if deploy.get("accepted")
              else deploy.get("reason") or "no deploy answer", hint),
        check("the payment service (v1) reads every order of the new version",
              not letters and new == ["COMPLETED"] * NEW_ORDERS,
              f"new orders {new}; {len(letters)} OrderCreated dead-lettered" + (f": {_first_error(letters)}" if letters
                                                                                 else ""), hint),
        *[check(f"the {who} reads every OrderCreated, old and new", bool(r) and r["failed_events"] == 0,
                f"read {r.get('read')} of {r.get('records')} records; events it cannot read: {r.get('failed_events')}"
                + (f", e.g. {r['failed'][0]['error']}" if r.get("failed_events") else ""), hint)
          for who, r in (("old consumer (v1)", old_reader), ("new consumer (v2)", new_reader))],
        check("a record whose schema id the registry does not know is dead-lettered with that reason",
              len(unknown) == 1, _first_error(unknown) or "no such dead letter in orders.dlq"),
        check("Avro values are smaller than JSON on the same events", smaller, sizes),
        *c.dlq_checks(obs),
        *c.invariant_checks(obs),
    ]


def symptoms(observed: Observed, knobs: SchemaKnobs, ctx: LabContext) -> list[Check]:
    (obs,) = observed
    deploy, letters, unknown = _answer(obs, "deploy_schema"), _letters(obs), _unknown_id_letters(obs)
    old, new = _statuses(obs, obs.placed[:OLD_ORDERS]), _statuses(obs, obs.placed[OLD_ORDERS:])
    unknown_check = check("a record whose schema id the registry does not know is dead-lettered with that reason",
                          len(unknown) == 1, _first_error(unknown) or "no such dead letter")
    if knobs.compatibility == "NONE":
        return [
            check("the registry takes the breaking version (NONE checks nothing)", bool(deploy.get("accepted")),
                  f"version {deploy.get('version')}" if deploy.get("accepted") else str(deploy.get("reason"))),
            check("the payment service (v1) dead-letters every record of the new version, with the Avro error",
                  len(letters) == NEW_ORDERS and all("cannot read OrderCreated" in (c.dlq_fact(r, "error") or "")
                                                     for r in letters),
                  f"{len(letters)} of {NEW_ORDERS} in orders.dlq: {_first_error(letters)}"),
            check("it goes on: v1 orders complete, v2 orders are cancelled, nothing is stuck",
                  old == ["COMPLETED"] * OLD_ORDERS and new == ["CANCELLED"] * NEW_ORDERS and not obs.blocked
                  and all(obs.quiet_reached), f"v1 orders {old}, v2 orders {new}"),
            unknown_check,
        ]
    return [
        check("the registry refuses the breaking version: 409, with the reason",
              deploy.get("accepted") is False and "409" in str(deploy.get("reason")), str(deploy.get("reason"))),
        check("the old version keeps running: every order completes, none is dead-lettered",
              old + new == ["COMPLETED"] * (OLD_ORDERS + NEW_ORDERS) and not letters,
              f"orders {old + new}; {len(letters)} OrderCreated dead-lettered"),
        unknown_check,
    ]


LAB = Lab.define(__file__, SchemaKnobs, story, checks, symptoms,
                 demo=lambda ctx: [("compatibility NONE: the rename ships", {}),
                                   ("BACKWARD: the registry refuses the rename", {"compatibility": "BACKWARD"})],
                 fix=lambda ctx: {"compatibility": "BACKWARD", "evolution": "add_field"})
