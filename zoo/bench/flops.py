"""FLOPs with torch's own counter, and the device's peak FLOP/s to compare them against.

torch.utils.flop_counter.FlopCounterMode counts 2 FLOPs per multiply-accumulate (a conv or matmul
of M MACs is 2M FLOPs), so MACs = FLOPs / 2. Only ops it has formulas for count (convolutions,
matmuls, attention); elementwise ops, normalisation and pooling are not counted, which is the same
convention as published GMACs tables.

"% of peak" needs a reference that is an upper bound. One 1024x1024 matmul is not: on CPUs oneDNN's
convolutions (and larger matmuls) run faster, and yolov3 showed 157 % of it. So on CPU the reference is the
best of several probes measured with the same threads and dtype (square matmuls of 1024 and 1536, and the
3x3 / 1x1 convolutions that dominate conv nets, at batch 1 to 8, channels-last when the bench uses it), and
at least the ISA figure at the clock the OS reports (threads x 2 FMA units x vector lanes x 2 FLOP x clock;
turbo clocks can exceed it, which is why it is a floor, not the answer). Rows are then put over
max(reference, every row's achieved rate) by `apply_peak`, so no row can show more than 100 %; when a row is
what set the reference, the report says so. On GPU the reference stays the large matmul.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from zoo.bench.protocol import synchronize

_PEAKS: dict[tuple[str, str, int], float] = {}
_REFERENCES: dict[tuple[str, str, int, bool], Peak] = {}


@dataclass(frozen=True)
class Peak:
    """The reference FLOP/s rows are a percentage of, and how it was found."""

    gflops: float  # max of the probes and the ISA figure
    source: str  # what set it, e.g. "conv3x3 256->256 52x52 bs8 (measured)"
    probes: dict[str, float] = field(default_factory=dict)  # GFLOP/s of each probe
    isa_gflops: float | None = None  # ISA figure at the reported clock (CPU), when known
    isa_formula: str = ""

    def note(self) -> str:
        best = ", ".join(f"{k} {v:.1f}" for k, v in sorted(self.probes.items(), key=lambda kv: -kv[1])[:3])
        isa = f"; ISA figure {self.isa_formula} = {self.isa_gflops:.1f}" if self.isa_gflops else ""
        return (f"% peak: achieved FLOP/s over {self.gflops:.1f} GFLOP/s, the best of {len(self.probes)} probes "
                f"(large matmuls and convolutions, same threads and dtype; best: {best}){isa}; set by {self.source}")


def count_flops(fn: Callable[..., Any], *args: Any) -> int:
    """FLOPs of one call of fn(*args), counted by torch.utils.flop_counter (inference mode)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        fn(*args)
    return int(counter.get_total_flops())


def matmul_peak_gflops(device: torch.device, dtype: torch.dtype = torch.float32, seconds: float = 0.25) -> float:
    """The best GFLOP/s of a large square matmul on `device` in `dtype`: the practical peak that
    achieved model throughput is a percentage of. Cached per device, dtype and thread count."""
    key = (str(device), str(dtype), torch.get_num_threads() if device.type == "cpu" else 0)
    if key in _PEAKS:
        return _PEAKS[key]
    n = 1024 if device.type == "cpu" else 8192
    with torch.inference_mode():
        a = torch.randn(n, n, device=device).to(dtype)
        b = torch.randn(n, n, device=device).to(dtype)
        torch.mm(a, b)  # first call: library init, kernel selection
        synchronize(device)
        best = float("inf")
        deadline = time.perf_counter() + seconds
        reps = 0
        while reps < 3 or time.perf_counter() < deadline:
            t0 = time.perf_counter()
            torch.mm(a, b)
            synchronize(device)
            best = min(best, time.perf_counter() - t0)
            reps += 1
            if reps >= 50:
                break
    peak = 2 * n**3 / best / 1e9
    _PEAKS[key] = peak
    return peak


# (label, kind, shape): "mm" n; "conv" (batch, c_in, c_out, k, hw)
CPU_PROBES: tuple[tuple[str, str, tuple[int, ...]], ...] = (
    ("matmul 1024", "mm", (1024,)),
    ("matmul 1536", "mm", (1536,)),
    ("conv3x3 64->64 56x56 bs1", "conv", (1, 64, 64, 3, 56)),
    ("conv3x3 256->256 26x26 bs1", "conv", (1, 256, 256, 3, 26)),
    ("conv3x3 256->256 26x26 bs8", "conv", (8, 256, 256, 3, 26)),
    ("conv3x3 512->512 13x13 bs4", "conv", (4, 512, 512, 3, 13)),
    ("conv1x1 512->1024 13x13 bs8", "conv", (8, 512, 1024, 1, 13)),
)


def _best_seconds(fn: Callable[[], Any], device: torch.device, seconds: float) -> float:
    fn()  # first call: library init, kernel selection
    synchronize(device)
    best, reps, deadline = float("inf"), 0, time.perf_counter() + seconds
    while reps < 3 or (time.perf_counter() < deadline and reps < 50):
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        best = min(best, time.perf_counter() - t0)
        reps += 1
    return best


def _probe(kind: str, shape: tuple[int, ...], device: torch.device, dtype: torch.dtype, channels_last: bool,
           seconds: float) -> float:
    """GFLOP/s of one probe (best repetition)."""
    import torch.nn.functional as F

    with torch.inference_mode():
        if kind == "mm":
            n = shape[0]
            a, b = torch.randn(n, n, device=device).to(dtype), torch.randn(n, n, device=device).to(dtype)
            return 2 * n**3 / _best_seconds(lambda: torch.mm(a, b), device, seconds) / 1e9
        bs, cin, cout, k, hw = shape
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        x = torch.randn(bs, cin, hw, hw, device=device).to(dtype).contiguous(memory_format=fmt)
        w = torch.randn(cout, cin, k, k, device=device).to(dtype).contiguous(memory_format=fmt)
        flops = 2 * bs * cout * cin * k * k * hw * hw  # stride 1, "same" padding: hw x hw outputs
        return flops / _best_seconds(lambda: F.conv2d(x, w, padding=k // 2), device, seconds) / 1e9


def isa_peak_gflops(threads: int, dtype: torch.dtype = torch.float32) -> tuple[float, str] | None:
    """fp32 FMA peak from /proc/cpuinfo: threads x 2 FMA units x lanes (`fma_lanes`: 16 with avx512f, 8 with avx2+fma)
    x 2 FLOP x the clock the OS reports. None when the flags or clock are unknown, or for other dtypes.
    Two FMA units is what current x86 server cores have (Intel since Haswell, AMD since Zen 2; a few
    Xeons have one 512-bit unit, which makes this an overestimate there: still an upper bound)."""
    from zoo.devices import cpu_flags, cpu_mhz, cpu_vendor_family

    if dtype != torch.float32:
        return None
    lanes, mhz = fma_lanes(cpu_flags(), *cpu_vendor_family()), cpu_mhz()
    if not lanes or not mhz:
        return None
    gflops = threads * 2 * lanes * 2 * mhz / 1e3
    return gflops, f"{threads} threads x 2 FMA x {lanes} lanes x 2 FLOP x {mhz / 1e3:.2f} GHz"


def fma_lanes(flags: frozenset[str] | set[str], vendor: str = "", family: int = 0) -> int:
    """fp32 lanes of one FMA unit: 16 with AVX-512, 8 with AVX2+FMA, 0 unknown. AMD Zen 4 (family 0x19)
    runs AVX-512 on 256-bit units (AMD's Zen 4 optimisation guide), so 8 there: 16 would double its peak."""
    if "avx512f" in flags:
        return 8 if vendor == "AuthenticAMD" and family == 0x19 else 16
    return 8 if {"avx2", "fma"} <= set(flags) else 0


# Per core and cycle, against the fp32 FMA figure above: AVX512-BF16's VDPBF16PS does two bf16 MACs per 32-bit
# lane (2x), AVX512-VNNI's / AVX-VNNI's VPDPBUSD four u8 x s8 MACs (4x); AMX tiles do 1024 bf16 FLOP and 2048
# int8 ops per cycle per core (Intel's Sapphire Rapids figures, issue 23). None where the CPU has no such unit.
def isa_peak_ops(threads: int, precision: str) -> tuple[float, str] | None:
    """The ISA peak in G(FL)OP/s for `precision` (fp32, bf16, int8) on this CPU, and how it was computed."""
    from zoo.devices import INT8_DOT_FLAGS, cpu_flags, cpu_mhz

    fp32 = isa_peak_gflops(threads)
    if fp32 is None or precision == "fp32":
        return fp32
    flags, mhz = cpu_flags(), cpu_mhz() or 0.0
    amx = {"bf16": ("amx_bf16", 1024), "int8": ("amx_int8", 2048)}
    if precision in amx and amx[precision][0] in flags:
        ops = amx[precision][1]
        return threads * ops * mhz / 1e3, f"{threads} threads x {ops} {precision} ops/cycle (AMX) x {mhz / 1e3:.2f} GHz"
    factor = ({"bf16": 2 if "avx512_bf16" in flags else 0,
               "int8": 4 if flags & INT8_DOT_FLAGS else 0}).get(precision, 0)
    if not factor:
        return None
    return fp32[0] * factor, f"{factor} x the fp32 figure ({'VDPBF16PS' if precision == 'bf16' else 'VNNI VPDPBUSD'})"


def peak_reference(device: torch.device, dtype: torch.dtype = torch.float32, channels_last: bool = False,
                   seconds: float = 0.15, probes: Sequence[tuple[str, str, tuple[int, ...]]] | None = None) -> Peak:
    """The reference for "% of peak" (see the module docstring); cached per device, dtype, threads and layout."""
    threads = torch.get_num_threads() if device.type == "cpu" else 0
    key = (str(device), str(dtype), threads, channels_last)
    if probes is None and key in _REFERENCES:
        return _REFERENCES[key]
    if device.type != "cpu":
        gf = matmul_peak_gflops(device, dtype)
        peak = Peak(gf, "matmul 8192 (measured)", {"matmul 8192": gf})
    else:
        rates: dict[str, float] = {}
        for label, kind, shape in probes or CPU_PROBES:
            try:
                rates[label] = _probe(kind, shape, device, dtype, channels_last, seconds)
            except RuntimeError:  # e.g. a dtype this CPU's kernels lack: the other probes still count
                continue
        if not rates:
            raise RuntimeError(f"no peak probe runs in {dtype} on this CPU")
        best = max(rates, key=rates.__getitem__)
        isa = isa_peak_gflops(threads, dtype)
        if isa and isa[0] > rates[best]:
            peak = Peak(isa[0], "the ISA figure (above every probe)", rates, isa[0], isa[1])
        else:
            peak = Peak(rates[best], f"{best} (measured)", rates, isa[0] if isa else None, isa[1] if isa else "")
    if probes is None:
        _REFERENCES[key] = peak
    return peak


def apply_peak(rows: Sequence[Any], peak: Peak) -> list[str]:
    """Set peak_gflops_per_s and pct_of_peak of every row with an achieved rate, over
    max(peak, the fastest row): a row faster than every probe (the CPU was busier during the probes, or
    a model's kernels beat them) raises the reference to its own rate instead of showing more than 100 %.
    Returns the notes to add."""
    # int8 rows count integer ops against another peak (isa_peak_ops): they neither get nor raise this one
    rated = [r for r in rows if getattr(r, "gflops_per_s", None) and getattr(r, "precision", "") != "int8"]
    fastest = max(rated, key=lambda r: r.gflops_per_s, default=None)
    reference, notes = peak.gflops, []
    if fastest is not None and fastest.gflops_per_s > reference:
        reference = fastest.gflops_per_s
        notes.append(f"% peak: {fastest.model} bs={fastest.batch_size} ran at {reference:.1f} GFLOP/s, above every "
                     f"probe ({peak.gflops:.1f}); the reference is raised to it, so that row shows 100 % "
                     "(the probes ran on a busier CPU, or its kernels beat them)")
    for r in rated:
        r.peak_gflops_per_s = reference
        r.pct_of_peak = 100.0 * r.gflops_per_s / reference
    return notes
