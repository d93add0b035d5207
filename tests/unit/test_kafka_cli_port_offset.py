"""``kafkalab kafka status|down --port-offset P``: the data dir is resolved as ``kafka up`` does, and it
must hold the cluster on that offset; else one line says which offset it holds, or that none is there."""

from __future__ import annotations

from compose.config import ClusterState, DataDir
from scenarios.cli import main


def _cluster_dir(tmp_path, offset: int):
    DataDir(tmp_path).save_state(ClusterState("AAAAAAAAAAAAAAAAAAAAAA", 1, port_offset=offset))
    return str(tmp_path)


def _one_line_error(capsys, argv: list[str]) -> str:
    capsys.readouterr()
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1, captured.err
    return captured.err


def test_status_with_a_port_offset_the_data_dir_does_not_hold_says_which_it_holds(tmp_path, capsys):
    data = _cluster_dir(tmp_path, 150)
    err = _one_line_error(capsys, ["kafka", "status", "--port-offset", "151", "--data-dir", data])
    assert "port offset 150, not 151" in err and "--data-dir" in err


def test_down_with_a_port_offset_where_no_cluster_was_started_is_one_line(tmp_path, capsys):
    err = _one_line_error(capsys, ["kafka", "down", "--port-offset", "150", "--data-dir", str(tmp_path / "none")])
    assert "no cluster on port offset 150 was started from" in err


def test_status_and_down_with_the_matching_offset_act_on_that_cluster(tmp_path, capsys):
    data = _cluster_dir(tmp_path, 150)
    capsys.readouterr()
    assert main(["kafka", "status", "--port-offset", "150", "--data-dir", data]) == 3  # stopped: not ready
    out = capsys.readouterr().out
    assert "not running" in out and "localhost:9242" in out
    assert main(["kafka", "down", "--port-offset", "150", "--data-dir", data]) == 0
    assert "no Kafka started from here was running" in capsys.readouterr().out
