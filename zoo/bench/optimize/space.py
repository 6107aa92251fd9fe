"""The search space of `--optimize` on a device: precisions x channels_last x fuse (eager), the runtime
backends on CPU, then torch.compile modes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from zoo.errors import InputError
from zoo.optimized import Candidate

CUDA_COMPILE_MODES = ("default", "reduce-overhead", "max-autotune-no-cudagraphs")
CPU_COMPILE_MODES = ("default", "max-autotune-no-cudagraphs")


def precisions(dev: Any) -> list[str]:
    """The autocast precisions worth trying on `dev`: fp16/bf16 on CUDA (bf16 where the GPU has it); bf16 on
    CPU only with native bf16 arithmetic, fp16 never on CPU (emulated: slower)."""
    import torch

    from zoo.devices import cpu_has_native

    out = ["fp32"]
    if dev.type == "cuda":
        out.append("fp16")
        if torch.cuda.is_bf16_supported():
            out.append("bf16")
    elif dev.type == "cpu" and cpu_has_native("bf16"):
        out.append("bf16")
    return out


def runtime_candidates(dev: Any) -> list[Candidate]:
    """On CPU: fp32 and int8 on each runtime backend whose package is installed (zoo.runtimes.available_backends),
    plus OpenVINO bf16 where the CPU has native bf16 (the fastest on such CPUs). The check and the reduced
    precisions' accuracy guard decide (int8 is calibrated on the bundled photos)."""
    if dev.type != "cpu":
        return []
    from zoo import runtimes

    names = runtimes.available_backends()
    out = [Candidate(backend=str(n)) for n in names]
    if "openvino" in names and "bf16" in precisions(dev):
        out.append(Candidate(precision="bf16", backend="openvino"))
    return out + [Candidate(precision="int8", backend=str(n)) for n in names]


def compile_modes(dev: Any, compile: bool | str | Sequence[str] | None = None) -> list[str]:
    """Which torch.compile modes stage 2 tries: None/"auto" = every CUDA mode on CUDA and none on CPU;
    False/"off" none; True/"on" the device's modes; a mode name or list of them exactly those."""
    from zoo.bench.config import COMPILE_MODES

    if compile is None or compile == "auto":
        return list(CUDA_COMPILE_MODES) if dev.type == "cuda" else []
    if compile is False or compile == "off":
        return []
    if compile is True or compile == "on":
        return list(CUDA_COMPILE_MODES if dev.type == "cuda" else CPU_COMPILE_MODES)
    modes = [m.strip() for m in (compile.split(",") if isinstance(compile, str) else compile) if m.strip()]
    bad = [m for m in modes if m not in COMPILE_MODES]
    if bad:
        raise InputError(f"unknown compile mode {', '.join(repr(b) for b in bad)} "
                         f"(auto, on, off, or some of {', '.join(COMPILE_MODES)})")
    return modes


def candidates(dev: Any, backends: bool = True) -> list[Candidate]:
    """Stage 1 (eager): precision x channels_last x fuse, then the runtime backends; fp32 eager first."""
    out = [Candidate(p, cl, fu) for p in precisions(dev) for cl in (False, True) for fu in (False, True)]
    return out + (runtime_candidates(dev) if backends else [])
