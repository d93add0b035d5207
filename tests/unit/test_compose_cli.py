"""The kafka/db command group parses as documented and fails clearly (no broker needed)."""

from __future__ import annotations

import os

import pytest

from compose import processes
from compose.config import ClusterState, DataDir
from compose.launcher import status
from scenarios.cli import build_parser, main


def test_kafka_up_options_parse():
    args = build_parser().parse_args(["kafka", "up", "--brokers", "3", "--no-wait", "--timeout", "30"])
    assert (args.brokers, args.wait, args.timeout) == (3, False, 30.0)
    assert build_parser().parse_args(["kafka", "up"]).wait is True


def test_kafka_cli_passes_the_tool_arguments_through_untouched():
    args = build_parser().parse_args(["kafka-cli", "kafka-consumer-groups", "--describe", "--group", "g"])
    assert args.tool == "kafka-consumer-groups"
    assert args.args == ["--describe", "--group", "g"]


def test_down_and_status_parse():
    assert build_parser().parse_args(["kafka", "down", "--wipe"]).wipe is True
    assert build_parser().parse_args(["kafka", "status", "--json"]).json is True
    assert build_parser().parse_args(["db", "up"]).db_command == "up"


def test_status_of_an_empty_data_dir_is_not_running(tmp_path, monkeypatch):
    monkeypatch.delenv("KAFKA_BOOTSTRAP", raising=False)
    result = status(data=DataDir(tmp_path))
    assert (result.running, result.ready, result.pids, result.detail) == (False, False, {}, "not running")


def test_a_recorded_pid_that_is_not_our_kafka_counts_as_not_running(tmp_path, monkeypatch):
    monkeypatch.delenv("KAFKA_BOOTSTRAP", raising=False)
    data = DataDir(tmp_path)
    data.save_state(ClusterState("AAAAAAAAAAAAAAAAAAAAAA", 1))
    data.node(1).root.mkdir()
    data.node(1).pid_file.write_text(f"{os.getpid()}\n")  # a live process, but pytest, not Kafka
    assert not processes.is_our_broker(os.getpid(), data.node(1).properties)
    assert status(data=data).pids == {1: None}


def test_down_with_nothing_running_stops_nothing_and_exits_zero(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KAFKALAB_DATA", str(tmp_path / "kafka"))
    monkeypatch.setenv("KAFKALAB_HOME", str(tmp_path / "home"))
    assert main(["kafka", "down"]) == 0
    assert "no Kafka started from here" in capsys.readouterr().out


def test_unknown_tool_is_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["kafka-cli", "kafka-nonsense"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
