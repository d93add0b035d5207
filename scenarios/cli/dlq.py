"""``kafkalab dlq list [TOPIC] | show TOPIC PARTITION OFFSET | redrive TOPIC [PARTITION OFFSET]``.

The dead letters of the last ``lab check`` (of the last lab you touched, or ``--lab``), in its mode:

- sim: that check's simulated world is rebuilt from its recorded script, with every redrive since
  replayed on top as a step, so the answer is exact and the same every time;
- kafka: that run's own topics (``kl-<run>-<topic>``, kept until the next check). Redrive produces
  the copies to their source topic, then runs the consumer group that dead-lettered them until it
  has caught up, so what happens to them is seen at once.

The operations themselves are functions over the broker port (scenarios.ops.dlq).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import uuid
from typing import Any

from scenarios import learner, root, session
from scenarios.cli.common import add_settings_options, settings_of
from scenarios.engine.model import Script, Stage, Step
from scenarios.ops import dlq
from scenarios.root import quiet_logs_to_stderr
from scenarios.validation import ConfigError
from services.ports import BrokerError

TOPICS = ("orders.dlq", "payments.dlq", "inventory.dlq")
CATCH_UP_S = 30.0
LIBRDKAFKA_LOGGER = "kafkalab.librdkafka"  # adapters.kafka_broker names it (not imported: sim needs no client)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("dlq", help="dead letters of the last lab check: list, show, redrive")
    sub = parser.add_subparsers(dest="dlq_command", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="dead letters with their error headers")
    ls.add_argument("topic", nargs="?", help="one DLQ topic, e.g. payments.dlq (default: all)")
    show = sub.add_parser("show", help="one dead letter: key, value, every header")
    show.add_argument("topic")
    show.add_argument("partition", type=int)
    show.add_argument("offset", type=int)
    redrive = sub.add_parser("redrive", help="send dead letters back to their source topic (after a fix)")
    redrive.add_argument("topic")
    redrive.add_argument("partition", type=int, nargs="?", help="only the letter at PARTITION OFFSET")
    redrive.add_argument("offset", type=int, nargs="?")
    redrive.add_argument("--max-redrives", type=int, default=dlq.DEFAULT_MAX_REDRIVES,
                         help=f"refuse letters redriven this often already (default {dlq.DEFAULT_MAX_REDRIVES})")
    for p, func in ((ls, cmd_list), (show, cmd_show), (redrive, cmd_redrive)):
        p.add_argument("--lab", default=None, help="whose last check (default: the lab you touched last)")
        p.add_argument("--json", action="store_true", help="one JSON object on stdout")
        add_settings_options(p, logs=False, keep=False)
        p.set_defaults(func=func)


class _Where:
    """Whose dead letters: the lab's state, its mode, and the run (kafka) or script (sim) behind them."""

    def __init__(self, args: argparse.Namespace) -> None:
        quiet_logs_to_stderr()
        logging.getLogger(LIBRDKAFKA_LOGGER).setLevel(logging.CRITICAL)  # its connect errors: said once, below
        self.settings = settings_of(args)
        self.files = learner.files(self.settings)
        name = args.lab or self.files.current()
        if name is None:
            raise learner.NotStarted("no lab run to look at: run `kafkalab lab start poison-pill` first")
        self.state, self.script = learner.last_script(name, self.settings)
        self.registry_json: str | None = None  # sim: the replayed world's registry, for Avro values
        topic = getattr(args, "topic", None)
        if topic is not None and topic not in TOPICS:
            raise ConfigError(f"{topic!r} is not a dead-letter topic; they are {', '.join(TOPICS)}")

    @property
    def mode(self) -> str:
        return self.state.mode

    def letters(self, topic: str | None, redrive: dict[str, Any] | None = None) -> tuple[list[Any], dict]:
        """The dead letters now (and the result of one more redrive, when asked)."""
        if self.mode == "kafka":
            return self._kafka_letters(topic, redrive)
        steps = [*self.state.redrives, *([redrive] if redrive else [])]
        last = self.script.stages[-1]
        phase = last.phases[-1]
        extra = tuple(s for r in steps for s in (Step("redrive", r), Step("quiet", {"ms": 10_000})))
        replayed = Script(self.script.lab, self.script.seed, "sim", (Stage(last.label, last.expect, last.knobs, (
            type(phase)(phase.name, phase.world, phase.steps + extra),)),))
        obs = session.play_script(replayed, self.settings).last
        assert obs is not None
        self.registry_json = obs.registry_json
        result = obs.redrives[-1] if redrive and obs.redrives else {}
        return [r for t, rs in sorted(obs.dlq_records().items()) if topic in (None, t) for r in rs], result

    def _kafka_letters(self, topic: str | None, redrive: dict[str, Any] | None) -> tuple[list[Any], dict]:
        from scenarios.ops.readback import read_topics

        if not self.state.prefixes:
            raise learner.NotStarted("the last kafka check kept no topics: run `kafkalab lab check` again")
        prefix = self.state.prefixes[0]
        broker = root.kafka_broker(self.settings.bootstrap, client_prefix="kafkalab-dlq")
        try:  # a broker that does not answer is one line, not an empty list after a long wait
            root.kafka_broker(self.settings.bootstrap, client_prefix="kafkalab-dlq", timeout_s=5.0).admin().list_topics()
        except BrokerError as exc:
            raise ConfigError(f"dlq: {exc}") from None
        names = [prefix + t for t in TOPICS if topic in (None, t)]
        result: dict[str, Any] = {}
        if redrive:
            result = self._kafka_redrive(broker, prefix, names, redrive)
        deadline = _Deadline(20.0)
        found = read_topics(broker, names, f"{prefix}kafkalab-dlq-{uuid.uuid4().hex[:6]}", wait=deadline.open)
        return [_logical(r, prefix) for t in names for r in found.get(t, [])], result

    def _kafka_redrive(self, broker: Any, prefix: str, names: list[str], step: dict[str, Any]) -> dict[str, Any]:
        from scenarios.ops.readback import read_topics
        from scenarios.worlds import open_world_now

        found = read_topics(broker, names, f"{prefix}kafkalab-dlq-{uuid.uuid4().hex[:6]}", wait=_Deadline(20.0).open)
        letters = [r for t in names for r in found.get(t, []) if f"{r.topic}/{r.partition}/{r.offset}"
                   not in self.state.redriven and step.get("partition") in (None, r.partition)
                   and step.get("offset") in (None, r.offset)]
        producer = broker.producer()
        try:
            sent, refused = dlq.redrive(producer, letters, step["max_redrives"])
        finally:
            producer.close()
        refused_at = {line.split(" ")[0] for line in refused}
        self.state.redriven += [f"{r.topic}/{r.partition}/{r.offset}" for r in letters
                                if f"{r.topic}[{r.partition}]@{r.offset}" not in refused_at]
        self.files.save(self.state)
        kinds = sorted({(dlq.summary(r)["group"] or "").removeprefix(prefix).removesuffix("-service") for r in letters})
        if sent and kinds:
            phase = self.script.stages[-1].phases[-1]
            spec = phase.world.model_copy(update={"instances": {k: int(k in kinds) for k in ("order", "payment", "inventory")}})
            world = open_world_now("kafka", self.script.seed, spec, self.settings, keep=True, run_id=prefix[3:-1])
            try:
                world.catch_up(kinds, CATCH_UP_S)
            finally:
                world.close()
        return {"sent": len(sent), "refused": [line.replace(prefix, "") for line in refused]}

    def reader(self) -> Any:
        """What reads an Avro value: the sim run's registry, or the kafka world's (``registry_url``)."""
        if self.mode == "kafka":
            url = self.settings.registry_url
            return root.avro_reader(root.registry_client(url, timeout_s=5.0), url)
        return root.avro_reader(root.memory_registry_client(self.registry_json)) if self.registry_json else None


class _Deadline:
    def __init__(self, seconds: float) -> None:
        import time

        self._end = time.monotonic() + seconds
        self._now = time.monotonic

    def open(self) -> bool:
        return self._now() < self._end


def _logical(r: Any, prefix: str) -> Any:
    from dataclasses import replace

    return replace(r, topic=r.topic.removeprefix(prefix))


def cmd_list(args: argparse.Namespace) -> int:
    where = _Where(args)
    rows = [dlq.summary(r) for r in where.letters(args.topic)[0]]
    if args.json:
        print(json.dumps({"dead_letters": rows, "mode": where.mode}, sort_keys=True))
        return 0
    for row in rows:
        print(f"{row['dlq']:<22} from {row['source']} group={row['group']} attempts={row['attempts']} "
              f"redrives={row['redrives']}\n    error: {row['error']}")
    print(f"{len(rows)} dead letter(s)" + ("" if rows else " (is the dead-letter queue on in .kafkalab/lab.toml?)"))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    where = _Where(args)
    for r in where.letters(args.topic)[0]:
        if (r.partition, r.offset) == (args.partition, args.offset):
            print(json.dumps(dlq.detail(r, where.reader()), indent=None if args.json else 2, sort_keys=True))
            return 0
    print(f"no dead letter at {args.topic} partition {args.partition} offset {args.offset} "
          f"(`kafkalab dlq list {args.topic}` lists them)", file=sys.stderr)
    return 1


def cmd_redrive(args: argparse.Namespace) -> int:
    if (args.partition is None) != (args.offset is None):
        raise ConfigError("dlq redrive TOPIC [PARTITION OFFSET]: give both PARTITION and OFFSET, or neither")
    where = _Where(args)
    step = {"topic": args.topic, "max_redrives": args.max_redrives,
            **({"partition": args.partition, "offset": args.offset} if args.partition is not None else {})}
    letters, result = where.letters(args.topic, step)
    if where.mode == "sim":
        where.state.redrives.append(step)
        where.files.save(where.state)
    payload = {"redriven": result.get("sent", 0), "refused": result.get("refused", []), "dead_letters": len(letters),
               "mode": where.mode}
    if args.json:
        print(json.dumps(payload, sort_keys=True))
        return 0
    for reason in payload["refused"]:
        print(f"refused: {reason}")
    print(f"redriven {payload['redriven']} to their source topic ({where.mode}); dead letters now: {len(letters)}")
    return 0
