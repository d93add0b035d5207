"""Settings: the command line beats kafkalab.toml, which beats the environment; bad input is one line."""

from __future__ import annotations

import pytest

from compose.topology import EXTERNAL_BOOTSTRAP
from scenarios.settings import Settings, SettingsError

ENV = {"KAFKA_BOOTSTRAP": "env:9092", "DATABASE_URL": "postgresql://env/db"}
CONFIG = '[kafka]\nbootstrap = "file:9092"\n[postgres]\ndatabase_url = "postgresql://file/db"\n'


@pytest.fixture
def with_config(tmp_path):
    (tmp_path / "kafkalab.toml").write_text(CONFIG)
    return tmp_path


def test_explicit_argument_wins_over_config_and_environment(with_config):
    settings = Settings.resolve({"bootstrap": "arg:9092", "database_url": "postgresql://arg/db"},
                                cwd=with_config, env=ENV)
    assert (settings.bootstrap, settings.database_url) == ("arg:9092", "postgresql://arg/db")


def test_config_file_wins_over_environment(with_config):
    settings = Settings.resolve(cwd=with_config, env=ENV)
    assert (settings.bootstrap, settings.database_url) == ("file:9092", "postgresql://file/db")


def test_environment_is_used_when_nothing_else_says(tmp_path):
    settings = Settings.resolve(cwd=tmp_path, env=ENV)
    assert (settings.bootstrap, settings.database_url) == ("env:9092", "postgresql://env/db")


def test_defaults_when_nothing_is_set(tmp_path):
    settings = Settings.resolve(cwd=tmp_path, env={})
    assert (settings.bootstrap, settings.database_url) == (EXTERNAL_BOOTSTRAP, None)


def test_an_option_not_given_does_not_hide_the_config_file(with_config):
    assert Settings.resolve({"bootstrap": None}, cwd=with_config, env=ENV).bootstrap == "file:9092"


def test_an_explicit_config_file_is_read(tmp_path):
    other = tmp_path / "other.toml"
    other.write_text('[kafka]\nbootstrap = "toml:1234"\n')
    assert Settings.resolve({"config_file": other}, cwd=tmp_path, env={}).bootstrap == "toml:1234"


def test_missing_explicit_config_file_is_an_error(tmp_path):
    with pytest.raises(SettingsError, match="no such config file"):
        Settings.resolve({"config_file": tmp_path / "nope.toml"}, cwd=tmp_path, env={})


@pytest.mark.parametrize(("text", "says"), [
    ("[kafka]\nbootstrap = 9092\n", "[kafka] bootstrap: expected text in double quotes"),
    ("[kafka]\nbootstap = \"x:1\"\n", "unknown setting 'kafka.bootstap' (did you mean 'kafka.bootstrap'?)"),
    ("[kafka]\nbootstrap = localhost:9092\n", "kafkalab.toml:2:13: TOML syntax error"),
])
def test_a_bad_config_file_is_one_line_naming_the_file_and_the_key(tmp_path, text, says):
    (tmp_path / "kafkalab.toml").write_text(text)
    with pytest.raises(SettingsError) as raised:
        Settings.resolve(cwd=tmp_path, env={})
    assert says in str(raised.value) and "\n" not in str(raised.value)


def test_a_bad_environment_value_names_the_variable(tmp_path):
    with pytest.raises(SettingsError, match=r"\$KAFKALAB_QUIET_TIMEOUT_S: expected a number"):
        Settings.resolve(cwd=tmp_path, env={"KAFKALAB_QUIET_TIMEOUT_S": "soon"})


def test_the_default_bootstrap_is_written_once_in_the_whole_code_base():
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    found = [str(p.relative_to(root)) for package in ("scenarios", "services", "adapters", "compose", "sim")
             for p in sorted((root / package).rglob("*.py"))
             for node in ast.walk(ast.parse(p.read_text()))
             if isinstance(node, ast.Constant) and node.value == EXTERNAL_BOOTSTRAP]
    assert found == ["compose/topology.py"]
