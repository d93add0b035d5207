"""``kafkalab dlq show`` reads Avro dead letters through the world's registry (here the sim run's), and
shows one whose schema id the registry does not know as escaped text and hex, with a note why."""

from __future__ import annotations

import json

from scenarios import root
from scenarios.cli import main
from scenarios.ops.browse import decode_value
from services.events import Event, Topics
from tests.unit.test_lab_helpers import lab_dir  # noqa: F401  (lab_dir is a fixture)


def _shown(capsys, *argv: str) -> dict:
    capsys.readouterr()
    assert main(["dlq", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_dlq_show_decodes_avro_letters_and_notes_an_unknown_schema_id(lab_dir, capsys):  # noqa: F811
    assert main(["lab", "start", "schema-evolution", "--json"]) == 0
    rows = _shown(capsys, "list", "orders.dlq")["dead_letters"]
    letters = [_shown(capsys, "show", "orders.dlq", *row["dlq"].removeprefix("orders.dlq[").replace("]@", " ").split())
               for row in rows]
    read = [d for d in letters if "value_note" not in d]
    unread = [d for d in letters if "value_note" in d]
    assert read and all(d["value_format"] == "avro" and d["value"]["customer"].startswith("cust_v2") for d in read)
    assert len(unread) == 1, unread
    assert "has no schema id 2000000001" in unread[0]["value_note"] and unread[0]["schema_id"] == 2000000001
    assert unread[0]["value"].startswith("\\x00") and unread[0]["value_hex"].startswith("00")


def test_decode_value_reads_avro_through_a_registry_and_falls_back_with_a_note():
    client = root.memory_registry_client()
    event = Event("OrderCreated", "e1", "c1", {"orderId": "o1", "customerId": "c", "productId": "p",
                                               "quantity": 2, "amountCents": 500})
    _topic, _key, value, _headers = root.avro_codec(client).encode(event, Topics())
    reader = root.avro_reader(client)
    fmt, shown = decode_value(value, reader)
    assert fmt == "avro" and shown["value"]["quantity"] == 2 and shown["schemaId"] == int.from_bytes(value[1:5], "big")
    unknown = b"\x00\x00\x00\x03\xe7" + value[5:]
    assert "no schema id 999" in decode_value(unknown, reader)[1]["note"]
    assert "no schema registry" in decode_value(value)[1]["note"]


def test_the_console_message_view_shares_the_avro_decoding():
    from scenarios.console.views import messages_view
    from services.ports import Record

    client = root.memory_registry_client()
    event = Event("OrderCreated", "e1", "c1", {"orderId": "o1", "customerId": "c", "productId": "p",
                                               "quantity": 3, "amountCents": 500})
    topic, key, value, headers = root.avro_codec(client).encode(event, Topics())
    record = Record(topic, 0, 0, key, value, headers, 1)
    shown = messages_view([record], [topic], reader=root.avro_reader(client))["messages"][0]
    assert shown["format"] == "avro" and shown["value"]["value"]["quantity"] == 3
