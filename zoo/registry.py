"""The Registry: what the plugins registered (model specs, tasks, label sets, converters), looked up by name:
`arch.tag` model names, filters, natural sort and did-you-mean."""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from zoo.errors import (
    DuplicateConverterError,
    DuplicateLabelSetError,
    DuplicateModelError,
    DuplicateTaskError,
    DuplicateTrainerError,
    InputError,
    SpecError,
    UnknownModelError,
    UnknownTagError,
)
from zoo.labelsets import LabelSet, bundled, bundled_names
from zoo.spec import ModelSpec, WeightsSpec

if TYPE_CHECKING:
    from zoo.taskspec import Task


def natural_key(name: str) -> list[object]:
    """Sort key that puts resnet18 before resnet101."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


@dataclass(frozen=True)
class Resolved:
    """A name resolved to its spec and the weights entry its tag selects (None: no weights)."""

    spec: ModelSpec
    weights: WeightsSpec | None
    tag_given: bool = False


@dataclass(frozen=True)
class Converter:
    format: str
    fn: Callable[..., object]
    source: str


@dataclass(frozen=True)
class Trainer:
    """What `zoo train` runs for a model: `fn` ("module:function" or a callable) and the plugin that gave it."""

    model: str
    fn: Callable[..., object] | str
    source: str


class Registry:
    """Holds specs, tasks, label sets and converters; an instance, so tests can make fresh ones."""

    def __init__(self, tasks: Iterable[Task] | None = None) -> None:
        """A fresh registry knows the built-in tasks (pass `tasks=()` for none)."""
        self._specs: dict[str, ModelSpec] = {}
        self._converters: dict[str, Converter] = {}
        self._trainers: dict[str, Trainer] = {}
        self._tasks: dict[str, Task] = {}
        self._labels: dict[str, LabelSet] = {}
        if tasks is None:
            from zoo.taskspec import BUILTIN_TASKS

            tasks = BUILTIN_TASKS
        for t in tasks:
            self.add_task(t)

    # -------------------------------------------------------------- tasks and label sets
    def add_task(self, task: Task) -> None:
        old = self._tasks.get(task.name)
        if old is not None:
            raise DuplicateTaskError(task.name, old.source, task.source)
        self._tasks[task.name] = task

    def task(self, name: str) -> Task:
        """The task `name`; unknown tasks raise SpecError listing the known ones."""
        try:
            return self._tasks[name]
        except KeyError:
            raise SpecError(f"unknown task '{name}' (known: {', '.join(sorted(self._tasks))})") from None

    def tasks(self) -> list[Task]:
        return [self._tasks[k] for k in sorted(self._tasks)]

    def add_label_set(self, labels: LabelSet) -> None:
        old = self._labels.get(labels.name)
        if old is not None:
            raise DuplicateLabelSetError(labels.name, old.source, labels.source)
        self._labels[labels.name] = labels

    def label_set(self, name: str) -> LabelSet:
        """The label set `name`: one a plugin registered, else a bundled zoo/data file; unknown names raise
        SpecError listing the known ones."""
        found = self._labels.get(name) or bundled(name)
        if found is None:
            raise SpecError(f"unknown category set '{name}' (known: {', '.join(self.label_sets())})")
        return found

    def label_sets(self) -> list[str]:
        """Names of every label set this registry resolves: registered and bundled."""
        return sorted(set(self._labels) | set(bundled_names()))

    # -------------------------------------------------------------- models
    def add(self, spec: ModelSpec) -> None:
        if spec.task not in self._tasks:
            raise SpecError(f"{spec.source or spec.family}: model '{spec.name}': field 'task': {spec.task!r} is not "
                            f"a known task ({', '.join(sorted(self._tasks))})")
        old = self._specs.get(spec.name)
        if old is not None:
            raise DuplicateModelError(spec.name, old.source or old.family, spec.source or spec.family)
        self._specs[spec.name] = spec

    def remove(self, name: str) -> ModelSpec:
        """Take a model out (tests, or a plugin replacing a spec on purpose)."""
        try:
            return self._specs.pop(name)
        except KeyError:
            raise UnknownModelError(name, self.suggest(name)) from None

    def __contains__(self, name: str) -> bool:
        return name.split(".", 1)[0] in self._specs

    def __len__(self) -> int:
        return len(self._specs)

    def specs(self) -> list[ModelSpec]:
        return [self._specs[n] for n in sorted(self._specs, key=natural_key)]

    def get(self, name: str) -> ModelSpec:
        return self.resolve(name).spec

    def resolve(self, name: str) -> Resolved:
        """`arch` or `arch.tag` -> spec and weights entry; unknown names raise with suggestions."""
        arch, _, tag = name.partition(".")
        spec = self._specs.get(arch)
        if spec is None:
            raise UnknownModelError(name, self.suggest(arch))
        if tag:
            weights = spec.weights_for(tag)
            if weights is None:
                raise UnknownTagError(arch, tag, [w.tag for w in spec.weights])
            return Resolved(spec, weights, True)
        return Resolved(spec, spec.default_weights(), False)

    def suggest(self, name: str, n: int = 3) -> list[str]:
        names = list(self._specs)
        close = difflib.get_close_matches(name.lower(), names, n=n, cutoff=0.6)
        if not close:
            close = sorted((m for m in names if name.lower() in m), key=natural_key)[:n]
        return close

    def list(
        self,
        include: str | Iterable[str] | None = None,
        exclude: str | Iterable[str] | None = None,
        task: str | None = None,
        family: str | None = None,
        license: str | None = None,
        pretrained: bool = False,
    ) -> list[str]:
        """Names matching fnmatch patterns and filters, naturally sorted; an unknown task or family is an
        InputError with a did-you-mean (a typo must not look like an empty zoo)."""
        if task:
            _known(task, [t.name for t in self.tasks()], "task")
        if family:
            _known(family, sorted({s.family for s in self.specs()}), "family")
        incl = [include] if isinstance(include, str) else list(include or [])
        excl = [exclude] if isinstance(exclude, str) else list(exclude or [])
        out = []
        for spec in self.specs():
            if incl and not any(fnmatch.fnmatchcase(spec.name, p.lower()) for p in incl):
                continue
            if any(fnmatch.fnmatchcase(spec.name, p.lower()) for p in excl):
                continue
            if task and spec.task != task:
                continue
            if family and spec.family != family:
                continue
            if license and license.lower() not in spec.license.lower():
                continue
            if pretrained and not spec.pretrained:
                continue
            out.append(spec.name)
        return out

    # -------------------------------------------------------------- converters
    def add_converter(self, fmt: str, fn: Callable[..., object], source: str = "") -> None:
        old = self._converters.get(fmt)
        if old is not None:
            raise DuplicateConverterError(fmt, old.source, source)
        self._converters[fmt] = Converter(fmt, fn, source)

    def converter(self, fmt: str) -> Converter | None:
        return self._converters.get(fmt)

    def converters(self) -> list[Converter]:
        return [self._converters[k] for k in sorted(self._converters)]

    # -------------------------------------------------------------- trainers
    def add_trainer(self, model: str, fn: Callable[..., object] | str, source: str = "") -> None:
        """`model` is a model name (or an arch, covering every model built from it)."""
        old = self._trainers.get(model)
        if old is not None:
            raise DuplicateTrainerError(model, old.source, source)
        self._trainers[model] = Trainer(model, fn, source)

    def trainer(self, spec: ModelSpec) -> Trainer | None:
        """The trainer registered for this model's name, else for its arch."""
        return self._trainers.get(spec.name) or (self._trainers.get(spec.arch) if spec.arch else None)

    def trainable(self) -> list[str]:
        """Names of the registered models that have a trainer, sorted."""
        return sorted((s.name for s in self._specs.values() if self.trainer(s) is not None), key=natural_key)


def _known(value: str, known: list[str], what: str) -> None:
    """Refuse a filter value that matches nothing the registry has, naming close matches."""
    if value in known:
        return
    close = difflib.get_close_matches(value, known, n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
    raise InputError(f"unknown {what} '{value}'; {hint}(known: {', '.join(known) or 'none'})")
