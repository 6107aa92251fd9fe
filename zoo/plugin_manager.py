"""Plugin discovery and isolation: entry points in group "zoo", each loaded and registered on its own.

A plugin that fails to import or register is recorded and skipped, so `zoo list` keeps working and
`zoo plugins` can show the failure. `ZOO_LOAD_PLUGINS=a,b` loads only those entry points (empty: none);
`ZOO_TRACE_PLUGINS=1` prints every hook call to stderr.
"""

from __future__ import annotations

import functools
import importlib.metadata as md
import os
import sys
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

from zoo import hookspecs
from zoo.errors import SpecError, ZooError, first_line
from zoo.registry import Registry
from zoo.spec import ModelSpec, spec_from_dict

GROUP = "zoo"
BUNDLED_REGISTRY = Path(__file__).with_name("registry.yaml")


@dataclass
class PluginInfo:
    """What `zoo plugins` reports for one entry point."""

    name: str
    module: str
    distribution: str = ""
    version: str = ""
    hooks: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@functools.lru_cache(maxsize=8)
def read_yaml(path: str) -> list[dict[str, Any]]:
    """Rows of a registry YAML file (cached: the bundled file is read once per process)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=loader)
    except OSError as e:
        raise SpecError(f"{path}: cannot read: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise SpecError(f"{path}: invalid YAML: {e}") from None
    if data is None:
        return []
    if isinstance(data, dict) and "models" in data:
        data = data["models"]
    if not isinstance(data, list):
        raise SpecError(f"{path}: expected a list of models (or a mapping with a 'models' list)")
    return data


class ModelRegistrar:
    """The `register` callback handed to `zoo_register_models`; stages specs for one plugin."""

    def __init__(self, plugin: str):
        self.plugin = plugin
        self.staged: list[ModelSpec] = []
        self.staged_labels: list[Any] = []

    def __call__(self, spec: ModelSpec | dict[str, Any], builder: str | Callable[..., Any] | None = None) -> None:
        if isinstance(spec, dict):
            spec = spec_from_dict(spec, f"plugin {self.plugin}", builder)
        if not isinstance(spec, ModelSpec):
            raise SpecError(f"plugin {self.plugin}: register() takes a ModelSpec or a dict, got {type(spec).__name__}")
        if not spec.source:
            spec = _replace(spec, source=f"plugin {self.plugin}")
        self.staged.append(spec)

    def yaml(self, path: str | os.PathLike[str], builder: str | Callable[..., Any] | None = None,
             family: str | None = None) -> None:
        """Add the rows of a YAML file (optionally only those of one family)."""
        for row in read_yaml(str(path)):
            if family is None or (isinstance(row, dict) and row.get("family") == family):
                self.staged.append(spec_from_dict(row, str(path), builder))

    def builtin(self, family: str, builder: str | Callable[..., Any]) -> None:
        """Add the bundled registry.yaml rows of `family` (how the built-in families register)."""
        self.yaml(BUNDLED_REGISTRY, builder, family)

    def labels(self, name: str, labels: Any, keypoints: Any = None, skeleton: Any = None) -> None:
        """Add a label set: class names (a list, or a text file with one per line), and for pose sets the
        keypoint names and skeleton edges (pairs of keypoint indices)."""
        from zoo.categories import make_label_set

        self.staged_labels.append(make_label_set(name, labels, keypoints, skeleton, f"plugin {self.plugin}"))


class TaskRegistrar:
    """The `register` callback handed to `zoo_register_tasks`: `register(Task(...))` or keyword fields."""

    def __init__(self, plugin: str):
        self.plugin = plugin
        self.staged: list[Any] = []

    def __call__(self, task: Any = None, **fields: Any) -> None:
        import dataclasses

        from zoo.tasks.catalog import Task, TaskOption

        if task is None:
            opts = tuple(o if isinstance(o, TaskOption) else TaskOption(**o) for o in fields.pop("options", ()))
            task = Task(options=opts, **fields)
        if not isinstance(task, Task):
            raise SpecError(f"plugin {self.plugin}: register() takes a Task, got {type(task).__name__}")
        self.staged.append(dataclasses.replace(task, source=f"plugin {self.plugin}"))


class ConverterRegistrar:
    """The `register` callback handed to `zoo_register_converters` (and, keyed by model, `zoo_register_trainers`)."""

    def __init__(self, plugin: str):
        self.plugin = plugin
        self.staged: list[tuple[str, Callable[..., Any]]] = []

    def __call__(self, fmt: str, fn: Callable[..., Any]) -> None:
        self.staged.append((fmt, fn))


def _replace(spec: ModelSpec, **kw: Any) -> ModelSpec:
    import dataclasses

    return dataclasses.replace(spec, **kw)


def _entry_points(selected: Iterable[md.EntryPoint] | None) -> list[md.EntryPoint]:
    eps = list(selected) if selected is not None else list(md.entry_points(group=GROUP))
    only = os.environ.get("ZOO_LOAD_PLUGINS")
    if only is not None:
        wanted = {n.strip() for n in only.split(",") if n.strip()}
        absent = sorted(wanted - {ep.name for ep in eps})
        if absent:  # a typo here would otherwise look like an empty zoo
            installed = ", ".join(sorted({ep.name for ep in eps})) or "none"
            print(f"warning: ZOO_LOAD_PLUGINS names {', '.join(repr(a) for a in absent)}, not an installed plugin "
                  f"(installed: {installed})", file=sys.stderr)
        eps = [ep for ep in eps if ep.name in wanted]
    seen: dict[str, md.EntryPoint] = {}
    for ep in eps:  # an editable and a regular install of one dist can list an entry point twice
        seen.setdefault(ep.name, ep)
    return sorted(seen.values(), key=lambda ep: ep.name)


def _dist_name(ep: md.EntryPoint) -> str:
    return getattr(getattr(ep, "dist", None), "name", "") or ""


def _module_of(ep: md.EntryPoint) -> str:
    return ep.value.split(":")[0].strip()


def entry_point_clashes(eps: Iterable[md.EntryPoint]) -> dict[str, list[str]]:
    """Entry-point name -> why other distributions' entry points collide with it: the same name, or the same
    module (only one of them can be imported). One distribution listed twice (editable + regular) is no clash."""
    eps = list(eps)
    out: dict[str, list[str]] = {}
    for i, a in enumerate(eps):
        for b in eps[i + 1:]:
            if _dist_name(a) == _dist_name(b) or (a.name != b.name and _module_of(a) != _module_of(b)):
                continue
            what = f"entry point '{a.name}'" if a.name == b.name else f"module {_module_of(a)}"
            for x, y in ((a, b), (b, a)):
                out.setdefault(x.name, []).append(
                    f"{what} is claimed by two distributions, {_dist_name(x) or '?'} ({x.name} = {x.value}) and "
                    f"{_dist_name(y) or '?'} ({y.name} = {y.value}); only one can load: uninstall or rename one")
    return out


def make_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("zoo")
    pm.add_hookspecs(hookspecs)
    if os.environ.get("ZOO_TRACE_PLUGINS"):
        def before(hook_name: str, impls: list[Any], kwargs: dict[str, Any]) -> None:
            names = ", ".join(i.plugin_name for i in impls)
            print(f"[zoo trace] {hook_name}({', '.join(kwargs)}) -> {names}", file=sys.stderr)

        def after(outcome: Any, hook_name: str, impls: list[Any], kwargs: dict[str, Any]) -> None:
            exc = outcome.exception
            print(f"[zoo trace] {hook_name} done{' with ' + first_line(exc, with_type=True) if exc else ''}", file=sys.stderr)

        pm.add_hookcall_monitoring(before, after)
    return pm


def _call_isolated(pm: pluggy.PluginManager, hook: str, plugin: object, **kwargs: Any) -> None:
    """Call one hook of one plugin only, so a failure cannot touch the others."""
    others = [p for p in pm.get_plugins() if p is not plugin]
    pm.subset_hook_caller(hook, remove_plugins=others)(**kwargs)


def build_registry(entry_points: Iterable[md.EntryPoint] | None = None) -> tuple[Registry, list[PluginInfo], pluggy.PluginManager]:
    """Discover plugins, register their tasks, then their models, label sets, converters and trainers; report each.

    Tasks go first, for every plugin, so one plugin's models may use a task another plugin adds.
    """
    registry = Registry()
    _register_core_converters(registry)
    pm = make_manager()
    infos: list[PluginInfo] = []
    loaded: list[tuple[PluginInfo, object]] = []
    selected = list(entry_points) if entry_points is not None else None
    clashes = entry_point_clashes(selected if selected is not None else md.entry_points(group=GROUP))
    for ep in _entry_points(selected):
        dist = getattr(ep, "dist", None)
        info = PluginInfo(ep.name, ep.value, getattr(dist, "name", "") or "", getattr(dist, "version", "") or "")
        info.errors.extend(dict.fromkeys(clashes.get(ep.name, [])))
        infos.append(info)
        try:
            module = ep.load()
            pm.register(module, name=ep.name)
        except Exception as exc:  # a broken third-party plugin must never break the zoo
            info.errors.append(f"import failed: {first_line(exc, with_type=True)}")
            if os.environ.get("ZOO_TRACE_PLUGINS"):
                traceback.print_exc()
            continue
        info.hooks = sorted(h.name for h in pm.get_hookcallers(module) or [])
        loaded.append((info, module))
    for info, module in loaded:
        tasks = TaskRegistrar(info.name)
        if _call_hook(pm, "zoo_register_tasks", module, info, tasks):
            for task in tasks.staged:
                _add(info, registry.add_task, task)
    for info, module in loaded:
        models, converters = ModelRegistrar(info.name), ConverterRegistrar(info.name)
        if _call_hook(pm, "zoo_register_models", module, info, models):
            for labels in models.staged_labels:
                _add(info, registry.add_label_set, labels)
            for spec in models.staged:
                if _add(info, registry.add, spec):
                    info.models.append(spec.name)
        if _call_hook(pm, "zoo_register_converters", module, info, converters):
            for fmt, fn in converters.staged:
                _add(info, registry.add_converter, fmt, fn, info.name)
        trainers = ConverterRegistrar(info.name)
        if _call_hook(pm, "zoo_register_trainers", module, info, trainers):
            for model, fn in trainers.staged:
                _add(info, registry.add_trainer, model, fn, info.name)
    return registry, infos, pm


def _call_hook(pm: pluggy.PluginManager, hook: str, module: object, info: PluginInfo, registrar: Any) -> bool:
    """Call one plugin's hook in isolation; a failure is recorded and nothing it staged is kept."""
    if hook not in info.hooks:
        return False
    try:
        _call_isolated(pm, hook, module, register=registrar)
    except Exception as exc:
        info.errors.append(f"{hook} failed: {first_line(exc, with_type=True)}")
        return False
    return True


def _add(info: PluginInfo, add: Callable[..., None], *args: Any) -> bool:
    try:
        add(*args)
        return True
    except ZooError as exc:
        info.errors.append(str(exc))
        return False


def _register_core_converters(registry: Registry) -> None:
    registry.add_converter("safetensors", "zoo.convert.formats:read_safetensors_file", "zoo")
    registry.add_converter("pytorch", "zoo.convert.formats:read_pytorch_file", "zoo")
    # shared by the rcnn and pose families (Faster/Mask and Keypoint R-CNN), so it lives with neither
    registry.add_converter("pytorch-torchvision-detection",
                           "zoo.convert.torchvision_detection:from_torchvision_detection_pth",
                           "zoo")


class _State:
    registry: Registry | None = None
    infos: list[PluginInfo] = []
    pm: pluggy.PluginManager | None = None


def default_registry() -> Registry:
    """The process-wide registry, built on first use."""
    if _State.registry is None:
        _State.registry, _State.infos, _State.pm = build_registry()
    return _State.registry


def plugin_report() -> list[PluginInfo]:
    default_registry()
    return list(_State.infos)


def plugin_manager() -> pluggy.PluginManager:
    default_registry()
    assert _State.pm is not None
    return _State.pm


def call_plugin_hook(name: str, hook: str, **kwargs: Any) -> bool:
    """Call hook `hook` of plugin `name` alone (the CLI's `zoo_register_commands`); False when the plugin lacks it
    or it failed, the failure recorded in the plugin's report so `zoo plugins` shows it."""
    pm = plugin_manager()
    module = pm.get_plugin(name)
    info = next((i for i in _State.infos if i.name == name), None)
    if module is None or info is None or hook not in info.hooks:
        return False
    try:
        _call_isolated(pm, hook, module, **kwargs)
    except Exception as exc:
        info.errors.append(f"{hook} failed: {first_line(exc, with_type=True)}")
        return False
    return True


def reset() -> None:
    """Forget the default registry (tests, or after installing a plugin in-process)."""
    _State.registry, _State.infos, _State.pm = None, [], None
    read_yaml.cache_clear()
