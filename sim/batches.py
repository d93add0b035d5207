"""A produce request's batch for one partition, as the broker sees it: its size, what the broker refuses,
and a digest of its content for the trace.

The broker accepts or refuses a batch whole, as Kafka does: a batch over the topic's max.message.bytes,
a keyless record in a compacted topic, or a CreateTime timestamp outside the topic's
message.timestamp.before/after.max.ms fails every record in it.
"""

from __future__ import annotations

import marshal
import zlib
from typing import TYPE_CHECKING

from services.port_types import RECORD_OVERHEAD, headers_size
from services.ports import BrokerError, ProduceFailed, RecordTooLarge, UnknownTopic

from .log import BATCH_OVERHEAD

if TYPE_CHECKING:
    from .broker_config import TopicSettings

STORED_OVERHEAD = 10  # a record's varints and attributes inside a batch, as the model counts them
BATCH_LIMIT = 1_000_000  # librdkafka's batch.size default: no batch grows beyond it (nor message.max.bytes)


def stored_size(key, value, headers) -> int:
    """A record's bytes in a batch (the model: key, value, headers and STORED_OVERHEAD)."""
    return (len(key) if key else 0) + (len(value) if value else 0) + (headers_size(headers) if headers else 0) + STORED_OVERHEAD


class Batch:
    """The records queued for one partition, as columns (built once per flush in C: ``zip``)."""

    __slots__ = ("tp", "keys", "values", "headers", "stamps", "explicit_ts", "bytes")

    def __init__(self, tp: tuple[str, int], entries: list, explicit_ts: bool, header_bytes: int | None = None) -> None:
        """``header_bytes``: the records' header bytes if the producer counted them already."""
        self.tp = tp
        self.keys, self.values, self.headers, self.stamps = zip(*entries, strict=True)
        self.explicit_ts = explicit_ts
        size = sum(map(len, filter(None, self.keys))) + sum(map(len, filter(None, self.values)))
        if header_bytes is not None:
            size += header_bytes
        elif any(self.headers):
            size += sum(map(headers_size, filter(None, self.headers)))
        self.bytes = BATCH_OVERHEAD + size + STORED_OVERHEAD * len(entries)

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def max_ts(self) -> int:
        return max(self.stamps) if self.explicit_ts else self.stamps[-1]

    def digest(self) -> str:
        """CRC-32 of the keys, values and headers (and producer-set timestamps) in marshal's version 2
        format, which is canonical (no back-references: equal content, equal bytes). A content check
        for the trace, whose own sha256 chains it; not a signature."""
        parts = (self.keys, self.values, self.headers, self.stamps if self.explicit_ts else None)
        return f"{zlib.crc32(marshal.dumps(parts, 2)):08x}"

    def refusal(self, settings: TopicSettings | None, now: int, limit: int) -> BrokerError | None:
        """What the broker answers to this batch, or None if it takes it."""
        topic, partition = self.tp
        if settings is None:
            return UnknownTopic(f"produce to {topic}: topic was deleted [UNKNOWN_TOPIC_OR_PART]")
        if min(self.bytes, limit) > settings.max_message_bytes:
            return RecordTooLarge(f"produce to {topic}-{partition}: a batch of {self.bytes} bytes is larger than the "
                                  f"topic's max.message.bytes={settings.max_message_bytes} "
                                  "[MSG_SIZE_TOO_LARGE: Broker: Message size too large]")
        if settings.compact and None in self.keys:
            return ProduceFailed(f"produce to {topic}-{partition}: compacted topic cannot accept a record without a "
                                 "key [INVALID_RECORD: Broker failed to validate record]")
        if self.explicit_ts and not settings.log_append_time and (
                max(self.stamps) - now > settings.timestamp_after_max_ms
                or now - min(self.stamps) > settings.timestamp_before_max_ms):
            return ProduceFailed(f"produce to {topic}-{partition}: a timestamp is outside the topic's "
                                 "message.timestamp.before/after.max.ms [INVALID_TIMESTAMP]")
        return None

    def chunks(self, limit: int) -> list[Batch]:
        """Split into batches no larger than ``limit`` bytes, as librdkafka never builds a bigger one."""
        if self.bytes <= limit:
            return [self]
        out, current, size = [], [], BATCH_OVERHEAD
        for entry in zip(self.keys, self.values, self.headers, self.stamps, strict=True):
            n = stored_size(*entry[:3])
            if current and size + n > limit:
                out.append(Batch(self.tp, current, self.explicit_ts))
                current, size = [], BATCH_OVERHEAD
            current.append(entry)
            size += n
        out.append(Batch(self.tp, current, self.explicit_ts))
        return out


__all__ = ["BATCH_LIMIT", "RECORD_OVERHEAD", "STORED_OVERHEAD", "Batch", "stored_size"]
