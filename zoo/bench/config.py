"""`BenchConfig`: every knob of one harness run, built by keyword (it is stored in the report's `config`)."""

from __future__ import annotations

from dataclasses import dataclass

from zoo.errors import InputError

PRECISIONS = ("fp32", "fp16", "bf16")
DEFAULT_ITERS = 20
DEFAULT_WARMUP = 3


@dataclass(kw_only=True)
class BenchConfig:
    """Every knob of one harness run (stored in the report's `config`); keyword-only, so a new knob never
    shifts the meaning of a caller's arguments."""

    batch_sizes: tuple[int, ...] = (1,)
    device: str = "auto"
    precision: str = "fp32"
    channels_last: bool = False
    compile: bool = False
    compile_mode: str | None = None
    fuse: bool = False
    warmup: int = DEFAULT_WARMUP
    iters: int | None = None
    time_budget: float | None = None
    threads: int | None = None
    input_size: tuple[int, int] | None = None
    e2e: bool = True
    flops: bool = True
    memory: bool = True
    weights: str = "auto"  # auto: cached weights when present, else random init; random: always random init

    def validate(self) -> None:
        if self.precision not in PRECISIONS:
            raise InputError(f"unknown precision '{self.precision}' (fp32, fp16, bf16)")
        if not self.batch_sizes or any(int(b) < 1 for b in self.batch_sizes):
            raise InputError("batch sizes must be positive integers, e.g. 1,8,32")
        if self.warmup < 0:
            raise InputError("--warmup must be >= 0")
        if self.iters is not None and self.iters < 1:
            raise InputError("--iters must be >= 1")
        if self.time_budget is not None and self.time_budget <= 0:
            raise InputError("--time-budget must be > 0 seconds")
        if self.threads is not None and self.threads < 1:
            raise InputError("--threads must be >= 1")
        if self.weights not in ("auto", "random"):
            raise InputError(f"unknown weights mode '{self.weights}' (auto, random)")
        if self.input_size is not None and min(self.input_size) < 1:
            raise InputError("--input-size must be positive")
