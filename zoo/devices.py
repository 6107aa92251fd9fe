"""Devices and what they compute in: device names -> torch devices (one rule for `zoo bench`, `zoo eval` and
`zoo.load`), the CPU's model and feature flags, and the precisions the zoo names (torch is imported on call only)."""

from __future__ import annotations

import functools
import platform
from typing import Any

from zoo.errors import ArgumentError, InputError

PRECISIONS = ("fp32", "fp16", "bf16")  # what --precision takes (a runtime backend may run fewer: zoo.runtimes)
DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}  # precision -> torch dtype name
BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})  # /proc/cpuinfo flags of native bf16 arithmetic
FP16_FLAGS = frozenset({"avx512_fp16", "amx_fp16"})  # ... and of native fp16
# ... and of int8 dot products into 32-bit sums (VPDPBUSD, AMX tiles): no 16-bit intermediate that saturates
INT8_DOT_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})


def torch_dtype(precision: str) -> Any:
    """The torch dtype of a precision name ("bf16" -> torch.bfloat16)."""
    import torch

    return getattr(torch, DTYPES[precision])


def cpuinfo_values(key: str) -> list[str]:
    """Every value of `key` ("model name", "flags", "cpu MHz", ...) in /proc/cpuinfo, one per processor, read
    now (the clock changes); empty where there is no such file or key."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            pairs = (line.partition(":") for line in fh)
            return [value.strip() for name, _, value in pairs if name.strip() == key]
    except OSError:
        return []


@functools.lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (falls back to platform.processor())."""
    names = cpuinfo_values("model name")
    return names[0] if names else platform.processor() or platform.machine()


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU feature flags (avx512_bf16, amx_tile, ...) from /proc/cpuinfo; empty where unknown."""
    flags = cpuinfo_values("flags")
    return frozenset(flags[0].split()) if flags else frozenset()


@functools.lru_cache(maxsize=1)
def cpu_vendor_family() -> tuple[str, int]:
    """(vendor_id, cpu family) from /proc/cpuinfo; ("", 0) where unknown."""
    vendors, families = cpuinfo_values("vendor_id"), cpuinfo_values("cpu family")
    return (vendors[0] if vendors else "", int(families[0]) if families and families[0].isdigit() else 0)


def cpu_mhz() -> float | None:
    """The highest clock the OS reports now over the processors (MHz); None where unknown."""
    try:
        return max(float(v) for v in cpuinfo_values("cpu MHz")) or None
    except ValueError:  # no such line, or not a number
        return None


def cpu_has_native(precision: str) -> bool:
    """Whether this CPU computes `precision` natively (fp32 always; bf16 with AVX512-BF16 or AMX-BF16, fp16 with
    AVX512-FP16 or AMX-FP16): elsewhere bf16/fp16 arithmetic is emulated, usually slower than fp32."""
    if precision == "fp32":
        return True
    need = {"bf16": BF16_FLAGS, "fp16": FP16_FLAGS}.get(precision)
    return bool(need and cpu_flags() & need)


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
