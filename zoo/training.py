"""`zoo train NAME`: the generic verb. A family registers a trainer for its models (hook `zoo_register_trainers`);
this module finds it, hands it one TrainRequest and returns its summary. Torch is imported by the trainer only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.errors import InputError, UnknownModelError
from zoo.registry import Registry
from zoo.spec import ModelSpec


@dataclass
class TrainRequest:
    """What every trainer is given; a trainer refuses (InputError) what it cannot honour."""

    data: Path  # folder of training data
    out: Path  # run folder: weights, optimiser state, samples
    epochs: int = 5
    batch_size: int = 128
    device: str = "auto"
    workers: int = 2  # DataLoader worker processes
    seed: int = 0
    sample_every: int = 500  # steps between samples / intermediate outputs (0: once per epoch)
    resume: Path | None = None  # a run folder written by the same trainer
    weights: Path | None = None  # start the model from these weights
    force: bool = False  # start a new run in an `out` folder that already holds files (an earlier run's)


def trainer_for(name: str, registry: Registry | None = None) -> tuple[ModelSpec, Any]:
    """The model's spec and its trainer function; a model without one is an InputError naming those that have one."""
    from zoo.plugin_manager import default_registry
    from zoo.refs import resolve_ref

    registry = default_registry() if registry is None else registry
    trainable = f"trainable: {', '.join(registry.trainable()) or 'none'}"
    try:
        spec = registry.get(name)
    except UnknownModelError as e:
        raise InputError(f"{e} ({trainable})") from None
    trainer = registry.trainer(spec)
    if trainer is None:
        raise InputError(f"{spec.name} cannot be trained: no plugin registers a trainer for it ({trainable})")
    return spec, resolve_ref(trainer.fn, "trainer")


def train(name: str, request: TrainRequest, progress: bool = False, registry: Registry | None = None) -> dict[str, Any]:
    """Train model `name` with its family's trainer; returns the trainer's summary (at least `steps`, `epochs`,
    `images_per_s`, `world_size` and `out`)."""
    spec, fn = trainer_for(name, registry)
    return fn(spec, request, progress)
