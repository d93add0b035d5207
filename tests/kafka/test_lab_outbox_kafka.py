"""outbox on a real broker: the order service is a real OS process with its state in PostgreSQL, killed
with SIGKILL between its two writes. Database first leaves an order stored that no OrderCreated announces
(stuck PENDING); the outbox and its relay announce every stored order and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.test_lab_helpers import edit_setting, lab_json

pytestmark = pytest.mark.kafka


def _service_processes(prefixes: list[str]) -> list[str]:
    """Command lines of `service run` processes still running for these runs."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--control" in argv and any(p.encode() in argv for p in prefixes):
            found.append(b" ".join(argv).decode(errors="replace"))
    return found


def _checks(verdict: dict) -> dict[str, tuple[bool, str]]:
    return {c["name"]: (c["passed"], c["detail"]) for c in verdict["checks"]}


def test_outbox_lab_kills_the_order_process_between_its_writes_until_the_relay_is_on(lab_dir, capsys,
                                                                                      kafka_bootstrap):
    prefixes: list[str] = []
    try:
        code, started = lab_json(capsys, "lab", "start", "outbox", "--mode", "kafka")
        prefixes += json.loads((lab_dir / "lab.json").read_text())["labs"]["outbox"]["prefixes"]
        checks = _checks(started)
        assert code == 0 and started["passed"] is False and 'order_events = "relay"' in started["hint"], started
        assert checks["the order service was killed between its writes"] == (
            True, "killed at: order-0 after-db-commit")
        passed, detail = checks["no order stored but never announced"]
        assert not passed and detail.startswith("stored_not_announced=1:") and "PENDING" in detail, detail
        assert checks["no order announced but never stored"][0] is True
        assert any("no OrderCreated announces it" in line for line in started["symptom"]), started["symptom"]

        edit_setting(lab_dir, "outbox", "order_events", '"relay"')  # as the hint says
        code, solved = lab_json(capsys, "lab", "check", "outbox")
        prefixes += json.loads((lab_dir / "lab.json").read_text())["labs"]["outbox"]["prefixes"]
        checks = _checks(solved)
        assert code == 0 and solved["passed"] is True, [c for c in solved["checks"] if not c["passed"]]
        assert checks["the order service was killed between its writes"][1] == (
            "killed at: order-0 after-db-commit, order-1 after-produce")
        assert checks["no order stored but never announced"][1].startswith("stored_not_announced=0")
        assert checks["no order announced but never stored"][1].startswith("announced_not_stored=0")
        assert _service_processes(prefixes) == []  # every process the world started is gone
    finally:
        _forget(lab_dir, prefixes, kafka_bootstrap)


def _forget(lab_dir, prefixes, kafka_bootstrap) -> None:
    from scenarios.settings import Settings
    from scenarios.worlds.kafka import delete_run

    for prefix in set(prefixes):
        delete_run(Settings.resolve({"bootstrap": kafka_bootstrap}), prefix)


def test_a_lab_service_process_stops_when_its_parent_closes_its_stdin(kafka_bootstrap, tmp_path):
    import uuid

    from scenarios.settings import Settings
    from scenarios.worlds.processes import ServiceProcess

    settings = Settings.resolve({"bootstrap": kafka_bootstrap})
    run = uuid.uuid4().hex[:8]
    proc = ServiceProcess("payment", 0, ["--bootstrap", kafka_bootstrap, "--database-url",
                                         settings.database_url_or_local(), "--prefix", f"kl-{run}-",
                                         "--schema", f"payment_svc_{run}"], log_dir=tmp_path)
    try:
        proc.start()
        assert proc.alive
        proc.orphan()  # what the kernel does when the lab process dies
        assert proc.wait(30) == 0  # it stopped as on SIGTERM (left its group), not killed
    finally:
        proc.stop()
        _forget(tmp_path, [f"kl-{run}-"], kafka_bootstrap)
