from __future__ import annotations

from scenarios.present.lag_chart import sparkline
from tests.unit.test_lab_helpers import edit_setting, lab_dir, lab_json  # noqa: F401  (lab_dir is a fixture)


def test_consumer_lag_lab_drains_once_inventory_scales_to_the_partition_count(lab_dir, capsys):  # noqa: F811
    assert lab_json(capsys, "lab", "start", "consumer-lag")[0] == 0
    code, verdict = lab_json(capsys, "lab", "check", "consumer-lag")
    assert code == 1 and "Lag" in verdict["hint"]
    assert (lab_dir / "consumer-lag.html").read_text().count("<polyline") == 3

    edit_setting(lab_dir, "consumer-lag", "inventory_instances", "3")
    code, verdict = lab_json(capsys, "lab", "check", "consumer-lag")
    assert code == 0 and verdict["passed"], verdict


def test_members_beyond_the_partition_count_sit_idle():
    from scenarios import session

    outcome = session.check("consumer-lag", {"inventory_instances": 5})
    assert sorted(outcome.last.members["inventory"].values()) == [0, 0, 1, 1, 1]


def test_sparkline_scales_to_the_peak():
    assert sparkline([0, 4, 8]) == "▁▅█"
    assert sparkline([]) == ""


def test_kafka_cli_describe_table_is_parsed_per_partition():
    from scenarios.labs.consumer_lag.story import cli_check
    from scenarios.worlds.kafka_cli import parse_describe

    text = """
Consumer group 'g' has no active members.

GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID
g               t               0          5               12              7               -               -               -
g               t               1          -               4               -               -               -               -
g               t               2          9               9               0               -               -               -
"""
    assert parse_describe(text) == {0: 7, 1: None, 2: 0}
    reading = {"before": {0: 5, 1: 0, 2: 0}, "cli": {0: 7, 1: 2, 2: 0}, "after": {0: 9, 1: 2, 2: 0}}
    assert cli_check(reading).passed
    far = {"before": {0: 5, 1: 0, 2: 0}, "cli": {0: 40, 1: 2, 2: 0}, "after": {0: 9, 1: 2, 2: 0}}
    assert not cli_check(far).passed and "p0: CLI 40" in cli_check(far).detail
