"""Kafka's own command-line tools, run from the same jars as the broker: ``kafkalab kafka-cli TOOL ...``."""

from __future__ import annotations

import os
import subprocess

from compose.runtime import LauncherError, ensure_jars, java_binary, tool_command
from compose.topology import EXTERNAL_BOOTSTRAP

# Script name (as in Kafka's bin/) -> main class in Kafka 4.4's jars.
TOOLS = {
    "kafka-topics": "org.apache.kafka.tools.TopicCommand",
    "kafka-consumer-groups": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "kafka-console-consumer": "org.apache.kafka.tools.consumer.ConsoleConsumer",
    "kafka-console-producer": "org.apache.kafka.tools.ConsoleProducer",
    "kafka-producer-perf-test": "org.apache.kafka.tools.ProducerPerformance",
    "kafka-consumer-perf-test": "org.apache.kafka.tools.ConsumerPerformance",
    "kafka-configs": "org.apache.kafka.tools.ConfigCommand",  # kafka.admin.ConfigCommand up to 4.3
    "kafka-metadata-quorum": "org.apache.kafka.tools.MetadataQuorumCommand",
    "kafka-get-offsets": "org.apache.kafka.tools.GetOffsetShell",
    "kafka-delete-records": "org.apache.kafka.tools.DeleteRecordsCommand",
    "kafka-transactions": "org.apache.kafka.tools.TransactionsCommand",
    "kafka-storage": "kafka.tools.StorageTool",
}

# Tools that talk to a cluster but take no --bootstrap-server (the storage tool works on files).
_NO_BOOTSTRAP = {"kafka-storage"}
_BOOTSTRAP_FLAGS = ("--bootstrap-server", "--bootstrap-controller", "--broker-list")
# Flags that only print and exit: adding --bootstrap-server would not hurt, but keep the call as typed.
_INFO_FLAGS = ("--help", "-h", "--version")


def tool_names() -> list[str]:
    return sorted(TOOLS)


def with_default_bootstrap(tool: str, args: list[str], bootstrap: str | None = None) -> list[str]:
    """``args`` plus ``--bootstrap-server <bootstrap>`` unless the user gave one (or asked for help)."""
    if tool in _NO_BOOTSTRAP or any(a in _INFO_FLAGS for a in args):
        return list(args)
    if any(a == flag or a.startswith(flag + "=") for a in args for flag in _BOOTSTRAP_FLAGS):
        return list(args)
    default = bootstrap or os.environ.get("KAFKA_BOOTSTRAP") or EXTERNAL_BOOTSTRAP
    # In front: tools with subcommands (kafka-metadata-quorum describe ...) only accept it there.
    return ["--bootstrap-server", default, *args]


def build_command(tool: str, args: list[str], bootstrap: str | None = None) -> list[str]:
    if tool not in TOOLS:
        raise LauncherError(f"unknown Kafka tool {tool!r}; known: {', '.join(tool_names())}")
    lib = ensure_jars().lib
    return tool_command(java_binary(), lib, TOOLS[tool], with_default_bootstrap(tool, args, bootstrap))


def run_tool(tool: str, args: list[str], *, capture: bool = False, timeout: float | None = None):
    """Run a Kafka CLI tool; inherits the terminal unless ``capture`` (then returns CompletedProcess)."""
    command = build_command(tool, args)
    return subprocess.run(command, capture_output=capture, text=True, timeout=timeout, check=False)
