"""The composition root: the one place that builds brokers, stores, clocks, ids, loggers and services.

Worlds, the process stack and the command line ask here for parts; nothing else in ``scenarios/``
calls ``KafkaBroker(...)``, ``PostgresStore(...)``, ``World(...)`` or ``build_shop(...)`` (a test
checks it). The kafka-mode adapters are imported only when a kafka part is asked for, so sim mode
runs without confluent-kafka or psycopg being loaded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import structlog

from adapters.memory_store import MemoryStore
from adapters.sim_broker import SimBroker
from scenarios.logs import STDERR
from scenarios.settings import Settings
from services.catalog import DEFAULT_CATALOG
from services.events import Topics
from services.fault_points import OrderEvents
from services.handling import Handler, ServiceConfig
from services.ids import IdGenerator, RandomIds, SeededIds
from services.order_api import OrderApi
from services.ports import Broker, Clock, StateStore
from services.runner import EventService
from services.shop import KINDS, Shop, build_shop
from sim import World


class WallClock:
    """``services.ports.Clock`` on the real clock (kafka mode)."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def sleep(self, ms: int) -> None:
        time.sleep(ms / 1000)


# ---------------------------------------------------------------- the simulated world


def sim_world(seed: int, *, trace: bool = True, brokers: int = 1) -> World:
    return World(seed, trace=trace, brokers=brokers)


def sim_broker(world: World) -> SimBroker:
    return SimBroker(world)


def memory_stores() -> dict[str, StateStore]:
    """One in-memory store per service kind (its instances share it, as they would a database)."""
    return {kind: MemoryStore() for kind in KINDS}


def seeded_ids(seed: int) -> IdGenerator:
    return SeededIds(seed)


# ---------------------------------------------------------------- the real world


def wall_clock() -> Clock:
    return WallClock()


def random_ids() -> IdGenerator:
    return RandomIds()


def kafka_broker(bootstrap: str, *, client_prefix: str = "kafkalab", timeout_s: float = 15.0,
                 extra: Mapping[str, Any] | None = None) -> Broker:
    """A confluent-kafka broker port for the cluster at ``bootstrap`` (usually ``settings.bootstrap``)."""
    from adapters.kafka_broker import KafkaBroker

    return KafkaBroker(bootstrap, client_prefix=client_prefix, timeout_s=timeout_s, extra=dict(extra or {}))


def postgres_store(dsn: str, schema: str, *, pool_size: int | None = None) -> StateStore:
    from adapters.postgres_store import DEFAULT_POOL_SIZE, PostgresStore

    return PostgresStore(dsn, schema, pool_size=pool_size or DEFAULT_POOL_SIZE)


def service_schema(kind: str, prefix: str = "", suffix: str = "") -> str:
    """The PostgreSQL schema of a service kind: ``order_svc``, or ``<prefix>order_svc<suffix>`` for a run."""
    from adapters.postgres_store import SERVICE_SCHEMAS

    return f"{prefix}{SERVICE_SCHEMAS[kind]}{suffix}"


def postgres_stores(settings: Settings, *, suffix: str = "") -> dict[str, StateStore]:
    """One PostgreSQL schema per service kind, e.g. ``payment_svc_<run>`` for a run's own state."""
    dsn = settings.database_url_or_local()
    return {kind: postgres_store(dsn, service_schema(kind, suffix=suffix)) for kind in KINDS}


# ---------------------------------------------------------------- schema registries and Avro


def memory_registry_client(saved: str | None = None) -> Any:
    """confluent's registry client over a fresh in-memory registry (the simulated world's; ids from 1),
    or over one a simulated run saved (``saved``: its JSON)."""
    from adapters.memory_registry import MemoryRegistry
    from adapters.registry_client import MemoryRegistryClient

    return MemoryRegistryClient(MemoryRegistry.from_json(saved) if saved else MemoryRegistry())


def registry_client(url: str, *, timeout_s: float = 10.0) -> Any:
    """confluent's registry client for the real registry at ``url`` (Apicurio's .../apis/ccompat/v7)."""
    from adapters.registry_client import connect

    return connect(url, timeout_s=timeout_s)


def registry_port(client: Any, url: str = "") -> Any:
    """The ``services.registry`` port over either client."""
    from adapters.registry_client import ConfluentRegistry

    return ConfluentRegistry(client, url)


def avro_codec(client: Any, *, writers: Mapping[str, str] | None = None,
               readers: Mapping[str, str] | None = None) -> Any:
    """Avro values through ``client``'s registry (``writers``/``readers``: event type -> schema text)."""
    from adapters.avro_codec import AvroCodec

    return AvroCodec(client, writers=writers, readers=readers)


# ---------------------------------------------------------------- loggers


def service_logger(level: str) -> Any:
    """The services' logger: structlog lines on stderr (never stdout, which --json owns), by level."""
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.ERROR)
    return structlog.wrap_logger(
        structlog.PrintLogger(STDERR),
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        processors=[structlog.processors.add_log_level, structlog.dev.ConsoleRenderer(colors=False)],
    )


def configure_process_logging(json_lines: bool = False) -> None:
    """A service process's structlog: one line per event on stderr, keys service, topic, partition..."""
    renderer: Any = structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(STDERR),
        cache_logger_on_first_use=True,
    )


def quiet_logs_to_stderr() -> None:
    """Whatever libraries log goes to stderr, so it never interleaves with JSON on stdout."""
    logging.basicConfig(stream=STDERR, level=logging.WARNING)
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=STDERR))


# ---------------------------------------------------------------- services


def shop(broker: Broker, stores: Mapping[str, StateStore], clock: Clock, ids: IdGenerator, *,
         config: ServiceConfig | None = None, per_kind: Mapping[str, ServiceConfig] | None = None,
         instances: Mapping[str, int] | None = None, logger: Any = None, create_topics: bool = True,
         partitions: int = 3) -> Shop:
    """The shop's three services over ``broker`` (``per_kind``: e.g. a slow inventory's own config)."""
    return build_shop(broker, stores, clock, ids, config=config, per_kind=per_kind, instances=instances,
                      logger=logger, create_topics=create_topics, partitions=partitions)


def event_service(name: str, handler: Handler, *, broker: Broker, store: StateStore, clock: Clock,
                  logger: Any, config: ServiceConfig) -> EventService:
    """One instance outside a shop (a service process runs exactly one)."""
    return EventService(name, handler, broker=broker, store=store, clock=clock, logger=logger, config=config)


def order_api(store: StateStore, clock: Clock, ids: IdGenerator, topics: Topics, *,
              order_events: OrderEvents = OrderEvents.RELAY, broker: Broker | None = None) -> OrderApi:
    """``order_events`` other than relay (a dual write, the outbox lab) produces from the API: ``broker``."""
    return OrderApi(store, clock, ids, catalog=DEFAULT_CATALOG, topics=topics, order_events=order_events,
                    broker=broker)


def avro_reader(client: Any, url: str = "") -> Any:
    """Reads any registry-framed Avro value with its writer schema (``kafkalab dlq show``, the console)."""
    from adapters.avro_reader import WireReader

    return WireReader(client, url)
