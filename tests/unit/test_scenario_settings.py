"""Kafka-mode settings: explicit argument beats the config file, which beats the environment."""

from __future__ import annotations

import pytest

from scenarios.settings import (
    DEFAULT_BOOTSTRAP,
    LabOptions,
    load_config,
    resolve_bootstrap,
    resolve_database_url,
)

ENV = {"KAFKA_BOOTSTRAP": "env:9092", "DATABASE_URL": "postgresql://env/db"}
CONFIG = {"kafka": {"bootstrap": "file:9092"}, "postgres": {"database_url": "postgresql://file/db"}}


def test_explicit_argument_wins_over_config_and_environment():
    options = LabOptions(bootstrap="arg:9092", database_url="postgresql://arg/db")
    assert resolve_bootstrap(options, CONFIG, ENV) == "arg:9092"
    assert resolve_database_url(options, CONFIG, ENV) == "postgresql://arg/db"


def test_config_file_wins_over_environment():
    assert resolve_bootstrap(LabOptions(), CONFIG, ENV) == "file:9092"
    assert resolve_database_url(LabOptions(), CONFIG, ENV) == "postgresql://file/db"


def test_environment_is_used_when_nothing_else_says():
    assert resolve_bootstrap(LabOptions(), {}, ENV) == "env:9092"
    assert resolve_database_url(LabOptions(), {}, ENV) == "postgresql://env/db"


def test_defaults_when_nothing_is_set():
    assert resolve_bootstrap(LabOptions(), {}, {}) == DEFAULT_BOOTSTRAP
    assert resolve_database_url(LabOptions(), {}, {}) is None


def test_config_file_is_read_from_kafkalab_toml_in_the_working_directory(tmp_path):
    (tmp_path / "kafkalab.toml").write_text('[kafka]\nbootstrap = "toml:1234"\n')
    config = load_config(LabOptions(), cwd=tmp_path)
    assert resolve_bootstrap(LabOptions(), config, {}) == "toml:1234"


def test_missing_explicit_config_file_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_config(LabOptions(config_path=str(tmp_path / "nope.toml")))
