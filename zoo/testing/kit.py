"""The conformance kit: the checks every plugin's models must pass, as small named callables.

    from zoo.testing import plugin_checks
    for check in plugin_checks("zoo_mobilenet"):    # entry-point name, module or distribution
        check()                                      # raises KitFailure: one line saying what to fix

The same checks run from pytest (tests that take a `zoo_check` argument, see zoo/testing/pytest_plugin.py)
and from `zoo plugin check NAME`. Each check is independent, so one broken model never hides another.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.data import SAMPLE_IMAGE
from zoo.errors import InputError, first_line

GROUP = "zoo"


class KitFailure(AssertionError):
    """A failed conformance check; the message is one line that says what to fix."""


@dataclass(frozen=True)
class Check:
    """One named check; calling it raises KitFailure when the plugin does not conform."""

    id: str
    run: Callable[[], None]

    def __call__(self) -> None:
        try:
            self.run()
        except KitFailure:
            raise
        except Exception as e:  # a crash inside the plugin's code is a failure too, said in one line
            raise KitFailure(f"{self.id}: raised {type(e).__name__}: {first_line(e)}") from None

    def __str__(self) -> str:
        return self.id


def _fail(what: str) -> None:
    raise KitFailure(what)


def find_entry_point(plugin: str) -> md.EntryPoint:
    """An installed `zoo` entry point by its name, its module, or its distribution's name."""
    eps = list(md.entry_points(group=GROUP))
    for ep in eps:
        dist = getattr(ep, "dist", None)
        if plugin in (ep.name, ep.value, ep.module) or (dist is not None and dist.name == plugin):
            return ep
    known = ", ".join(sorted({ep.name for ep in eps})) or "none"
    raise InputError(f"'{plugin}' is not an installed zoo plugin (installed: {known}); install it first, "
                     "e.g. pip install -e PATH")


def plugin_checks(plugin: str, image: str | Path | None = None, models: list[str] | None = None,
                  max_gmacs: float | None = None) -> list[Check]:
    """Every check for one installed plugin: its own (loading, torch-free import, specs) and each model's.

    `max_gmacs`: models above it get the spec and meta-device checks only (a time budget for big suites;
    the check ids say which models ran fewer checks)."""
    from zoo.plugin_manager import build_registry

    ep = find_entry_point(plugin)
    registry, infos, _ = build_registry()
    info = next(i for i in infos if i.name == ep.name)
    checks = [Check(f"{ep.name}: loads and registers without errors", lambda: _no_errors(info)),
              Check(f"{ep.name}: registers at least one model",
                    lambda: info.models or _fail(f"{ep.name}: no models registered: call register(...) in "
                                                 "zoo_register_models")),
              Check(f"{ep.name}: importing {ep.module} does not import torch", lambda: _torch_free(ep.module))]
    for name in models or info.models:
        spec = registry.get(name)
        light = max_gmacs is not None and (spec.gmacs or 0) > max_gmacs
        checks += model_checks(name, registry, image)[:2 if light else None]
    return checks


def _no_errors(info: Any) -> None:
    if info.errors:
        _fail(f"{info.name}: {info.errors[0]}" + (f" (+{len(info.errors) - 1} more)" if len(info.errors) > 1 else ""))


def _torch_free(module: str) -> None:
    code = f"import importlib, sys; importlib.import_module({module!r}); print('torch' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        _fail(f"{module}: cannot be imported: {(res.stderr.strip().splitlines() or ['?'])[-1]}")
    if res.stdout.strip() == "True":
        _fail(f"{module}: importing it imports torch: keep hooks modules torch-free and import torch inside "
              "builders (zoo list must stay fast)")


def model_checks(name: str, registry: Any, image: str | Path | None = None) -> list[Check]:
    """The checks for one registered model."""
    spec = registry.get(name)
    state: dict[str, Any] = {}

    def cpu_model() -> Any:
        if "model" not in state:
            from zoo.api import build

            state["model"] = build(spec, device="cpu", registry=registry)
        return state["model"]

    return [
        Check(f"{name}: spec metadata", lambda: spec_metadata(spec, registry)),
        Check(f"{name}: builds on the meta device", lambda: _build_meta(spec, registry)),
        Check(f"{name}: forward(*example_inputs()) runs on CPU at the declared input size",
              lambda: _forward(cpu_model())),
        Check(f"{name}: predict returns the task's result type with JSON that round-trips",
              lambda: _predict(cpu_model(), registry, image)),
        Check(f"{name}: weights round-trip through safetensors and zoo import", lambda: _round_trip(cpu_model(), registry)),
    ]


def spec_metadata(spec: Any, registry: Any) -> None:
    """What a user needs to trust a row: description, license, paper, size figures, pinned weights."""
    missing = [f for f in ("description", "license") if not getattr(spec, f)]
    if spec.paper is None:
        missing.append("paper")
    if missing:
        _fail(f"{spec.name}: add {', '.join(missing)} to the registry row")
    if not (spec.num_params and spec.gmacs):
        _fail(f"{spec.name}: add num_params and gmacs (measured from the built network) to the registry row")
    task = registry.task(spec.task)
    if task.inputs == "images" and task.dataset is not None and not spec.categories:
        _fail(f"{spec.name}: a {task.name} model needs `categories` (a label set name) to name its classes")
    for w in spec.weights:
        # a Hub source at a moving branch with no sha256 is unpinned; URL and torchvision sources without one are
        # pinned by their first download (said as such by zoo list / info)
        moving = any(s.kind == "hub" and s.revision in ("main", "master", "") for s in w.all_sources)
        if w.obtainable and not w.pinned and moving and "not pinned" not in w.description:
            _fail(f"{spec.name}.{w.tag}: pin the Hub file with a commit `revision` or a `sha256`, or say why it is "
                  "'not pinned' in its description")
        if not w.obtainable and not w.description:
            _fail(f"{spec.name}.{w.tag}: weights not on the Hub: say why and how to get them in `description`")
    if not spec.weights and not spec.notes:
        _fail(f"{spec.name}: no weights: say so in `notes` (zoo list marks it 'no pretrained weights')")


def _build_meta(spec: Any, registry: Any) -> None:
    from zoo.api import build

    model = build(spec, device="meta", registry=registry)
    if not model.net.state_dict():
        _fail(f"{spec.name}: the network has no parameters or buffers: weights could never load")


def _forward(model: Any) -> None:
    import torch

    with torch.inference_mode():
        out = model(*model.example_inputs(1))
    if out is None:
        _fail(f"{model.spec.name}: forward returned None: return the raw outputs postprocess reads")


def _predict(model: Any, registry: Any, image: str | Path | None) -> None:
    from zoo.refs import resolve_ref

    task = registry.task(model.spec.task)
    request = str(image or SAMPLE_IMAGE) if task.inputs == "images" else model.example_request(1)
    result = model.predict(request)
    want = resolve_ref(task.result, "result type")
    if not isinstance(result, want):  # type: ignore[arg-type]
        _fail(f"{model.spec.name}: predict returned {type(result).__name__}, the {task.name} task's result type "
              f"is {want.__name__}")
    data = result.to_json()
    if json.loads(json.dumps(data)) != data:
        _fail(f"{model.spec.name}: to_json() is not plain JSON (tuples, numpy or tensor values?): return lists, "
              "floats and strings")


def _round_trip(model: Any, registry: Any) -> None:
    import torch

    from zoo.api import load
    from zoo.weights import save_safetensors

    state = model.net.state_dict()
    for t in state.values():  # non-trivial values, so a mis-loaded tensor shows
        if t.is_floating_point():
            t.copy_(torch.rand_like(t) + 0.5)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "weights.safetensors"
        save_safetensors(state, path)
        loaded = load(model.spec.name, weights=path, registry=registry)
    back = loaded.net.state_dict()
    bad = [k for k, v in state.items() if not torch.equal(v, back[k])]
    if bad:
        _fail(f"{model.spec.name}: {len(bad)} tensors change in a save/load round trip (first: {bad[0]}): "
              "keep every weight in `net`'s state_dict")
