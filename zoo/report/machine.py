"""The site's header: the machine it was built on (CPU model and cores, GPU, torch and runtime versions)."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from importlib import metadata

RUNTIMES = ("torch", "torchvision", "onnxruntime", "openvino")  # the versions the header names


@dataclass(frozen=True)
class Machine:
    cpu_model: str
    cpu_count: int
    gpu: str  # "" when torch sees none
    python: str
    versions: dict[str, str]  # distribution -> version (installed ones only)

    def summary(self) -> str:
        soft = ", ".join(f"{k} {v}" for k, v in self.versions.items())
        return (f"{self.cpu_model}, {self.cpu_count} CPUs; GPU: {self.gpu or 'none'}; Python {self.python}"
                + (f"; {soft}" if soft else ""))


def this_machine() -> Machine:
    from zoo.bench.env import cpu_model

    return Machine(cpu_model(), os.cpu_count() or 0, _gpu(), platform.python_version(), _versions())


def _gpu() -> str:
    import torch

    if not torch.cuda.is_available():
        return ""
    names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return ", ".join(names)


def _versions() -> dict[str, str]:
    out = {}
    for dist in ("cvzoo",) + RUNTIMES:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out
