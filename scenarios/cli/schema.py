"""``kafkalab schema list|show|diff|compat|register``: the event schemas in a registry, on both worlds.

- ``--mode sim`` (default): the in-process registry saved by a simulated run (``--file``, default
  ``.kafkalab/sim-registry.json``); with no file yet, one holding the schemas shipped in
  ``services/schemas`` under the default topics. ``compat`` and ``register`` save back to the file.
- ``--mode kafka``: a real registry's Confluent-compatible API: ``--registry-url``, else
  ``kafkalab.toml`` ``[registry] url``, else ``KAFKALAB_REGISTRY_URL``, else the local one that
  ``kafkalab registry up`` starts.

``diff SUBJECT [V1 V2]`` (default: the two newest versions) labels each change compatible or
breaking under the subject's level. Bad input gets one line saying what and what to try.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from services import registry as port
from services import schemas

DEFAULT_FILE = Path(".kafkalab") / "sim-registry.json"


def register(subparsers: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--mode", choices=("sim", "kafka"), default="sim", help="which world's registry (default sim)")
    common.add_argument("--registry-url", help="kafka mode: the registry's Confluent-compatible API URL")
    common.add_argument("--file", help=f"sim mode: the saved registry (default {DEFAULT_FILE})")
    common.add_argument("--config", help="kafka mode: a kafkalab.toml to read [registry] url from")

    schema = subparsers.add_parser("schema", help="the event schemas in the schema registry (list, show, diff, ...)")
    actions = schema.add_subparsers(dest="schema_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", parents=[common], help="subjects with their versions, latest id and level")
    listing.set_defaults(func=_guarded(_list))
    show = actions.add_parser("show", parents=[common], help="one version of a subject (default: latest)")
    show.add_argument("subject")
    show.add_argument("version", nargs="?", default="latest", type=_version)
    show.set_defaults(func=_guarded(_show))
    diff = actions.add_parser("diff", parents=[common], help="changes between two versions, compatible or breaking")
    diff.add_argument("subject")
    diff.add_argument("versions", nargs="*", type=_version, metavar="V1 V2", help="default: the two newest")
    diff.set_defaults(func=_guarded(_diff))
    compat = actions.add_parser("compat", parents=[common], help="show or set a subject's (or the global) level")
    compat.add_argument("subject", nargs="?", help="omit for the global level")
    compat.add_argument("level", nargs="?", type=str.upper, choices=port.LEVELS, metavar="LEVEL",
                        help=f"set it: one of {', '.join(port.LEVELS)}")
    compat.set_defaults(func=_guarded(_compat))
    add = actions.add_parser("register", parents=[common], help="register an .avsc file as a subject's next version")
    add.add_argument("subject")
    add.add_argument("schema_file", metavar="FILE")
    add.add_argument("--check", action="store_true", help="only test compatibility; register nothing")
    add.set_defaults(func=_guarded(_register))


def _version(text: str) -> int | str:
    if text == "latest":
        return text
    if text.isdigit() and int(text) > 0:
        return int(text)
    raise argparse.ArgumentTypeError(f"{text!r} is not a version (a number from 1, or 'latest')")


class _Bad(Exception):
    """User input the command cannot act on; the message is the one line to print."""


def _guarded(command):
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args, _open(args))
        except (_Bad, port.RegistryError) as exc:
            print(f"kafkalab: {' '.join(_one_line(exc, args).split())}", file=sys.stderr)
            return 1

    return run


def _one_line(exc: Exception, args: argparse.Namespace) -> str:
    if isinstance(exc, port.RegistryUnavailable):
        return (f"{str(exc).rstrip('.')}. Start one with `kafkalab registry up`, or point --registry-url (or "
                f"KAFKALAB_REGISTRY_URL) at a running registry's .../apis/ccompat/v7.")  # fmt: skip
    if isinstance(exc, port.SubjectNotFound):
        return f"no subject {args.subject!r} in the {args.mode} registry; `kafkalab schema list --mode {args.mode}` shows them."
    if isinstance(exc, port.VersionNotFound):
        return f"subject {args.subject!r} has no such version; `kafkalab schema show {args.subject}` shows the latest."
    if isinstance(exc, port.IncompatibleSchema):
        return (f"the registry refused it (409): {exc.reason}. Make the change compatible (a new field needs a "
                f"default) or change the level: `kafkalab schema compat {exc.subject} LEVEL`.")  # fmt: skip
    if isinstance(exc, port.InvalidSchema):
        return f"{getattr(args, 'schema_file', 'the schema')}: {exc}; fix the file and try again."
    return str(exc).replace("\n", " ")


def _open(args: argparse.Namespace) -> port.SchemaRegistry:
    if args.mode == "kafka":
        from adapters.registry_client import ConfluentRegistry, connect

        url = _registry_url(args)
        try:
            return ConfluentRegistry(connect(url, timeout_s=5.0, retries=0), url)
        except ValueError:
            raise _Bad(f"{url!r} is not a registry URL; give one like http://127.0.0.1:8081/apis/ccompat/v7") from None
    from adapters.memory_registry import MemoryRegistry

    path = _sim_file(args)
    if path.exists():
        try:
            return MemoryRegistry.load(path)
        except (ValueError, KeyError, TypeError, OSError) as exc:
            raise _Bad(f"{path} is not a saved sim registry ({exc}); delete it, or pass another --file.") from None
    if args.file:
        raise _Bad(f"{path} does not exist; a simulated run saves its registry there, or omit --file.")
    return shipped_registry()


def shipped_registry():
    """A memory registry holding every shipped schema version, under the default topics' subjects."""
    from adapters.memory_registry import MemoryRegistry
    from services.events import Topics

    registry, topics = MemoryRegistry(), Topics()
    for event_type, versions in schemas.available().items():
        for version in versions:
            registry.register(schemas.subject(topics.for_event(event_type), event_type),
                              schemas.schema_text(event_type, version))  # fmt: skip
    return registry


def _sim_file(args: argparse.Namespace) -> Path:
    """--file, else sim-registry.json in the lab folder (where a simulated lab check saves it)."""
    from scenarios.cli.common import settings_of
    from scenarios.settings import SettingsError

    if args.file:
        return Path(args.file)
    try:
        return settings_of(args).lab_dir / DEFAULT_FILE.name
    except SettingsError as exc:
        raise _Bad(str(exc)) from None


def _registry_url(args: argparse.Namespace) -> str:
    from scenarios.cli.common import settings_of
    from scenarios.settings import SettingsError

    if args.registry_url:
        return args.registry_url
    try:
        return settings_of(args).registry_url
    except SettingsError as exc:
        raise _Bad(str(exc)) from None


def _save(args: argparse.Namespace, registry: port.SchemaRegistry) -> None:
    if args.mode == "sim":
        path = _sim_file(args)
        registry.save(path)
        print(f"(saved the sim registry to {path})", file=sys.stderr)


# ------------------------------------------------------------ the actions


def _list(args: argparse.Namespace, registry: port.SchemaRegistry) -> int:
    subjects = registry.subjects()
    if not subjects:
        print(f"no subjects in the {args.mode} registry")
        return 0
    width = max(len(s) for s in subjects)
    print(f"{'SUBJECT':<{width}}  VERSIONS  LATEST ID  COMPATIBILITY")
    for subject in subjects:
        latest = registry.get(subject)
        print(f"{subject:<{width}}  {len(registry.versions(subject)):>8}  {latest.schema_id:>9}  "
              f"{registry.compatibility(subject)}")  # fmt: skip
    return 0


def _show(args: argparse.Namespace, registry: port.SchemaRegistry) -> int:
    found = registry.get(args.subject, args.version)
    print(f"{found.subject} version {found.version} (id {found.schema_id}), compatibility "
          f"{registry.compatibility(found.subject)}")  # fmt: skip
    print(json.dumps(json.loads(found.schema), indent=2))
    return 0


def _diff(args: argparse.Namespace, registry: port.SchemaRegistry) -> int:
    from adapters.schema_diff import diff

    versions = registry.versions(args.subject)
    if len(args.versions) not in (0, 2):
        raise _Bad("give two versions to compare (e.g. `1 2`), or none for the two newest")
    if not args.versions and len(versions) < 2:
        raise _Bad(f"{args.subject} has only version {versions[0]}: nothing to compare yet")
    first, second = args.versions or versions[-2:]
    old, new = registry.get(args.subject, first), registry.get(args.subject, second)
    level = registry.compatibility(args.subject)
    result = diff(old.schema, new.schema, level)
    print(f"{args.subject}: version {old.version} (id {old.schema_id}) -> version {new.version} "
          f"(id {new.schema_id}), compatibility {level}")  # fmt: skip
    if not result.changes:
        print("  no changes (docs aside)")
    width = max((len(c.what) for c in result.changes), default=0)
    for change in result.changes:
        why = f"  ({change.why})" if change.why else ""
        print(f"  {change.symbol} {change.what:<{width}}  {change.label}{why}")
    if level == "NONE":
        print("verdict: NONE checks nothing: the registry accepts any new version")
    elif result.compatible:
        print(f"verdict: compatible under {level}" + (" (against this version only)" if "TRANSITIVE" in level else ""))
    else:
        print(f"verdict: breaking under {level}: {'; '.join(result.problems)}")
    return 0


def _compat(args: argparse.Namespace, registry: port.SchemaRegistry) -> int:
    where = args.subject or "global"
    if args.level:
        registry.set_compatibility(args.level, args.subject)
        _save(args, registry)
        print(f"{where}: compatibility {args.level}")
    else:
        print(f"{where}: compatibility {registry.compatibility(args.subject)}")
    return 0


def _register(args: argparse.Namespace, registry: port.SchemaRegistry) -> int:
    path = Path(args.schema_file)
    try:
        text = path.read_text()
    except OSError as exc:
        raise _Bad(f"cannot read {path}: {exc.strerror or exc}") from None
    if args.check:
        ok = registry.test_compatibility(args.subject, text)
        print(f"{args.subject}: {'compatible' if ok else 'NOT compatible'} under {_level_or_global(registry, args.subject)}")
        return 0 if ok else 4
    found = registry.register(args.subject, text)
    _save(args, registry)
    print(f"{found.subject}: version {found.version} (id {found.schema_id})")
    return 0


def _level_or_global(registry: port.SchemaRegistry, subject: str) -> str:
    try:
        return registry.compatibility(subject)
    except port.SubjectNotFound:
        return registry.compatibility()
