"""A model configured as an `--optimize` choice: the choice (`Candidate`), applying it (`apply`), and reading the
choice stored in ZOO_HOME/optimize for a model, device and batch size (`stored_choice`, `load_optimized`).

Below `zoo.bench`: `zoo.load(..., optimize=...)` applies what a search stored without importing the harness
that searches (zoo.bench.optimize writes these files; `zoo bench NAME --optimize` or `zoo predict --optimize`
search when nothing is stored).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.errors import InputError

SCHEMA = "cvzoo.optimize/1"  # the stored search's format (zoo.bench.optimize.result.OptimizeResult)


@dataclass(frozen=True)
class Candidate:
    """One configuration: autocast precision, channels_last, conv-BN folding, a torch.compile mode (None:
    eager), or a runtime backend (zoo.runtimes) that stands in for the torch forward."""

    precision: str = "fp32"
    channels_last: bool = False
    fuse: bool = False
    compile_mode: str | None = None
    backend: str | None = None

    @property
    def label(self) -> str:
        """e.g. "fp16+channels_last+fuse+compile:reduce-overhead"; "fp32" is the default (eager) configuration."""
        parts = [self.precision] + [f for f, on in (("channels_last", self.channels_last), ("fuse", self.fuse)) if on]
        if self.compile_mode:
            parts.append(f"compile:{self.compile_mode}")
        if self.backend:
            parts.append(f"backend:{self.backend}")
        return "+".join(parts)

    @property
    def is_default(self) -> bool:
        return self == Candidate()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Candidate:
        return cls(**{f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d})


# ---------------------------------------------------------------------- applying a configuration

def apply(model: Any, cand: Candidate, input_size: tuple[int, int] | None = None) -> Any:
    """`model` (a ZooModel on its device, fp32, eval) configured as `cand`, in place (a backend returns its own
    model): BN folded, channels_last weights, and a `forward` that converts 4-D inputs to channels_last, runs
    under autocast and/or torch.compile, and hands floating outputs back as fp32 (CUDA-graph outputs cloned,
    since the next replay overwrites them). `model.optimized` says which candidate it is.
    Deep-copying an applied model shares its forward with the original: apply to a copy instead."""
    import torch

    from zoo.devices import torch_dtype

    if cand.backend:
        from zoo.runtimes import with_backend

        out = with_backend(model, cand.backend, precision=cand.precision, threads=None)
        out.optimized = cand
        return out
    if cand.fuse:
        from zoo.ops.fuse import fuse_conv_bn

        with torch.inference_mode():
            fuse_conv_bn(model, *model.example_inputs(1, input_size))
    if cand.channels_last:
        model.to(memory_format=torch.channels_last)
    base = type(model).forward.__get__(model)  # the class's forward, never an earlier wrapper
    fn: Callable[..., Any] = base
    if cand.compile_mode:
        fn = torch.compile(base, mode=None if cand.compile_mode == "default" else cand.compile_mode, dynamic=False)
    amp = torch_dtype(cand.precision) if cand.precision != "fp32" else None
    clone = cand.compile_mode == "reduce-overhead"
    device_type = model.device.type

    def forward(*args: Any) -> Any:
        args = to_channels_last(args, cand.channels_last)
        if amp is None:
            return settle(fn(*args), clone)
        with torch.autocast(device_type, dtype=amp):
            out = fn(*args)
        return settle(out, clone)

    if cand.channels_last or amp is not None or cand.compile_mode:
        model.forward = forward
    model.optimized = cand
    return model


def settle(out: Any, clone: bool) -> Any:
    """fp16/bf16 tensors -> fp32 (postprocess code expects fp32); clones when the outputs live in a CUDA graph."""
    import torch

    if isinstance(out, torch.Tensor):
        if out.dtype in (torch.float16, torch.bfloat16):
            return out.float()
        return out.clone() if clone else out
    if isinstance(out, (list, tuple)):
        return type(out)(settle(o, clone) for o in out)
    if isinstance(out, dict):
        return {k: settle(v, clone) for k, v in out.items()}
    return out


def to_channels_last(args: Any, on: bool) -> Any:
    """4-D float tensors (anywhere in tuples/lists) -> channels_last; everything else unchanged."""
    import torch

    if not on:
        return args
    if isinstance(args, torch.Tensor):
        return args.contiguous(memory_format=torch.channels_last) if args.dim() == 4 else args
    if isinstance(args, (list, tuple)):
        return type(args)(to_channels_last(a, on) for a in args)
    return args


# ---------------------------------------------------------------------- the stored choices

def device_name(dev: Any) -> str:
    """The GPU's name, or the CPU model: what a stored choice is valid for."""
    if dev.type == "cuda":
        import torch

        return torch.cuda.get_device_name(dev)
    from zoo.devices import cpu_model

    return cpu_model()


def choice_folder() -> Path:
    from zoo.paths import zoo_home

    return zoo_home() / "optimize"


def choice_path(key: dict[str, Any]) -> Path:
    """ZOO_HOME/optimize/<model>-bs<N>-<hash of the key>.json: one file per search key."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return choice_folder() / f"{_slug(key['model'])}-bs{key['batch_size']}-{digest}.json"


def _slug(model: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", str(model))[:60] or "model"


def stored_choice(model: Any, batch_size: int = 1, input_size: tuple[int, int] | None = None) -> Candidate | None:
    """The choice stored for `model` (its name and weights) on its device (type and name) at `batch_size` and
    `input_size` with this torch; the newest when searches over several candidate sets match. None: none."""
    import torch

    dev = model.device
    want = {"model": model.spec.name, "weights": model.weights_source, "device": dev.type,
            "device_name": device_name(dev), "batch_size": batch_size,
            "input_size": list(input_size) if input_size else None, "torch": torch.__version__}
    found: list[tuple[str, Candidate]] = []
    for path in choice_folder().glob(f"{_slug(model.spec.name)}-bs{batch_size}-*.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            key, result = data["key"], data["result"]
            if result.get("schema") != SCHEMA or any(key.get(k) != v for k, v in want.items()):
                continue
            found.append((str(result.get("created", "")), Candidate.from_dict(result["chosen"])))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue  # unreadable or another layout: not a choice
    return max(found, key=lambda f: f[0])[1] if found else None


def load_optimized(model: Any, batch_size: int = 1, input_size: tuple[int, int] | None = None) -> Any:
    """`model` configured with its stored choice; none stored is an InputError naming the search to run."""
    cand = stored_choice(model, batch_size, input_size)
    if cand is None:
        raise InputError(f"no --optimize choice is stored for {model.spec.name} at batch size {batch_size} on "
                         f"{device_name(model.device)}: search once with `zoo bench {model.spec.name} --optimize "
                         f"--batch-size {batch_size}` (or zoo.bench.optimize.search), then load again")
    return apply(model, cand, input_size)
