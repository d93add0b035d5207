"""What a lab is, and the two scripts built from it: the demonstration and the learner's check.

A lab (one folder under ``scenarios/labs/``) gives:

- ``knobs``: its typed settings (scenarios.engine.knobs); the defaults are the broken start;
- ``story(knobs, ctx)``: the phases one set of knobs plays, mode-free steps over the World interface;
- ``checks(observations, knobs, ctx)``: the lesson, which must pass once fixed; each failing check
  carries the hint for what it saw;
- ``symptoms(observations, knobs, ctx)``: what a broken stage of the demonstration must show;
- ``demo(ctx)``: the broken stages (label, knob changes) ``scenario run`` plays before the fix;
- ``fix(ctx)``: the reference fix (knob changes), which ``lab solve --apply`` writes;
- text: about.toml (name, rank, title, summary, the ``look`` commands), task.md and solution.md next
  to it, and its page docs/labs/<name>.md.

``ctx`` says which world the lab is played in: mode, the host's bootstrap address, and whether time
is real (then a lab may try fewer phases, e.g. four start orders instead of 24: same steps, fewer
runs). Nothing else about the mode reaches a lab.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenarios.engine.components import register as register_component
from scenarios.engine.knobs import Knobs, validate_knobs
from scenarios.engine.model import Check, Phase, Script, ScriptError, Stage
from scenarios.engine.observation import Observation

Observed = Sequence[Observation]


@dataclass(frozen=True, slots=True)
class LabContext:
    mode: str
    seed: int = 0
    bootstrap: str = ""  # the broker's address for clients on this host (EXTERNAL listener)
    internal_bootstrap: str = ""  # its INTERNAL listener on this host (advertised as kafka:<port>)
    real_time: bool = False  # a wall-clock world: every phase costs real seconds

    @property
    def container_bootstrap(self) -> str:
        """The INTERNAL listener's advertised address: what containers use (kafka:29092)."""
        return "kafka:" + self.internal_bootstrap.rpartition(":")[2] if self.internal_bootstrap else ""


@dataclass(frozen=True)
class Lab:
    name: str
    title: str
    summary: str
    knobs: type[Knobs]
    story: Callable[[Any, LabContext], list[Phase]]
    checks: Callable[[Observed, Any, LabContext], list[Check]]
    symptoms: Callable[[Observed, Any, LabContext], list[Check]]
    demo: Callable[[LabContext], list[tuple[str, dict[str, Any]]]]
    fix: Callable[[LabContext], dict[str, Any]]
    folder: Path
    rank: int = 100  # teaching order
    look: tuple[str, ...] = ()
    start: Callable[[LabContext], dict[str, Any]] = field(default=lambda _ctx: {})

    @classmethod
    def define(cls, module_file: str, knobs: type[Knobs], story: Any, checks: Any, symptoms: Any, *,
               demo: Any, fix: Any, start: Any = None, components: Mapping[str, Any] | None = None) -> Lab:
        """A lab from its folder: about.toml says what it is called and shows; the code what it does.
        ``components``: the lab's own parts by name (factories of ``scenarios.engine.components.Ports``),
        registered as ``<lab>/<name>``: what its ``call`` steps and its ``WorldSpec.components`` name."""
        folder = Path(module_file).parent
        about = tomllib.loads((folder / "about.toml").read_text(encoding="utf-8"))
        for part, factory in (components or {}).items():
            register_component(f"{about['name']}/{part}", factory)
        extra = {"start": start} if start is not None else {}
        return cls(name=about["name"], title=about["title"], summary=about["summary"], knobs=knobs, story=story,
                   checks=checks, symptoms=symptoms, demo=demo, fix=fix, folder=folder, rank=int(about["rank"]),
                   look=tuple(about.get("look", ())), **extra)

    @property
    def task(self) -> str:
        return _text(self.folder / "task.md")

    @property
    def solution(self) -> str:
        return _text(self.folder / "solution.md")

    @property
    def docs(self) -> str:
        return f"docs/labs/{self.name}.md"

    # ------------------------------------------------------------ knobs
    def knobs_of(self, values: Mapping[str, Any], where: str = "knobs") -> Knobs:
        return validate_knobs(self.knobs, values, where)

    def start_knobs(self, ctx: LabContext) -> Knobs:
        return self.knobs_of({**self.knobs().values(), **self.start(ctx)}, "the lab's start")

    def fixed_knobs(self, ctx: LabContext, current: Knobs | None = None) -> Knobs:
        base = (current or self.start_knobs(ctx)).values()
        return self.knobs_of({**base, **self.fix(ctx)}, "the reference fix")

    # ------------------------------------------------------------ scripts
    def stage(self, label: str, expect: str, knobs: Knobs, ctx: LabContext) -> Stage:
        return Stage(label, expect, knobs.values(), tuple(self.story(knobs, ctx)))  # type: ignore[arg-type]

    def demo_script(self, ctx: LabContext) -> Script:
        """Broken stages (their symptoms must show), then the reference fix (the checks must pass)."""
        start = self.start_knobs(ctx)
        stages = [self.stage(label, "symptom", self.knobs_of({**start.values(), **changes}, label), ctx)
                  for label, changes in self.demo(ctx)]
        stages.append(self.stage("fixed", "fixed", self.fixed_knobs(ctx), ctx))
        return Script(self.name, ctx.seed, ctx.mode, tuple(stages))

    def check_script(self, knobs: Knobs, ctx: LabContext) -> Script:
        """The learner's settings, checked."""
        return Script(self.name, ctx.seed, ctx.mode, (self.stage("your settings", "fixed", knobs, ctx),))

    def verify(self, stage: Stage, observations: Observed, ctx: LabContext) -> list[Check]:
        try:
            knobs = self.knobs_of(stage.knobs, f"stage {stage.label!r}")
        except ValueError as exc:
            raise ScriptError(str(exc)) from None
        if stage.expect == "fixed":
            return self.checks(observations, knobs, ctx)
        return [Check(f"{stage.label}: {c.name}", c.passed, c.detail, c.hint, c.counts)
                for c in self.symptoms(observations, knobs, ctx)]


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip() if path.is_file() else ""
