"""``kafkalab schema``: list/show/diff/compat/register on the sim registry, the labelled diff, and one
clear line (exit 1, nothing changed) for every kind of bad input — including a registry that is down."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.schema_diff import diff
from scenarios.cli import main
from services import schemas

SUBJECT = "orders-kafkalab.shop.OrderCreated"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KAFKALAB_REGISTRY_URL", raising=False)
    return tmp_path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["schema", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def evolved(tmp_path: Path, change) -> Path:
    schema = json.loads(schemas.schema_text("OrderCreated"))
    schema["fields"] = change(schema["fields"])
    path = tmp_path / "v2.avsc"
    path.write_text(json.dumps(schema))
    return path


def with_currency(fields):
    return [*fields, {"name": "currency", "type": "string", "default": "EUR"}]


def renamed_quantity(fields):
    return [{**f, "name": "qty"} if f["name"] == "quantity" else f for f in fields]


def test_list_shows_every_shipped_event_schema_when_no_run_saved_a_registry(capsys) -> None:
    code, out, _ = run(capsys, "list")
    assert code == 0
    assert {line.split()[0] for line in out.splitlines()[1:]} == {
        schemas.subject(topic, t) for topic, t in [("orders", "OrderCreated"), ("payments", "PaymentCompleted"),
                                                   ("payments", "PaymentFailed"), ("payments", "PaymentRefunded"),
                                                   ("inventory", "InventoryReserved"), ("inventory", "InventoryFailed")]
    }  # fmt: skip


def test_show_prints_the_version_id_level_and_schema(capsys) -> None:
    code, out, _ = run(capsys, "show", SUBJECT, "1")
    header, body = out.split("\n", 1)
    assert code == 0 and header.startswith(f"{SUBJECT} version 1 (id ") and header.endswith("compatibility NONE")
    assert json.loads(body) == json.loads(schemas.schema_text("OrderCreated"))


def test_a_compatible_evolution_registers_and_diffs_as_compatible(capsys, in_tmp) -> None:
    assert run(capsys, "compat", SUBJECT, "backward")[0] == 0
    code, out, _ = run(capsys, "register", SUBJECT, str(evolved(in_tmp, with_currency)))
    assert (code, out.strip()) == (0, f"{SUBJECT}: version 2 (id 7)")
    code, out, _ = run(capsys, "diff", SUBJECT)
    assert code == 0
    assert '+ field currency: string = "EUR"  compatible' in out
    assert out.strip().endswith("verdict: compatible under BACKWARD")


def test_a_breaking_evolution_is_refused_with_the_409_reason_and_nothing_is_registered(capsys, in_tmp) -> None:
    run(capsys, "compat", SUBJECT, "BACKWARD")
    code, _, err = run(capsys, "register", SUBJECT, str(evolved(in_tmp, renamed_quantity)))
    assert code == 1
    assert err.startswith("kafkalab: the registry refused it (409): not BACKWARD compatible: qty at /fields/5")
    assert len(err.strip().splitlines()) == 1
    assert run(capsys, "show", SUBJECT)[1].startswith(f"{SUBJECT} version 1 ")


def test_check_tests_compatibility_without_registering(capsys, in_tmp) -> None:
    run(capsys, "compat", SUBJECT, "FULL")
    code, out, _ = run(capsys, "register", SUBJECT, str(evolved(in_tmp, renamed_quantity)), "--check")
    assert (code, out.strip()) == (4, f"{SUBJECT}: NOT compatible under FULL")
    assert "version 1 " in run(capsys, "show", SUBJECT)[1].splitlines()[0]


def test_diff_labels_each_change_under_the_subjects_level(capsys, in_tmp) -> None:
    path = evolved(in_tmp, lambda f: renamed_quantity(with_currency(f)))
    run(capsys, "register", SUBJECT, str(path))  # NONE: accepted
    run(capsys, "compat", SUBJECT, "BACKWARD")
    out = run(capsys, "diff", SUBJECT, "1", "2")[1]
    labels = {line.split()[2].rstrip(":"): next(w for w in ("compatible", "breaking") if f"  {w}" in line)
              for line in out.splitlines() if line.startswith("  ") and " field " in line}  # fmt: skip
    assert labels == {"currency": "compatible", "qty": "breaking", "quantity": "compatible"}
    assert "verdict: breaking under BACKWARD" in out


def test_diff_under_none_says_nothing_is_checked_but_what_would_break() -> None:
    old = schemas.schema_text("PaymentFailed")
    new = json.dumps({**json.loads(old), "fields": [*json.loads(old)["fields"], {"name": "code", "type": "int"}]})
    result = diff(old, new, "NONE")
    [change] = result.changes
    assert (change.symbol, change.label) == ("+", "unchecked")
    assert "would break new readers: code" in change.why
    assert result.compatible


def test_changes_to_docs_alone_are_no_changes() -> None:
    old = schemas.schema_text("PaymentFailed")
    new = json.dumps({**json.loads(old), "doc": "reworded"})
    assert diff(old, new, "FULL").changes == ()


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["show", "nope"], "no subject 'nope' in the sim registry"),
        (["show", SUBJECT, "9"], "has no such version"),
        (["diff", SUBJECT], "has only version 1: nothing to compare yet"),
        (["diff", SUBJECT, "1"], "give two versions to compare"),
        (["register", SUBJECT, "missing.avsc"], "cannot read missing.avsc"),
        (["list", "--file", "nowhere.json"], "nowhere.json does not exist"),
        (["list", "--mode", "kafka", "--registry-url", "http://127.0.0.1:9/apis/ccompat/v7"],
         "no schema registry answers at http://127.0.0.1:9/apis/ccompat/v7"),
        (["list", "--mode", "kafka", "--registry-url", "localhost:8081"], "is not a registry URL"),
    ],
    ids=["unknown-subject", "unknown-version", "one-version", "one-of-two", "no-file", "no-saved-registry",
         "registry-down", "not-a-url"],
)
def test_bad_input_gets_one_line_and_exit_1(capsys, argv, says) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 1 and out == ""
    assert err.startswith("kafkalab: ") and says in err and len(err.strip().splitlines()) == 1


def test_a_schema_that_does_not_parse_is_one_line_and_changes_nothing(capsys, in_tmp) -> None:
    (in_tmp / "broken.avsc").write_text('{"type": "record"\n')
    code, _, err = run(capsys, "register", SUBJECT, "broken.avsc")
    assert code == 1 and "broken.avsc: not a valid Avro schema" in err and len(err.strip().splitlines()) == 1
    assert not (in_tmp / ".kafkalab").exists()


def test_a_file_that_is_not_a_saved_registry_is_one_line(capsys, in_tmp) -> None:
    (in_tmp / "junk.json").write_text("[1, 2]")
    code, _, err = run(capsys, "list", "--file", "junk.json")
    assert code == 1 and "junk.json is not a saved sim registry" in err
