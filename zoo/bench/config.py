"""`BenchConfig`: every knob of one harness run, built by keyword (it is stored in the report's `config`)."""

from __future__ import annotations

from dataclasses import dataclass

from zoo.devices import PRECISIONS as TORCH_PRECISIONS
from zoo.errors import ArgumentError, InputError, at_least

PRECISIONS = (*TORCH_PRECISIONS, "int8")  # int8: the runtimes' quantised exports (--backend onnxruntime/openvino)
DEFAULT_ITERS = 20
DEFAULT_WARMUP = 3


COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")  # torch.compile's


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
    backends: tuple[str, ...] = ("torch",)  # runtimes to run each model on (zoo.bench.backends; torch: eager)
    precisions: tuple[str, ...] | None = None  # several precisions in one run (None: `precision` alone)
    parity_image: str | None = None  # --backend: the photo detectors' detections are compared on (None: bundled)
    calibration: str | None = None  # reduced precisions: the photos int8 calibrates on and guards judge (None: bundled)

    def validate(self) -> None:
        if self.precision not in PRECISIONS:
            raise InputError(f"unknown precision '{self.precision}' ({', '.join(PRECISIONS)})")
        if not self.batch_sizes or any(int(b) < 1 for b in self.batch_sizes):
            raise InputError("batch sizes must be positive integers, e.g. 1,8,32")
        at_least("warmup", self.warmup, 0)
        at_least("iters", self.iters)
        if self.time_budget is not None and self.time_budget <= 0:
            raise ArgumentError("time_budget", "{} must be > 0 seconds")
        at_least("threads", self.threads)
        if self.weights not in ("auto", "random"):
            raise InputError(f"unknown weights mode '{self.weights}' (auto, random)")
        if self.input_size is not None and min(self.input_size) < 1:
            raise ArgumentError("input_size", "{} must be positive")
        if tuple(self.backends) != ("torch",) and (self.compile or self.fuse or self.channels_last):
            raise ArgumentError(("compile", "fuse", "channels_last", "backends"),
                                "{}, {} and {} are torch's: run them without {} "
                                "(a runtime backend optimises the exported graph itself)")
        if self.precisions is not None and any(p not in PRECISIONS for p in self.precisions):
            raise InputError(f"unknown precision in {','.join(self.precisions)} ({', '.join(PRECISIONS)})")
        if self.calibration is not None:
            from zoo.runtimes.calibration import calibration_set

            if self.precision == "fp32" and all(p == "fp32" for p in self.precisions or ()):
                raise InputError("--calibration is for reduced precisions (int8 calibrates on it, all are guarded on it)")
            calibration_set(self.calibration)  # an empty or missing folder: one line before any model is built
        if self.compile_mode is not None and not self.compile:
            raise ArgumentError(("compile_mode", "compile"), "{} needs {} (it picks how torch.compile runs)")
        if self.compile_mode is not None and self.compile_mode not in COMPILE_MODES:
            raise ArgumentError("compile_mode", f"unknown {{}} '{self.compile_mode}' ({', '.join(COMPILE_MODES)})")
