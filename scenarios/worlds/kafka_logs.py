"""librdkafka's own connection lines, captured while a kafka world runs: what a learner would read in
a real service's log ("kafka:29092/bootstrap: Failed to resolve 'kafka:29092'...")."""

from __future__ import annotations

import logging
import threading

from adapters.kafka_broker import LIBRDKAFKA_LOGGER

_KEEP = ("Failed to resolve", "Connect to", "Coordinator", "coordinator", "Connection refused")


class LibrdkafkaLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self._lines: list[str] = []
        self._lock_lines = threading.Lock()
        self._logger = logging.getLogger(LIBRDKAFKA_LOGGER)
        self._old: tuple[int, bool] | None = None

    def install(self) -> LibrdkafkaLines:
        self._old = (self._logger.level, self._logger.propagate)
        self._logger.addHandler(self)
        self._logger.setLevel(logging.DEBUG)
        self._logger.propagate = False  # the lines are the lab's findings, reported in its checks, not noise
        return self

    def uninstall(self) -> None:
        if self._old is not None:
            self._logger.removeHandler(self)
            self._logger.setLevel(self._old[0])
            self._logger.propagate = self._old[1]
            self._old = None

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage().split("]: ", 1)[-1].split(" (after ")[0]
        if any(k in text for k in _KEEP):
            with self._lock_lines:
                if text not in self._lines:
                    self._lines.append(text)

    def connection_errors(self, limit: int = 10) -> list[str]:
        with self._lock_lines:
            return self._lines[:limit]
