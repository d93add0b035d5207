"""The confluent-kafka adapter maps each librdkafka error to the broker port's exception."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException

from adapters.kafka_errors import ConnectionWatch, produce_failed, translate, unreachable_message
from services.ports import (
    BrokerError,
    BrokerUnavailable,
    CommitFailed,
    CoordinatorNotAvailable,
    FencedInstance,
    GroupNotEmpty,
    InvalidConfig,
    NotEnoughReplicas,
    OffsetOutOfRange,
    PolicyViolation,
    ProduceFailed,
    ProducerFenced,
    RebalanceInProgress,
    RecordTooLarge,
    TopicAlreadyExists,
    UnknownGroup,
    UnknownTopic,
    UnreleasedInstance,
)

E = KafkaError


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (E._TRANSPORT, BrokerUnavailable),
        (E._ALL_BROKERS_DOWN, BrokerUnavailable),
        (E._RESOLVE, BrokerUnavailable),
        (E._TIMED_OUT, BrokerUnavailable),
        (E.REQUEST_TIMED_OUT, BrokerUnavailable),
        (E.COORDINATOR_NOT_AVAILABLE, CoordinatorNotAvailable),
        (E.COORDINATOR_LOAD_IN_PROGRESS, CoordinatorNotAvailable),
        (E.NOT_COORDINATOR, CoordinatorNotAvailable),
        (E.UNKNOWN_TOPIC_OR_PART, UnknownTopic),
        (E._UNKNOWN_TOPIC, UnknownTopic),
        (E._UNKNOWN_PARTITION, UnknownTopic),
        (E.TOPIC_ALREADY_EXISTS, TopicAlreadyExists),
        (E.ILLEGAL_GENERATION, CommitFailed),
        (E.UNKNOWN_MEMBER_ID, CommitFailed),
        (E.FENCED_INSTANCE_ID, FencedInstance),
        (E.UNRELEASED_INSTANCE_ID, UnreleasedInstance),
        (E._MAX_POLL_EXCEEDED, CommitFailed),
        (E.REBALANCE_IN_PROGRESS, RebalanceInProgress),
        (E._INVALID_ARG, InvalidConfig),
        (E.INVALID_CONFIG, InvalidConfig),
        (E.INVALID_REPLICATION_FACTOR, InvalidConfig),
        (E.INVALID_SESSION_TIMEOUT, InvalidConfig),
        (E.MSG_SIZE_TOO_LARGE, RecordTooLarge),
        (E._AUTO_OFFSET_RESET, OffsetOutOfRange),
        (E.OFFSET_OUT_OF_RANGE, OffsetOutOfRange),
        (E._FENCED, ProducerFenced),
        (E.PRODUCER_FENCED, ProducerFenced),
        (E.NON_EMPTY_GROUP, GroupNotEmpty),
        (E.GROUP_ID_NOT_FOUND, UnknownGroup),
        (E.POLICY_VIOLATION, PolicyViolation),
    ],
)
def test_maps_each_kafka_error_code_to_its_port_exception(code: int, expected: type[BrokerError]) -> None:
    mapped = translate(KafkaError(code))
    assert type(mapped) is expected
    assert KafkaError(code).name() in str(mapped)


def test_unwraps_kafka_exception_and_names_the_action() -> None:
    mapped = translate(KafkaException(KafkaError(E.UNKNOWN_TOPIC_OR_PART)), action="end offsets of orders")
    assert isinstance(mapped, UnknownTopic)
    assert str(mapped).startswith("end offsets of orders: ")


def test_rebalance_in_progress_is_a_retriable_commit_failure() -> None:
    mapped = translate(KafkaError(E.REBALANCE_IN_PROGRESS))
    assert isinstance(mapped, CommitFailed)
    assert mapped.retriable
    assert not translate(KafkaError(E.ILLEGAL_GENERATION)).retriable


def test_coordinator_not_available_is_retriable_and_says_why() -> None:
    mapped = translate(KafkaError(E.COORDINATOR_LOAD_IN_PROGRESS))
    assert mapped.retriable
    assert "__consumer_offsets" in str(mapped)


def test_unmapped_code_keeps_kafkas_retriable_flag() -> None:
    retriable = translate(KafkaError(E.KAFKA_STORAGE_ERROR, "storage", retriable=True))
    fatal = translate(KafkaError(E.CLUSTER_AUTHORIZATION_FAILED))
    assert type(retriable) is BrokerError and retriable.retriable
    assert type(fatal) is BrokerError and not fatal.retriable


def test_not_enough_replicas_is_the_ports_own_retriable_error() -> None:
    for code in (E.NOT_ENOUGH_REPLICAS, E.NOT_ENOUGH_REPLICAS_AFTER_APPEND):
        mapped = translate(KafkaError(code, "not enough", retriable=True))
        assert isinstance(mapped, NotEnoughReplicas) and mapped.retriable and "NOT_ENOUGH_REPLICAS" in str(mapped)


def test_docker_internal_name_gets_host_advice() -> None:
    err = KafkaError(E._RESOLVE, "kafka:29092/bootstrap: Failed to resolve 'kafka:29092'")
    mapped = translate(err, bootstrap="kafka:29092")
    assert isinstance(mapped, BrokerUnavailable)
    message = str(mapped)
    assert "could not reach Kafka at kafka:29092 (name does not resolve)" in message
    assert "From the host use localhost:9092" in message
    assert "inside the Docker network" in message


def test_an_unknown_short_host_name_is_not_taken_for_docker() -> None:
    message = unreachable_message("nosuchhost:9092", KafkaError(E._RESOLVE))
    assert "nosuchhost:9092 (name does not resolve)" in message and "Docker" not in message
    assert "Check the host name 'nosuchhost'" in message


def test_refused_localhost_suggests_starting_the_broker() -> None:
    message = unreachable_message("localhost:9092", KafkaError(E._TRANSPORT))
    assert "localhost:9092 (connection refused or dropped)" in message
    assert "kafkalab kafka up --wait" in message


def test_container_port_from_the_host_is_explained() -> None:
    message = unreachable_message("localhost:29092", KafkaError(E._TRANSPORT))
    assert "from the host use localhost:9092" in message


def test_timeout_is_explained_by_the_last_connection_error() -> None:
    watch = ConnectionWatch("kafka:29092")
    watch(KafkaError(E._RESOLVE, "Failed to resolve 'kafka:29092'"))
    watch(KafkaError(E._ALL_BROKERS_DOWN, "1/1 brokers are down"))
    mapped = watch.translate(KafkaException(KafkaError(E._TIMED_OUT)), "fetch metadata")
    assert isinstance(mapped, BrokerUnavailable)
    assert "kafka:29092 (connection refused or dropped) while trying to fetch metadata" in str(mapped)
    watch.healthy()
    assert watch.last is None


def test_watch_ignores_non_connection_errors_but_keeps_fatal_ones() -> None:
    watch = ConnectionWatch("localhost:9092")
    watch(KafkaError(E._FENCED, "fenced", fatal=True))
    assert watch.last is None
    assert watch.fatal is not None and watch.fatal.code() == E._FENCED


def test_delivery_errors_become_produce_failed_with_retriable_flag() -> None:
    too_large = produce_failed(KafkaError(E.MSG_SIZE_TOO_LARGE))
    timed_out = produce_failed(KafkaError(E._MSG_TIMED_OUT))
    leader_moved = produce_failed(KafkaError(E.NOT_ENOUGH_REPLICAS, retriable=True))
    assert isinstance(too_large, ProduceFailed) and not too_large.retriable
    assert timed_out.retriable
    assert leader_moved.retriable


def test_python_type_errors_in_settings_are_invalid_config() -> None:
    assert isinstance(translate(TypeError("expected int for linger.ms")), InvalidConfig)


# ---------------------------------------------------------------- through the real client, no broker


def test_wrong_bootstrap_gives_a_clear_message_from_the_admin_client() -> None:
    from adapters.kafka_broker import KafkaBroker

    admin = KafkaBroker("kafka:29092", timeout_s=2.0).admin()
    with pytest.raises(BrokerUnavailable) as caught:
        admin.list_topics()
    message = str(caught.value)
    assert "could not reach Kafka at kafka:29092 (name does not resolve)" in message
    assert "From the host use localhost:9092" in message


def test_unknown_assignor_is_invalid_config() -> None:
    from adapters.kafka_broker import KafkaBroker
    from services.ports import ConsumerConfig

    with pytest.raises(InvalidConfig, match="partition.assignment.strategy|bogus"):
        KafkaBroker("localhost:1").consumer(ConsumerConfig(group_id="g", assignor="bogus"))  # type: ignore[arg-type]


def test_idempotence_without_acks_all_is_invalid_config() -> None:
    from adapters.kafka_broker import KafkaBroker
    from services.ports import ProducerConfig

    with pytest.raises(InvalidConfig, match="acks"):
        KafkaBroker("localhost:1").producer(ProducerConfig(acks="1", enable_idempotence=True))


def test_consumer_poll_against_a_wrong_address_raises_broker_unavailable() -> None:
    import time

    from adapters.kafka_broker import KafkaBroker
    from services.ports import ConsumerConfig

    consumer = KafkaBroker("kafka:29092").consumer(ConsumerConfig(group_id="unreachable"))
    consumer.subscribe(["orders"])
    deadline = time.monotonic() + 10
    try:
        with pytest.raises(BrokerUnavailable, match="kafka:29092 .*From the host use localhost:9092"):
            while time.monotonic() < deadline:
                consumer.poll(timeout=0.2)
    finally:
        consumer.close()


def test_flush_against_a_wrong_address_fails_retriably_and_names_it() -> None:
    from adapters.kafka_broker import KafkaBroker

    producer = KafkaBroker("kafka:29092").producer()
    producer.produce("orders", b"v")
    with pytest.raises(ProduceFailed) as caught:
        producer.flush(timeout=1.0)
    assert caught.value.retriable
    assert "could not reach Kafka at kafka:29092" in str(caught.value)
    assert producer.flush(timeout=0.1) == []  # the failed record was dropped, not left to leak later
