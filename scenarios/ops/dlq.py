"""Dead letters: list them, show one with its error headers, redrive them to their source topic.

A redriven copy drops the ``dlq-*`` headers of its last failure and carries ``dlq-redrive-count``
(previous count + 1). A dead letter whose count reached ``max_redrives`` is refused: a record that
fails every time would otherwise loop between the topic and its DLQ forever.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scenarios.ops.browse import decode_value
from services.ports import Producer, Record
from services.runner import REDRIVE_COUNT

DEFAULT_MAX_REDRIVES = 3
HEX_SHOWN = 256  # bytes of an unreadable value shown in hex


def _text(r: Record, name: str) -> str | None:
    v = r.header(name)
    return None if v is None else v.decode("utf-8", "replace")


def redrive_count(r: Record) -> int:
    try:
        return int(_text(r, REDRIVE_COUNT) or 0)
    except ValueError:
        return 0


def summary(r: Record) -> dict[str, Any]:
    """One dead letter as ``dlq list`` prints it."""
    return {
        "dlq": f"{r.topic}[{r.partition}]@{r.offset}",
        "source": f"{_text(r, 'dlq-source-topic')}[{_text(r, 'dlq-source-partition')}]@{_text(r, 'dlq-source-offset')}",
        "group": _text(r, "dlq-consumer-group"),
        "error": _text(r, "dlq-error"),
        "attempts": _text(r, "dlq-attempts"),
        "redrives": redrive_count(r),
        "event_type": _text(r, "event-type"),
        "correlation_id": _text(r, "correlation-id"),
    }


def detail(r: Record, reader: Any = None) -> dict[str, Any]:
    """Everything about one dead letter, as ``dlq show`` prints it.

    An Avro value (magic byte 0 and a schema id) is read through ``reader`` (the world's registry) and
    shown as the record it is; one the registry cannot read is shown escaped, in hex, with a note why.
    """
    fmt, shown = decode_value(r.value, reader)
    if fmt == "avro" and "value" in shown:
        value: Any = shown["value"]
        about: dict[str, Any] = {"value_format": "avro", "schema_id": shown["schemaId"]}
    elif fmt == "avro":
        value = escaped(r.value or b"")
        about = {"value_format": "avro", "schema_id": shown["schemaId"], "value_hex": (r.value or b"")[:HEX_SHOWN].hex(),
                 "value_note": shown["note"]}
    else:
        value = r.value.decode("utf-8", "replace") if r.value is not None else None
        about = {"value_format": fmt}
    return {**summary(r), "key": r.key.decode("utf-8", "replace") if r.key else None, "value": value, **about,
            "headers": {k: v.decode("utf-8", "replace") for k, v in r.headers}}


def escaped(data: bytes) -> str:
    """Bytes as text a terminal shows safely: printable ASCII as it is, every other byte as \\xNN."""
    return "".join(chr(b) if 32 <= b < 127 and b != 92 else f"\\x{b:02x}" for b in data)


class RedriveRefused(Exception):
    """The record was redriven ``max_redrives`` times already, or does not say where it came from."""


@dataclass(frozen=True, slots=True)
class Redrive:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


def redrive_of(r: Record, max_redrives: int = DEFAULT_MAX_REDRIVES) -> Redrive:
    source = _text(r, "dlq-source-topic")
    if not source:
        raise RedriveRefused(f"{r.topic}@{r.offset} has no dlq-source-topic header")
    count = redrive_count(r)
    if count >= max_redrives:
        raise RedriveRefused(f"{r.topic}[{r.partition}]@{r.offset} was redriven {count} times already "
                             f"(max {max_redrives}): fix the consumer, or inspect it with `kafkalab dlq show`")
    headers = tuple((k, v) for k, v in r.headers if not k.startswith("dlq-"))
    return Redrive(source, r.key, r.value, (*headers, (REDRIVE_COUNT, str(count + 1).encode())))


def redrive(producer: Producer, letters: Sequence[Record], max_redrives: int = DEFAULT_MAX_REDRIVES,
            ) -> tuple[list[Redrive], list[str]]:
    """Send every redrivable letter back to its source; returns (sent, reasons for the refused)."""
    sent, refused = [], []
    for r in letters:
        try:
            copy = redrive_of(r, max_redrives)
        except RedriveRefused as exc:
            refused.append(str(exc))
            continue
        producer.produce(copy.topic, copy.value, key=copy.key, headers=copy.headers)
        sent.append(copy)
    if sent:
        producer.flush()
    return sent, refused
