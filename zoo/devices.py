"""Device names -> torch devices, one rule for `zoo bench` and `zoo eval` (torch is imported on call only)."""

from __future__ import annotations

from typing import Any

from zoo.errors import ArgumentError, InputError


def resolve_device(device: Any) -> Any:
    """auto -> cuda when available, else cpu; asking for a GPU that is not there is a one-line InputError
    (not a CUDA traceback halfway through a run). Returns a torch.device."""
    import torch

    name = str(device).strip().lower()
    if name in ("", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise InputError(f"unknown device '{device}' (auto, cpu, cuda, cuda:N)") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            build = f"CUDA {torch.version.cuda} build" if torch.version.cuda else "CPU-only build"
            raise ArgumentError("device", f"{{0}} {device}: no CUDA GPU is available (torch {torch.__version__}, "
                                          f"{build}); use {{0}} cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ArgumentError("device", f"{{}} {device}: only {torch.cuda.device_count()} CUDA device(s) are visible")
    return dev
