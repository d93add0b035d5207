"""Settings, resolved once per command: the command line, then ``./kafkalab.toml``, then the environment.

Every setting, its default, its environment variable and its place in ``kafkalab.toml`` is written
once, in ``Settings`` below; nothing else in kafkalab reads those variables or picks a default::

    [kafka]
    bootstrap = "localhost:9092"                                # or KAFKA_BOOTSTRAP
    [postgres]
    database_url = "postgresql://kafkalab@localhost/kafkalab"   # or DATABASE_URL

``Settings.resolve(overrides)`` is what a command calls with the options its user typed (``None``
for "not given"). Built on pydantic-settings: its sources give the precedence, its model the types.
A bad ``kafkalab.toml`` or a bad value raises ``SettingsError``: one line naming the file or the
variable, the key, and what was expected.
"""

from __future__ import annotations

import contextvars
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from compose.registry import registry_url
from compose.topology import EXTERNAL_BOOTSTRAP
from scenarios.validation import (
    ConfigError,
    describe_validation_error,
    did_you_mean,
    expected_got,
    toml_syntax_error,
)

CONFIG_FILE = "kafkalab.toml"
LogLevel = Literal["debug", "info", "warning", "error", "critical"]


class SettingsError(ConfigError):
    """A setting that cannot be used; the message says where it came from and what would work."""


def _setting(default: Any, *, env: str | None = None, toml: str | None = None, help: str) -> Any:
    """A field and where it may come from: ``env`` a variable, ``toml`` "section.key" of kafkalab.toml."""
    return Field(default, description=help, json_schema_extra={"env": env, "toml": toml})


class Settings(BaseSettings):
    """What kafkalab runs against and how. Frozen: resolved once, then passed down."""

    model_config = SettingsConfigDict(extra="forbid", frozen=True)

    bootstrap: str = _setting(EXTERNAL_BOOTSTRAP, env="KAFKA_BOOTSTRAP", toml="kafka.bootstrap",
                              help="Kafka bootstrap servers, host:port[,host:port]")
    database_url: str | None = _setting(None, env="DATABASE_URL", toml="postgres.database_url",
                                        help="PostgreSQL DSN; unset: the local server, set up on demand")
    registry_url: str = _setting(registry_url(), env="KAFKALAB_REGISTRY_URL", toml="registry.url",
                                 help="schema registry (Confluent-compatible API), e.g. Apicurio's .../apis/ccompat/v7")
    lab_dir: Path = _setting(Path(".kafkalab"), env="KAFKALAB_LAB_DIR",
                             help="learner-mode state: lab.toml, lab.json, charts")
    state_dir: Path = _setting(Path(".kafkalab"), env="KAFKALAB_STATE",
                               help="`kafkalab up`: the service processes' pids and logs")
    quiet_timeout_s: float = _setting(120.0, env="KAFKALAB_QUIET_TIMEOUT_S",
                                      help="kafka mode: deadline for the system to go quiet")
    log_level: LogLevel = _setting("error", help="services' log lines on stderr at this level and above")
    keep: bool = _setting(False, help="kafka mode: keep a run's kl-<run>- topics and schemas to inspect")
    config_file: Path | None = _setting(None, help="a kafkalab.toml other than ./kafkalab.toml")

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Highest first: what the command line passed, then the config file, then the environment.
        return init_settings, _TomlFile(settings_cls, init_settings), _Environment(settings_cls)

    @classmethod
    def resolve(cls, overrides: Mapping[str, Any] | None = None, *, cwd: Path | None = None,
                env: Mapping[str, str] | None = None) -> Settings:
        """The settings of one command. ``overrides``: the command line's values (None: not given)."""
        given = {k: v for k, v in (overrides or {}).items() if v is not None}
        token = _WHERE.set((cwd or Path.cwd(), os.environ if env is None else env))
        try:
            return cls(**given)
        except ValidationError as exc:
            raise SettingsError(describe_validation_error(exc, "command line", _origin)) from None
        finally:
            _WHERE.reset(token)

    def database_url_or_local(self) -> str:
        """The DSN to use: the configured one, else the local server's (role and database created)."""
        if self.database_url:
            return self.database_url
        from compose.postgres import ensure_database

        return ensure_database()


def setting_origins() -> dict[str, tuple[str | None, str | None]]:
    """Field name -> (environment variable, "section.key" in kafkalab.toml)."""
    return {name: (_extra(f, "env"), _extra(f, "toml")) for name, f in Settings.model_fields.items()}


def _extra(field: FieldInfo, key: str) -> str | None:
    extra = field.json_schema_extra
    value = extra.get(key) if isinstance(extra, dict) else None
    return value if isinstance(value, str) else None


def _origin(name: str) -> str:
    return name.replace("_", "-")  # as the command line spells it: --database-url


def _checked(name: str, value: Any, where: str, *, strict: bool) -> Any:
    """``value`` as field ``name``'s type, or a SettingsError that says where it came from."""
    annotation = Settings.model_fields[name].annotation
    try:
        return TypeAdapter(annotation).validate_python(value, strict=strict)
    except ValidationError as exc:
        raise SettingsError(f"{where}: {expected_got(exc)}") from None


# ---------------------------------------------------------------- sources (cwd and env of the resolve in progress)

_WHERE: contextvars.ContextVar[tuple[Path, Mapping[str, str]]] = contextvars.ContextVar("kafkalab_settings_where")


class _Environment(PydanticBaseSettingsSource):
    """Exactly the variables ``Settings`` names (nothing guessed from field names)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        env = _WHERE.get()[1]
        found = {}
        for name, (variable, _toml) in setting_origins().items():
            if variable and env.get(variable):
                found[name] = _checked(name, env[variable], f"${variable}", strict=False)
        return found


class _TomlFile(PydanticBaseSettingsSource):
    """``[section] key = value`` of kafkalab.toml, for the fields that name a place there."""

    def __init__(self, settings_cls: type[BaseSettings], init: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        self._init = init

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        explicit = self._init().get("config_file")
        path = Path(explicit) if explicit else _WHERE.get()[0] / CONFIG_FILE
        if not path.is_file():
            if explicit:
                raise SettingsError(f"{path}: no such config file (--config)")
            return {}
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(toml_syntax_error(path, exc)) from None
        by_key = {toml: name for name, (_env, toml) in setting_origins().items() if toml}
        found: dict[str, Any] = {}
        for section, table in data.items():
            for key, value in (table.items() if isinstance(table, dict) else [("", table)]):
                place = f"{section}.{key}" if key else section
                name = by_key.get(place)
                if name is None:
                    raise SettingsError(f"{path}: unknown setting {place!r}{did_you_mean(place, sorted(by_key))}; "
                                        f"known: {', '.join(sorted(by_key))}")
                found[name] = _checked(name, value, f"{path}: [{section}] {key}", strict=True)
        return found
