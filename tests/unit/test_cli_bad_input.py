"""Bad input on the command line: one line on stderr naming the command and what to try, exit 2 (or 1
for a broker that does not answer), no traceback."""

from __future__ import annotations

import json

import pytest

from scenarios.cli import main
from tests.unit.test_lab_helpers import lab_dir  # noqa: F401  (lab_dir is a fixture)


def _one_line(capsys, argv: list[str], code: int = 2) -> str:
    capsys.readouterr()
    assert main(argv) == code
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1, captured.err
    assert "Traceback" not in captured.err
    return captured.err


@pytest.mark.parametrize(("argv", "words"), [
    (["offsets", "show", "g", "--topic", "x"], "kafkalab offsets show: unrecognized arguments: --topic x"),
    (["topics", "configs", "describe", "orders"], "kafkalab topics configs: unrecognized arguments: orders"),
    (["kafka", "status", "--bogus"], "kafkalab kafka status: unrecognized arguments: --bogus"),
])
def test_an_unknown_argument_names_the_command_it_was_given_to(capsys, argv, words):
    err = _one_line(capsys, argv)
    assert err.startswith(words) and f"`kafkalab {' '.join(words.split()[1:3]).rstrip(':')} --help`" in err


@pytest.mark.parametrize(("argv", "says"), [
    (["kafka", "clean", "--run", "kl-x-"], "a run prefix looks like kl-0123456789-"),
    (["kafka", "clean", "--grace", "-1"], "give seconds >= 0"),
])
def test_kafka_clean_refuses_bad_options_before_asking_a_broker(capsys, argv, says):
    assert says in _one_line(capsys, [*argv, "--bootstrap", "localhost:1"])


def test_dlq_of_a_kafka_check_whose_broker_does_not_answer_is_one_line(lab_dir, capsys):  # noqa: F811
    assert main(["lab", "start", "poison-pill", "--json"]) == 0
    state = json.loads((lab_dir / "lab.json").read_text())
    state["labs"]["poison-pill"].update(mode="kafka", prefixes=["kl-0123456789-"])
    (lab_dir / "lab.json").write_text(json.dumps(state))
    err = _one_line(capsys, ["dlq", "list", "--bootstrap", "localhost:1"])
    assert "could not reach Kafka at localhost:1" in err


@pytest.mark.parametrize("argv", [["console", "--port", "99999"], ["up", "--mode", "sim", "--port", "x"]])
def test_a_port_out_of_range_is_a_usage_error_not_a_bind_traceback(capsys, argv):
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "is not a port number" in err and "Traceback" not in err


def test_up_on_a_port_already_taken_says_so_in_one_line(capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        err = _one_line(capsys, ["up", "--mode", "sim", "--host", "127.0.0.1", "--port", str(port)])
    assert f"--port {port}: cannot listen there" in err


def test_the_kafka_console_with_a_broker_that_does_not_answer_is_one_line_before_serving(lab_dir, capsys):  # noqa: F811
    err = _one_line(capsys, ["console", "--mode", "kafka", "--attach", "--bootstrap", "localhost:1", "--port", "3977"])
    assert "console --mode kafka: could not reach Kafka at localhost:1" in err


def test_port_zero_asks_for_any_free_port() -> None:  # the kafka world starts service processes with --port 0
    from scenarios.cli.common import port_number

    assert port_number("0") == 0 and port_number("65535") == 65535
