"""Errors only the simulator raises; each subclasses a port error where a service should treat it as one."""

from __future__ import annotations

from services.ports import BrokerError, ProduceFailed


class ClientClosed(RuntimeError):
    """The client was closed or crashed by a fault; using it again is a programming error, not a broker error."""


class ProducerFenced(ProduceFailed):
    """A newer producer with the same transactional id took over; this one can never send again."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retriable=False)


class OffsetOutOfRange(BrokerError):
    """No committed offset and auto_offset_reset='error' (or the position fell outside the log)."""


class TransactionStateError(BrokerError):
    """A transactional call made in the wrong state (e.g. commit without begin)."""


class FencedInstance(BrokerError):
    """A newer consumer with the same group_instance_id took this static member's place."""
