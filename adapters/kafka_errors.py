"""Translate confluent-kafka errors into the broker port's exceptions.

Every ``KafkaError``/``KafkaException`` the Kafka adapter meets goes through ``translate`` so that
services see the same exception types in both worlds. Connection failures also get a message that
names the bootstrap address and says what to try, because "Local: Broker transport failure" teaches
nobody that ``kafka:29092`` only resolves inside the Docker network.
"""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException

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

# A broker could not be reached or did not answer in time.
UNREACHABLE = frozenset(
    {
        E._TRANSPORT,
        E._ALL_BROKERS_DOWN,
        E._RESOLVE,
        E._TIMED_OUT,
        E._TIMED_OUT_QUEUE,
        E._MSG_TIMED_OUT,
        E._WAIT_CACHE,
        E.REQUEST_TIMED_OUT,
        E.NETWORK_EXCEPTION,
        E.BROKER_NOT_AVAILABLE,
        E.LEADER_NOT_AVAILABLE,
        E.NOT_LEADER_FOR_PARTITION,
        E.NOT_CONTROLLER,
    }
)
COORDINATOR = frozenset(
    {E.COORDINATOR_NOT_AVAILABLE, E.COORDINATOR_LOAD_IN_PROGRESS, E.NOT_COORDINATOR, E._WAIT_COORD}
)
UNKNOWN_TOPIC = frozenset(
    {E.UNKNOWN_TOPIC_OR_PART, E._UNKNOWN_TOPIC, E._UNKNOWN_PARTITION, E.UNKNOWN_TOPIC_ID}
)
# The member lost its place in the group: its commits would overwrite the new owner's progress.
FENCED_MEMBER = frozenset(
    {
        E.ILLEGAL_GENERATION,
        E.UNKNOWN_MEMBER_ID,
        E.STALE_MEMBER_EPOCH,
        E.FENCED_MEMBER_EPOCH,
        E._ASSIGNMENT_LOST,
        E._MAX_POLL_EXCEEDED,
    }
)
BAD_CONFIG = frozenset(
    {
        E._INVALID_ARG,
        E._NOT_CONFIGURED,
        E._UNKNOWN_PROTOCOL,
        E.INVALID_CONFIG,
        E.INVALID_REPLICATION_FACTOR,
        E.INVALID_PARTITIONS,
        E.INVALID_REPLICA_ASSIGNMENT,
        E.INVALID_SESSION_TIMEOUT,
        E.INVALID_GROUP_ID,
        E.INCONSISTENT_GROUP_PROTOCOL,
        E.UNSUPPORTED_ASSIGNOR,
        E.INVALID_TRANSACTION_TIMEOUT,
        E.INVALID_REQUIRED_ACKS,
    }
)
PRODUCER_FENCED = frozenset({E._FENCED, E.PRODUCER_FENCED, E.INVALID_PRODUCER_EPOCH})
# Codes with exactly one port exception each.
SPECIFIC = {
    E.TOPIC_ALREADY_EXISTS: TopicAlreadyExists,
    E.REBALANCE_IN_PROGRESS: RebalanceInProgress,
    E.FENCED_INSTANCE_ID: FencedInstance,
    E.MSG_SIZE_TOO_LARGE: RecordTooLarge,
    E.RECORD_LIST_TOO_LARGE: RecordTooLarge,
    E._AUTO_OFFSET_RESET: OffsetOutOfRange,
    E.OFFSET_OUT_OF_RANGE: OffsetOutOfRange,
    E.NON_EMPTY_GROUP: GroupNotEmpty,
    E.GROUP_ID_NOT_FOUND: UnknownGroup,
    E.POLICY_VIOLATION: PolicyViolation,
    E.UNRELEASED_INSTANCE_ID: UnreleasedInstance,
    E.NOT_ENOUGH_REPLICAS: NotEnoughReplicas,
    E.NOT_ENOUGH_REPLICAS_AFTER_APPEND: NotEnoughReplicas,
}

# Hosts that only exist inside a container network (docker compose service names).
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}
_COMPOSE_HOSTS = {"kafka"}  # docker-compose.yml's broker hostname


def error_of(exc: BaseException | KafkaError) -> KafkaError | None:
    """The KafkaError inside a KafkaException (or the error itself); None for anything else."""
    if isinstance(exc, KafkaError):
        return exc
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return exc.args[0]
    return None


def translate(
    exc: BaseException | KafkaError,
    *,
    action: str = "",
    bootstrap: str | None = None,
    cause: KafkaError | None = None,
) -> BrokerError:
    """The port exception for ``exc``. The caller raises it (``raise translate(e) from e``).

    ``action`` is what was being done ("create topic orders"); ``cause`` is the last connection
    error the client reported, used to explain a bare timeout.
    """
    err = error_of(exc)
    if err is None:
        if isinstance(exc, BrokerError):
            return exc
        if isinstance(exc, (ValueError, TypeError)):
            return InvalidConfig(_join(action, str(exc)))
        return BrokerError(_join(action, f"{type(exc).__name__}: {exc}"))
    code = err.code()
    text = _join(action, f"{err.str()} [{err.name()}]")
    if code in UNREACHABLE:
        if bootstrap is not None:
            return BrokerUnavailable(unreachable_message(bootstrap, cause or err, action=action))
        return BrokerUnavailable(text)
    if code in COORDINATOR:
        return CoordinatorNotAvailable(
            text + ". The group coordinator is not ready yet (the broker may still be starting and "
            "creating __consumer_offsets); retry with backoff."
        )
    if code in UNKNOWN_TOPIC:
        return UnknownTopic(text)
    specific = SPECIFIC.get(code)
    if specific is not None:
        return specific(text)
    if code in PRODUCER_FENCED:
        return ProducerFenced(text)
    if code == E._FATAL and "fenced" in text.lower() and "instance" in text.lower():
        return FencedInstance(text)  # librdkafka's fatal error after FENCED_INSTANCE_ID
    if code == E._FATAL and "instance id is still used" in text.lower():
        return UnreleasedInstance(text)  # librdkafka's fatal error after UNRELEASED_INSTANCE_ID
    if code in FENCED_MEMBER:
        return CommitFailed(text)
    if code in BAD_CONFIG:
        return InvalidConfig(text)
    failure = BrokerError(text)
    failure.retriable = bool(err.retriable())
    return failure


def produce_failed(err: KafkaError, *, action: str = "", bootstrap: str | None = None) -> ProduceFailed:
    """A delivery report error as ProduceFailed (or its RecordTooLarge/ProducerFenced kinds); retriable when
    Kafka says so or the broker was unreachable."""
    mapped = translate(err, action=action, bootstrap=bootstrap)
    if isinstance(mapped, ProduceFailed):
        return mapped
    retriable = bool(err.retriable()) or isinstance(mapped, BrokerUnavailable)
    return ProduceFailed(str(mapped), retriable=retriable)


def is_connection_error(err: KafkaError) -> bool:
    """True for the errors librdkafka reports while it cannot reach any broker."""
    return err.code() in (E._TRANSPORT, E._ALL_BROKERS_DOWN, E._RESOLVE)


def unreachable_message(bootstrap: str, err: KafkaError | None = None, *, action: str = "") -> str:
    """Say which address failed, why, and what to try instead."""
    code = err.code() if err is not None else None
    if code == E._RESOLVE:
        why = "name does not resolve"
    elif code in (E._TRANSPORT, E._ALL_BROKERS_DOWN):
        why = "connection refused or dropped"
    else:
        why = "no answer in time"
    message = f"could not reach Kafka at {bootstrap} ({why})"
    if action:
        message += f" while trying to {action}"
    return message + ". " + _advice(bootstrap)


def _advice(bootstrap: str) -> str:
    first = bootstrap.split(",")[0].strip()
    host, _, port = first.rpartition(":")
    host = host or first
    if host in _COMPOSE_HOSTS:
        return (
            f"From the host use localhost:9092; {first} is the address inside the Docker network "
            "(it only resolves for containers on that network)."
        )
    if host not in _LOCAL_HOSTS and "." not in host:
        return f"Check the host name {host!r} (a local broker is localhost:9092; a remote one needs its full name)."
    if host in _LOCAL_HOSTS and port == "29092":
        return "Port 29092 is the listener for containers; from the host use localhost:9092."
    if host in _LOCAL_HOSTS:
        return (
            "Is the broker running? Start it with `kafkalab kafka up --wait` (or docker compose up), "
            "or point KAFKA_BOOTSTRAP at a running cluster."
        )
    return "Check the address and port, and that the broker's advertised.listeners are reachable from here."


def _join(action: str, text: str) -> str:
    return f"{action}: {text}" if action else text


class ConnectionWatch:
    """An ``error_cb`` that remembers the last connection error, to explain later timeouts."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.last: KafkaError | None = None
        self.fatal: KafkaError | None = None

    def __call__(self, err: KafkaError) -> None:
        if is_connection_error(err):
            self.last = err
        elif err.fatal():
            self.fatal = err

    def healthy(self) -> None:
        """A broker answered: forget old connection errors."""
        self.last = None

    def translate(self, exc: BaseException | KafkaError, action: str = "") -> BrokerError:
        return translate(exc, action=action, bootstrap=self.bootstrap, cause=self.last)
