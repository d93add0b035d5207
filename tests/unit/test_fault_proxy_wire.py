"""The fault proxy's protocol reading and fault decisions, without sockets."""

from __future__ import annotations

import struct

import pytest

from compose.faultproxy.faults import ConnectionInfo, FaultState, InFlight, ResponseRule
from compose.faultproxy.wire import (
    FrameSplitter,
    ProtocolError,
    api_key_of,
    encode_frame,
    parse_produce,
    parse_request_header,
    response_correlation_id,
)


def string(text: str | None) -> bytes:
    if text is None:
        return struct.pack(">h", -1)
    return struct.pack(">h", len(text)) + text.encode()


def compact(text: str | None) -> bytes:
    return bytes([0]) if text is None else bytes([len(text) + 1]) + text.encode()


def request(api_key: int, version: int, correlation_id: int, client_id: str | None, body: bytes = b"") -> bytes:
    """A request frame body (no size prefix); header v1 (v2 adds tagged fields, written by the caller)."""
    return struct.pack(">hhi", api_key, version, correlation_id) + string(client_id) + body


def produce_body(version: int, topics: list[str], acks: int = -1, records: bytes = b"batch") -> bytes:
    """Produce v3..v13 after the header; flexible from v9 (then the header's tagged fields come first)."""
    if version < 9:
        out = string(None) + struct.pack(">hi", acks, 30_000) + struct.pack(">i", len(topics))
        for topic in topics:
            out += string(topic) + struct.pack(">i", 1) + struct.pack(">i", 0)
            out += struct.pack(">i", len(records)) + records
        return out
    out = b"\x00" + compact(None) + struct.pack(">hi", acks, 30_000) + bytes([len(topics) + 1])
    for topic in topics:
        out += (bytes(16) if version >= 13 else compact(topic)) + bytes([2]) + struct.pack(">i", 0)
        out += bytes([len(records) + 1]) + records + b"\x00"
        out += b"\x00"
    return out + b"\x00"


def test_request_header_gives_api_version_correlation_id_and_client_id():
    header = parse_request_header(request(3, 12, 77, "payment-1"))
    assert (header.api, header.api_key, header.api_version, header.correlation_id, header.client_id) == (
        "Metadata", 3, 12, 77, "payment-1")
    assert parse_request_header(request(18, 3, 1, None)).client_id is None


def test_a_truncated_header_is_a_protocol_error():
    with pytest.raises(ProtocolError):
        parse_request_header(struct.pack(">hhi", 0, 9, 1) + struct.pack(">h", 10) + b"abc")


@pytest.mark.parametrize("version", [3, 7, 8, 9, 12])
def test_produce_requests_show_acks_and_topic_names_in_every_version(version):
    body = request(0, version, 5, "p", produce_body(version, ["orders", "payments"], acks=1))
    info = parse_produce(body, parse_request_header(body))
    assert (info.acks, info.topics, info.complete) == (1, ("orders", "payments"), True)


def test_produce_v13_names_topics_by_id():
    body = request(0, 13, 5, "p", produce_body(13, ["x"], acks=-1))
    info = parse_produce(body, parse_request_header(body))
    assert info.topics == ("id:" + "00" * 16,) and info.acks == -1


def test_a_produce_head_cut_short_keeps_the_topics_read_so_far():
    body = request(0, 7, 5, "p", produce_body(7, ["orders", "payments"], records=b"r" * 100))
    cut = body[: body.index(b"payments")]
    info = parse_produce(cut, parse_request_header(cut))
    assert info.topics == ("orders",) and not info.complete


def test_splitter_finds_every_frame_when_bytes_arrive_one_at_a_time():
    frames = [encode_frame(request(3, 12, n, "c", b"x" * n)) for n in range(5)]
    splitter = FrameSplitter(head_limit=1024, max_frame_bytes=1 << 20)
    pieces = [p for byte in b"".join(frames) for p in splitter.feed(bytes([byte]))]
    heads = [p.head for p in pieces if p.head is not None]
    assert [parse_request_header(h).correlation_id for h in heads] == [0, 1, 2, 3, 4]
    assert b"".join(p.data for p in pieces) == b"".join(frames)
    assert splitter.idle


def test_splitter_streams_a_frame_larger_than_its_head_limit_without_holding_it():
    body = struct.pack(">i", 9) + b"z" * 100_000
    splitter = FrameSplitter(head_limit=4, max_frame_bytes=1 << 20)
    stream = encode_frame(body) + encode_frame(struct.pack(">i", 10))
    pieces = [p for i in range(0, len(stream), 4096) for p in splitter.feed(stream[i:i + 4096])]
    assert [response_correlation_id(p.head) for p in pieces if p.head] == [9, 10]
    assert max(len(p.data) for p in pieces) <= 4096
    assert b"".join(p.data for p in pieces) == stream
    assert sum(p.ends_frame for p in pieces) == 2


@pytest.mark.parametrize("size", [-1, (1 << 20) + 1])
def test_splitter_refuses_a_size_that_is_not_kafka(size):
    with pytest.raises(ProtocolError, match="not a Kafka stream"):
        FrameSplitter(head_limit=8, max_frame_bytes=1 << 20).feed(struct.pack(">i", size) + b"abcd")


def test_api_names_and_keys_both_select_an_api():
    assert api_key_of("Produce") == api_key_of("produce") == api_key_of(0) == api_key_of("0") == 0
    assert api_key_of("OffsetCommit") == 8
    with pytest.raises(ValueError, match="unknown Kafka API 'Nope'"):
        api_key_of("Nope")


# ---------------------------------------------------------------------------- fault decisions

CONN = ConnectionInfo(node=1, connection=1, client_id="shop")


def decide(state: FaultState, api_key: int = 0, client: str = "shop", topics: tuple[str, ...] = ("orders",),
           correlation_id: int = 1, acks: int = -1):
    body = request(api_key, 7, correlation_id, client, produce_body(7, list(topics), acks) if api_key == 0 else b"")
    header = parse_request_header(body)
    produce = parse_produce(body, header) if api_key == 0 else None
    conn = ConnectionInfo(1, 1, client)
    verdict = state.on_request(conn, header, produce)
    return verdict, state.on_response(conn, InFlight(header, verdict, topics)) if verdict.expects_response else None


def test_lose_ack_drops_only_the_next_produce_responses_it_was_armed_for():
    state = FaultState()
    state.arm_response_rule(ResponseRule("lose_ack", "drop", 0, remaining=2))
    assert decide(state, api_key=3)[1] == (True, 0.0)  # Metadata is not an ack
    outcomes = [decide(state, correlation_id=n)[1] for n in (10, 11, 12)]
    assert outcomes == [(False, 0.0), (False, 0.0), (True, 0.0)]
    report = state.report()
    assert report["counts"]["response_dropped"] == 2 and report["by_fault"]["lose_ack"] == 4
    dropped = [e for e in report["events"] if e["action"] == "response_dropped"]
    assert [(e["api"], e["correlation_id"], e["client_id"]) for e in dropped] == [
        ("Produce", 10, "shop"), ("Produce", 11, "shop")]
    assert report["active"]["responses"] == []


def test_response_rules_filter_by_client_id_and_topic():
    state = FaultState()
    state.arm_response_rule(ResponseRule("lose_ack", "drop", 0, 1, client_id="payment", topic="payments"))
    assert decide(state, client="order", topics=("payments",))[1] == (True, 0.0)
    assert decide(state, client="payment", topics=("orders",))[1] == (True, 0.0)
    assert decide(state, client="payment", topics=("payments",))[1] == (False, 0.0)


def test_an_acks_0_produce_expects_no_response_and_arms_nothing():
    state = FaultState()
    state.arm_response_rule(ResponseRule("lose_ack", "drop", 0, 1))
    verdict, _ = decide(state, acks=0)
    assert not verdict.expects_response
    assert state.report()["active"]["responses"][0]["remaining"] == 1


def test_delay_ack_adds_its_hold_to_the_latency_back_to_the_client():
    state = FaultState()
    state.slow_network(50, "to_client")
    state.arm_response_rule(ResponseRule("delay_ack", "delay", 0, 1, delay_ms=200))
    assert decide(state)[1] == (True, pytest.approx(0.25))
    assert decide(state)[1] == (True, pytest.approx(0.05))


def test_isolated_clients_are_swallowed_or_cut_and_others_pass():
    state = FaultState()
    state.isolate("inventory", "blackhole")
    state.isolate("payment", "cut")
    assert decide(state, client="inventory")[0].action == "swallow"
    assert decide(state, client="payment")[0].action == "cut"
    assert decide(state, client="order")[0].action == "forward"
    state.heal()
    assert decide(state, client="inventory")[0].action == "forward"
    assert state.report()["active"]["isolated"] == {}


def test_broker_down_lasts_its_milliseconds_on_the_given_clock():
    now = [100.0]
    state = FaultState(clock=lambda: now[0])
    state.broker_down(1500, node=2)
    assert state.is_down(2) and not state.is_down(1)
    now[0] += 1.499
    assert state.is_down(2)
    now[0] += 0.002
    assert not state.is_down(2) and state.report()["active"]["broker_down"] == []


def test_every_event_reaches_the_listener_in_order():
    seen = []
    state = FaultState(on_event=seen.append)
    state.arm_response_rule(ResponseRule("lose_ack", "drop", 0, 1))
    decide(state, correlation_id=42)
    assert [(e["fault"], e["action"]) for e in seen] == [
        ("lose_ack", "armed"), ("lose_ack", "request_passed_response_to_drop"), ("lose_ack", "response_dropped")]
    assert [e["seq"] for e in seen] == [1, 2, 3]
