"""Kafka 4.4's topic configs: names, types, defaults and valid values, checked as the broker checks them.

The table was written from the broker's own config definitions (``LogConfig``) and each refusal was
tried on a real 4.4 broker; the messages are the broker's. Unknown names, values that do not parse as
the config's type, values out of range and contradictory pairs raise ``InvalidConfig`` (Kafka's
INVALID_CONFIG), at create_topics and at alter_topic_config alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from services.ports import InvalidConfig

LONG_MAX = 2**63 - 1
INT_MAX = 2**31 - 1
_INTEGER = re.compile(r"[+-]?\d+")
_DOUBLE = re.compile(r"[+-]?(NaN|Infinity|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)[fFdD]?")
_REPLICA = re.compile(r"\d+:\d+")

Check = Callable[[object], str | None]  # the reason a parsed value is refused, or None


@dataclass(frozen=True, slots=True)
class ConfigKey:
    name: str
    type: str  # BOOLEAN, INT, LONG, DOUBLE, STRING, LIST (Kafka's ConfigDef types)
    default: str
    check: Check | None = None
    internal: bool = False  # accepted but never described (internal.segment.bytes)


def at_least(low: float) -> Check:
    return lambda v: None if v >= low else f"Value must be at least {_num(low)}"


def between(low: float, high: float) -> Check:
    def check(v):
        if v < low:
            return f"Value must be at least {_num(low)}"
        if v > high:
            return f"Value must be no more than {_num(high)}"
        return None
    return check


def one_of(*allowed: str) -> Check:
    return lambda v: None if v in allowed else f"String must be one of: {', '.join(allowed)}"


def each_of(*allowed: str) -> Check:
    def check(values):
        bad = [v for v in values if v not in allowed]
        return f"String must be one of: {', '.join(allowed)}" if bad else None
    return check


def _gzip_level(v) -> str | None:
    return None if v == -1 or 1 <= v <= 9 else "Value must be between 1 and 9 or equal to -1"


def _throttled(name: str) -> Check:
    def check(values):
        if values == ["*"] or all(_REPLICA.fullmatch(v) for v in values):
            return None
        return (f"{name} must be the literal '*' or a list of replicas in the following format: "
                "[partitionId]:[brokerId],[partitionId]:[brokerId],...")
    return check


def _num(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else str(n)


_KEYS = [
    ConfigKey("segment.bytes", "INT", "1073741824", at_least(1_048_576)),
    ConfigKey("segment.ms", "LONG", "604800000", at_least(1)),
    ConfigKey("segment.jitter.ms", "LONG", "0", at_least(0)),
    ConfigKey("segment.index.bytes", "INT", "10485760", at_least(4)),
    ConfigKey("flush.messages", "LONG", str(LONG_MAX), at_least(1)),
    ConfigKey("flush.ms", "LONG", str(LONG_MAX), at_least(0)),
    ConfigKey("retention.bytes", "LONG", "-1"),
    ConfigKey("retention.ms", "LONG", "604800000", at_least(-1)),
    ConfigKey("max.message.bytes", "INT", "1048588", at_least(0)),
    ConfigKey("max.decompressed.message.bytes", "INT", "2147483639", between(1, 2147483639)),
    ConfigKey("index.interval.bytes", "INT", "4096", at_least(0)),
    ConfigKey("delete.retention.ms", "LONG", "86400000", at_least(0)),
    ConfigKey("min.compaction.lag.ms", "LONG", "0", at_least(0)),
    ConfigKey("max.compaction.lag.ms", "LONG", str(LONG_MAX), at_least(1)),
    ConfigKey("file.delete.delay.ms", "LONG", "60000", at_least(0)),
    ConfigKey("min.cleanable.dirty.ratio", "DOUBLE", "0.5", between(0, 1)),
    ConfigKey("cleanup.policy", "LIST", "delete", each_of("compact", "delete")),
    ConfigKey("unclean.leader.election.enable", "BOOLEAN", "false"),
    ConfigKey("min.insync.replicas", "INT", "1", at_least(1)),
    ConfigKey("compression.type", "STRING", "producer",
              one_of("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")),
    ConfigKey("compression.gzip.level", "INT", "-1", _gzip_level),
    ConfigKey("compression.lz4.level", "INT", "9", between(1, 17)),
    ConfigKey("compression.zstd.level", "INT", "3", between(-131072, 22)),
    ConfigKey("preallocate", "BOOLEAN", "false"),
    ConfigKey("message.timestamp.type", "STRING", "CreateTime", one_of("CreateTime", "LogAppendTime")),
    ConfigKey("message.timestamp.before.max.ms", "LONG", str(LONG_MAX), at_least(0)),
    ConfigKey("message.timestamp.after.max.ms", "LONG", "3600000", at_least(0)),
    ConfigKey("leader.replication.throttled.replicas", "LIST", "",
              _throttled("leader.replication.throttled.replicas")),
    ConfigKey("follower.replication.throttled.replicas", "LIST", "",
              _throttled("follower.replication.throttled.replicas")),
    ConfigKey("remote.storage.enable", "BOOLEAN", "false"),
    ConfigKey("local.retention.ms", "LONG", "-2", at_least(-2)),
    ConfigKey("local.retention.bytes", "LONG", "-2", at_least(-2)),
    ConfigKey("remote.log.copy.disable", "BOOLEAN", "false"),
    ConfigKey("remote.copy.lag.ms", "LONG", "0", at_least(-1)),
    ConfigKey("remote.copy.lag.bytes", "LONG", "-1", at_least(-1)),
    ConfigKey("remote.log.delete.on.disable", "BOOLEAN", "false"),
    ConfigKey("errors.deadletterqueue.group.enable", "BOOLEAN", "false"),
    ConfigKey("internal.segment.bytes", "INT", "", internal=True),
]
TOPIC_CONFIGS: dict[str, ConfigKey] = {k.name: k for k in _KEYS}


def parse(key: ConfigKey, raw: str) -> object:
    """``raw`` as Kafka's ConfigDef parses it (trimmed), or InvalidConfig naming the value and config."""
    text = raw.strip()
    kind = key.type
    if kind in ("INT", "LONG"):
        limit = INT_MAX if kind == "INT" else LONG_MAX
        if not _INTEGER.fullmatch(text) or not -limit - 1 <= int(text) <= limit:
            raise _invalid(raw, key.name, f"Not a number of type {kind}")
        return int(text)
    if kind == "DOUBLE":
        if not _DOUBLE.fullmatch(text):
            raise _invalid(raw, key.name, "Not a number of type DOUBLE")
        return float(text.rstrip("fFdD").replace("Infinity", "inf"))
    if kind == "BOOLEAN":
        if text.lower() not in ("true", "false"):
            raise _invalid(raw, key.name, "Expected value to be either true or false")
        return text.lower() == "true"
    if kind == "LIST":
        return [] if not text else re.split(r"\s*,\s*", text)
    return text


def _invalid(raw: object, name: str, reason: str) -> InvalidConfig:
    return InvalidConfig(f"Invalid value {raw} for configuration {name}: {reason}")


def validate(config: Mapping[str, str]) -> dict[str, object]:
    """Check every entry as the broker does; return the parsed values by name."""
    parsed: dict[str, object] = {}
    for name, raw in config.items():
        key = TOPIC_CONFIGS.get(name)
        if key is None:
            raise InvalidConfig(f"Unknown topic config name: {name}")
        if not isinstance(raw, str):
            raise InvalidConfig(f"Invalid value {raw!r} for configuration {name}: a topic config value is a string")
        value = parse(key, raw)
        reason = key.check(value) if key.check is not None else None
        if reason is not None:
            shown = f"[{', '.join(value)}]" if key.type == "LIST" and key.name.endswith("replicas") else raw
            raise _invalid(shown, name, reason)
        parsed[name] = value
    return parsed


def check_combination(values: Mapping[str, object]) -> None:
    """The cross-field rules the broker applies to the effective config (LogConfig.validateValues)."""
    low, high = values["min.compaction.lag.ms"], values["max.compaction.lag.ms"]
    if low > high:
        raise InvalidConfig(f"conflict topic config setting min.compaction.lag.ms ({low}) > "
                            f"max.compaction.lag.ms ({high})")
    if values["remote.storage.enable"]:
        raise InvalidConfig("Tiered Storage functionality is disabled in the broker. "
                            "Topic cannot be configured with remote log storage.")
