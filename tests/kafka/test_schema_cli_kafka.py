"""``kafkalab schema --mode kafka`` against Apicurio: the same commands and answers as on the sim."""

from __future__ import annotations

import json
import uuid

import pytest

from scenarios.cli import main
from services import schemas
from tests.registry_support import registry_url

pytestmark = pytest.mark.kafka

__all__ = ["registry_url"]


def test_register_refuse_evolve_and_diff_on_apicurio(registry_url, tmp_path, capsys) -> None:
    subject = f"kl-cli-{uuid.uuid4().hex[:8]}-orders-kafkalab.shop.OrderCreated"
    base = json.loads(schemas.schema_text("OrderCreated"))
    files = {}
    for name, fields in {
        "v1": base["fields"],
        "renamed": [{**f, "name": "qty"} if f["name"] == "quantity" else f for f in base["fields"]],
        "currency": [*base["fields"], {"name": "currency", "type": "string", "default": "EUR"}],
    }.items():
        files[name] = tmp_path / f"{name}.avsc"
        files[name].write_text(json.dumps({**base, "fields": fields}))

    def schema(*argv: str) -> tuple[int, str, str]:
        code = main(["schema", *argv, "--mode", "kafka", "--registry-url", registry_url])
        return (code, *capsys.readouterr())

    assert schema("register", subject, str(files["v1"]))[0] == 0
    assert schema("compat", subject, "BACKWARD")[1].strip() == f"{subject}: compatibility BACKWARD"
    code, _, err = schema("register", subject, str(files["renamed"]))
    assert code == 1 and "the registry refused it (409)" in err and "qty" in err
    assert schema("register", subject, str(files["currency"]))[1].strip().startswith(f"{subject}: version 2 ")
    code, out, _ = schema("diff", subject)
    assert code == 0 and '+ field currency: string = "EUR"  compatible' in out
    assert subject in schema("list")[1]
