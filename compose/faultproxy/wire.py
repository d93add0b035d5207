"""Just enough of the Kafka wire protocol for a fault proxy: frame boundaries and request headers.

Every request and response is a frame: an int32 big-endian size, then that many bytes. A request body
starts with int16 api_key, int16 api_version, int32 correlation_id and a nullable int16-length
client_id (the same in header versions 1 and 2); a response body starts with the correlation_id.
Produce requests are read a little further (acks, topic names): acks=0 gets no response at all, and
a lost ack may be aimed at one topic.

Frames are never held whole: :class:`FrameSplitter` cuts a byte stream into pieces, handing out each
frame's *head* (its first bytes, enough to parse) once and the rest as it streams past, so a 50 MB
Fetch response costs no more memory than a small one.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

PRODUCE = 0
API_NAMES = {
    0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 8: "OffsetCommit", 9: "OffsetFetch",
    10: "FindCoordinator", 11: "JoinGroup", 12: "Heartbeat", 13: "LeaveGroup", 14: "SyncGroup",
    15: "DescribeGroups", 16: "ListGroups", 18: "ApiVersions", 19: "CreateTopics", 20: "DeleteTopics",
    22: "InitProducerId", 24: "AddPartitionsToTxn", 25: "AddOffsetsToTxn", 26: "EndTxn",
    28: "TxnOffsetCommit", 32: "DescribeConfigs", 36: "SaslAuthenticate", 60: "DescribeCluster",
    68: "ConsumerGroupHeartbeat", 69: "ConsumerGroupDescribe",
}  # fmt: skip
API_KEYS = {name: key for key, name in API_NAMES.items()}
PRODUCE_FIRST_FLEXIBLE = 9  # Produce v9+: compact strings and arrays, tagged fields
PRODUCE_FIRST_TOPIC_ID = 13  # Produce v13+: topics by id, not by name
# How much of a frame is gathered before it is forwarded: a request's head must hold its whole header
# (a client id may be 32767 bytes) and, for Produce, the first topic names; a response's, its
# correlation id.
REQUEST_HEAD_LIMIT = 64 * 1024
RESPONSE_HEAD_LIMIT = 4


class ProtocolError(ValueError):
    """Bytes that are not a Kafka frame we can read (truncated, negative length, oversized)."""


def api_name(api_key: int) -> str:
    return API_NAMES.get(api_key, f"api{api_key}")


def api_key_of(name_or_key: str | int) -> int:
    """``"Produce"``, ``"produce"``, ``0`` or ``"0"`` -> 0; anything else is a ValueError naming the known ones."""
    if isinstance(name_or_key, int) or str(name_or_key).isdigit():
        return int(name_or_key)
    by_lower = {name.lower(): key for name, key in API_KEYS.items()}
    try:
        return by_lower[str(name_or_key).lower()]
    except KeyError:
        raise ValueError(f"unknown Kafka API {name_or_key!r}; known: {', '.join(sorted(API_KEYS))}") from None


@dataclass(frozen=True, slots=True)
class RequestHeader:
    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None
    size: int  # bytes of the header fields read (not counting tagged fields)

    @property
    def api(self) -> str:
        return api_name(self.api_key)


@dataclass(frozen=True, slots=True)
class ProduceInfo:
    acks: int
    transactional_id: str | None
    topics: tuple[str, ...]  # names (v3-12) or "id:<hex>" (v13+); only those inside the parsed head
    complete: bool  # False: the head ended before every topic was read


class _Reader:
    def __init__(self, data: bytes | memoryview, offset: int = 0) -> None:
        self.data, self.pos = data, offset

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ProtocolError(f"truncated: wanted {n} bytes at {self.pos} of {len(self.data)}")
        chunk = bytes(self.data[self.pos:self.pos + n])
        self.pos += n
        return chunk

    def int16(self) -> int:
        return struct.unpack(">h", self.take(2))[0]

    def int32(self) -> int:
        return struct.unpack(">i", self.take(4))[0]

    def uvarint(self) -> int:
        value = shift = 0
        while True:
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
            if shift > 28:
                raise ProtocolError("varint longer than 5 bytes")

    def string(self, compact: bool) -> str | None:
        length = self.uvarint() - 1 if compact else self.int16()
        return None if length < 0 else self.take(length).decode("utf-8", errors="replace")

    def array_length(self, compact: bool) -> int:
        return self.uvarint() - 1 if compact else self.int32()

    def skip_tagged_fields(self) -> None:
        for _ in range(self.uvarint()):
            self.uvarint()  # tag
            self.take(self.uvarint())


def parse_request_header(body: bytes | memoryview) -> RequestHeader:
    """The header fields every request version has; ``body`` is a frame without its size prefix."""
    reader = _Reader(body)
    api_key, api_version, correlation_id = reader.int16(), reader.int16(), reader.int32()
    client_id = reader.string(compact=False)  # never compact, even in flexible header v2
    return RequestHeader(api_key, api_version, correlation_id, client_id, reader.pos)


def response_correlation_id(body: bytes | memoryview) -> int:
    return _Reader(body).int32()


def parse_produce(body: bytes | memoryview, header: RequestHeader) -> ProduceInfo:
    """acks, transactional id and topics of a Produce request (v3+), reading no further than ``body``."""
    flexible = header.api_version >= PRODUCE_FIRST_FLEXIBLE
    reader = _Reader(body, header.size)
    if flexible:
        reader.skip_tagged_fields()  # request header v2's
    transactional_id = reader.string(flexible)
    acks = reader.int16()
    reader.int32()  # timeout_ms
    topics: list[str] = []
    try:
        for _ in range(reader.array_length(flexible)):
            if header.api_version >= PRODUCE_FIRST_TOPIC_ID:
                topics.append("id:" + reader.take(16).hex())
            else:
                topics.append(reader.string(flexible) or "")
            for _ in range(reader.array_length(flexible)):  # partitions
                reader.int32()  # index
                length = reader.uvarint() - 1 if flexible else reader.int32()
                reader.take(max(length, 0))  # the record batch
                if flexible:
                    reader.skip_tagged_fields()
            if flexible:
                reader.skip_tagged_fields()
    except ProtocolError:
        return ProduceInfo(acks, transactional_id, tuple(topics), complete=False)
    return ProduceInfo(acks, transactional_id, tuple(topics), complete=True)


def encode_frame(body: bytes) -> bytes:
    return struct.pack(">i", len(body)) + body


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of bytes of one frame; ``head`` (size prefix stripped) is set on a frame's first piece."""

    data: bytes
    head: bytes | None = None
    frame_size: int = 0  # body size of the frame this piece starts (with ``head``)
    ends_frame: bool = False


class FrameSplitter:
    """Cuts a stream into frame pieces; holds at most ``head_limit`` + 4 bytes of any frame.

    ``feed`` returns the pieces that the new bytes complete, in order. A frame's first piece carries its
    head: the first ``min(size, head_limit)`` body bytes (and the raw bytes, prefix included, to
    forward). A size above ``max_frame_bytes`` or below 0 is a ProtocolError: the stream is not Kafka.
    """

    def __init__(self, head_limit: int, max_frame_bytes: int) -> None:
        self.head_limit = head_limit
        self.max_frame_bytes = max_frame_bytes
        self._pending = bytearray()  # a size prefix or a head still being gathered
        self._remaining = 0  # body bytes of the current frame still to stream after its head

    def feed(self, data: bytes) -> list[Piece]:
        pieces: list[Piece] = []
        view = memoryview(data)
        if self._remaining >= len(data):  # the whole chunk is the middle of a large frame: pass it on as it is
            self._remaining -= len(data)
            return [Piece(data, ends_frame=not self._remaining)] if data else []
        while view:
            if self._remaining:
                take = min(self._remaining, len(view))
                self._remaining -= take
                pieces.append(Piece(bytes(view[:take]), ends_frame=not self._remaining))
                view = view[take:]
                continue
            self._pending += view
            view = memoryview(b"")
            piece = self._head_piece()
            while piece is not None:
                pieces.append(piece)
                if self._remaining:
                    break  # the rest of this frame is streamed from the next bytes
                piece = self._head_piece()
            if self._remaining and self._pending:
                view, self._pending = memoryview(bytes(self._pending)), bytearray()
        return pieces

    def _head_piece(self) -> Piece | None:
        if len(self._pending) < 4:
            return None
        size = struct.unpack_from(">i", self._pending)[0]
        if size < 0 or size > self.max_frame_bytes:
            raise ProtocolError(f"frame size {size} is outside 0..{self.max_frame_bytes}: not a Kafka stream")
        head_size = min(size, self.head_limit)
        if len(self._pending) < 4 + head_size:
            return None
        raw = bytes(self._pending[:4 + head_size])
        del self._pending[:4 + head_size]
        self._remaining = size - head_size
        return Piece(raw, head=raw[4:], frame_size=size, ends_frame=not self._remaining)

    @property
    def idle(self) -> bool:
        """True between frames (nothing of a frame gathered or owed)."""
        return not self._pending and not self._remaining
