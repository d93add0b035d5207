"""The registry launcher without starting anything: finding Java 21+, the JVM command, the compose
service, the CLI's answers when nothing runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from compose import registry
from compose.jdk import find_java
from compose.runtime import LauncherError
from scenarios.cli import main

COMPOSE_FILE = Path(__file__).resolve().parents[2] / "compose" / "docker-compose.yml"


def fake_jdk(root: Path, name: str, version: str) -> Path:
    home = root / name
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("#!/bin/sh\nexit 1\n")
    (home / "bin" / "java").chmod(0o755)
    (home / "release").write_text(f'IMPLEMENTOR="test"\nJAVA_VERSION="{version}"\n')
    return home / "bin" / "java"


def test_the_newest_java_of_at_least_21_is_chosen_from_the_jvm_folders(tmp_path: Path) -> None:
    fake_jdk(tmp_path, "java-17", "17.0.9")
    newest = fake_jdk(tmp_path, "temurin-25", "25.0.1")
    fake_jdk(tmp_path, "java-21", "21.0.2")
    assert find_java(21, env={"PATH": ""}, folders=[str(tmp_path)]) == str(newest.resolve())


def test_java_home_counts_when_it_is_new_enough(tmp_path: Path) -> None:
    home = fake_jdk(tmp_path / "home", "jdk", "22")
    fake_jdk(tmp_path / "folders", "old", "17")
    env = {"JAVA_HOME": str(home.parent.parent), "PATH": ""}
    assert find_java(21, env=env, folders=[str(tmp_path / "folders")]) == str(home.resolve())


def test_too_old_javas_are_named_in_the_error(tmp_path: Path) -> None:
    fake_jdk(tmp_path, "java-17", "17.0.9")
    fake_jdk(tmp_path, "java-8", "1.8.0_392")
    with pytest.raises(LauncherError) as error:
        find_java(21, env={"PATH": ""}, folders=[str(tmp_path)])
    message = str(error.value)
    assert message.startswith("Apicurio Registry needs Java 21+; found: ")
    assert "java-17/bin/java (17)" in message and "java-8/bin/java (8)" in message and "JAVA_HOME" in message


def test_no_java_at_all_says_none_was_found(tmp_path: Path) -> None:
    with pytest.raises(LauncherError, match="found: none"):
        find_java(21, env={"PATH": ""}, folders=[str(tmp_path)])


def test_the_registry_listens_on_loopback_only_and_marks_its_jvm(tmp_path: Path) -> None:
    data = registry.RegistryData(tmp_path)
    command = registry.registry_command("java", tmp_path / "app", 18181, data)
    assert "-Dquarkus.http.host=127.0.0.1" in command and "-Dquarkus.http.port=18181" in command
    assert "-Dquarkus.management.host=127.0.0.1" in command  # never Quarkus' default 0.0.0.0:9000
    assert f"-Dkafkalab.registry.data={tmp_path}" in command
    assert command[-2:] == ["-jar", str(tmp_path / "app" / "quarkus-run.jar")]


def test_the_compose_registry_is_the_launchers_version_on_the_launchers_port() -> None:
    service = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["registry"]
    assert service["image"] == f"apicurio/apicurio-registry:{registry.APICURIO_VERSION}"
    assert f"{registry.DEFAULT_PORT}:8080" in service["ports"]
    assert registry.API_PATH in service["healthcheck"]["test"][1]


def test_status_of_a_registry_that_was_never_started_is_not_running(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.delenv(registry.URL_ENV, raising=False)
    assert main(["registry", "status", "--data-dir", str(tmp_path)]) == 3
    out = capsys.readouterr().out
    assert "not running" in out and "ready  no (not running)" in out
    assert main(["registry", "down", "--data-dir", str(tmp_path)]) == 0
    assert "no schema registry started from here" in capsys.readouterr().out


def test_up_with_the_url_env_starts_nothing_and_reports_the_registry_it_found(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(registry.URL_ENV, "http://127.0.0.1:9/apis/ccompat/v7")
    result = registry.up(data=registry.RegistryData(tmp_path))
    assert (result.outcome, result.ready, result.running) == ("reused-env", False, False)
    assert "nothing answers" in result.detail and not any(tmp_path.iterdir())


def test_a_bad_port_is_refused_by_the_cli(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["registry", "up", "--port", "99999"])
    assert "99999 is not a port number" in capsys.readouterr().err
