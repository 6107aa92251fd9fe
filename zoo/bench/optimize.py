"""`--optimize`: the fastest configuration of one model on one device that still gives its fp32 eager answers.

    from zoo.bench.optimize import search, optimize_model
    res = search("resnet50", device="cuda", batch_size=32)   # -> OptimizeResult (cached in ZOO_HOME)
    print(res.summary())                                      # what it chose and what every candidate measured
    model = optimize_model(zoo.load("resnet50", device="cuda"), batch_size=32)   # the cached choice, applied

Why a search: the default (fp32, eager) row is what a user gets, and on a GPU the fastest correct configuration
is several times faster (issue 17); which one wins depends on the model, the device, the batch size and the torch
version, so it is measured, never assumed, and the answer is cached per (model, weights, device name, batch size,
input size, torch version, candidate set) so the search is paid once.

The candidates (`candidates()`), in two stages so compilation is paid only where it can win:
  1. eager: precision (fp32; fp16 and bf16 on CUDA where supported; bf16 on CPU only with avx512_bf16 / amx_bf16,
     since elsewhere it is emulated) x channels_last x conv-BN folding (zoo.ops.fuse); on CPU the runtime
     backends of `zoo.runtimes.with_backend` when that module exists (`runtime_candidates`, the hook to extend);
  2. torch.compile of the fastest correct eager configuration in each mode of `compile_modes` (on CUDA by
     default: default, reduce-overhead = CUDA graphs, max-autotune-no-cudagraphs; on CPU only when asked for,
     since compiling takes minutes there).
Every candidate is checked against the fp32 eager output on the same input: classifiers keep each image's top-1
(a class the reference scores within 0.01 of its top-1 is a tie, not a change), detectors keep their detections
(same class, IoU >= 0.9, score within 0.03; only detections within 0.03 of the score threshold may come and go;
dense heads whose raw outputs keep their shape must also stay within the max-abs tolerance below),
other models stay within a max-abs tolerance scaled to the output (1e-3 fp32, 1e-2 fp16, 4e-2 bf16; 5e-3 for
"fp32" on CUDA, where torch's default lets cuDNN use TF32: the reference itself runs with TF32 off). Each is
timed with the harness' own forward row (zoo.bench.rows.forward_row: first call, warm-up, synchronised timed
calls) and the fastest correct one is chosen; a candidate that fails or differs is never chosen.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from zoo.bench.config import BenchConfig
from zoo.bench.env import DTYPES, cpu_flags
from zoo.errors import InputError, first_line

SCHEMA = "cvzoo.optimize/1"
CUDA_COMPILE_MODES = ("default", "reduce-overhead", "max-autotune-no-cudagraphs")
CPU_COMPILE_MODES = ("default", "max-autotune-no-cudagraphs")
RTOL = {"fp32": 1e-3, "fp16": 1e-2, "bf16": 4e-2}  # max-abs tolerance over max |reference| (other tasks)
RTOL_TF32 = 5e-3  # fp32 candidates on CUDA where cuDNN may use TF32 (torch's default): 10 mantissa bits
TOP1_TIE = 0.01  # classifiers: a class the reference scores within this of its top-1 is a tie
IOU_MATCH, SCORE_TOL = 0.9, 0.03  # detectors: the same detection (IoU and score), and the threshold margin


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


@dataclass
class Trial:
    """What one candidate did: ok (correct and timed), wrong (its output differs: never chosen), error."""

    candidate: Candidate
    status: str = "ok"
    p50_ms: float | None = None
    mean_ms: float | None = None
    check: str = ""  # what the correctness check found (e.g. "top-1 same on 4/4 images; max abs 3e-3")
    error: str = ""
    row: dict[str, Any] | None = None  # the harness' forward BenchRow (asdict), for `zoo bench --optimize`

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "candidate": dataclasses.asdict(self.candidate)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Trial:
        return cls(**{**d, "candidate": Candidate.from_dict(d["candidate"])})


@dataclass
class OptimizeResult:
    """The search for one (model, weights, device, batch size, input size): every trial and the choice."""

    model: str
    weights: str
    device: str
    device_name: str
    batch_size: int
    input_size: list[int] | None
    torch: str
    chosen: Candidate
    trials: list[Trial] = field(default_factory=list)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    from_cache: bool = False
    schema: str = SCHEMA

    def trial(self, candidate: Candidate) -> Trial | None:
        return next((t for t in self.trials if t.candidate == candidate), None)

    @property
    def chosen_trial(self) -> Trial | None:
        return self.trial(self.chosen)

    @property
    def baseline(self) -> Trial | None:
        """The fp32 eager trial (the default configuration the speed-up is measured against)."""
        return self.trial(Candidate())

    @property
    def speedup(self) -> float | None:
        b, c = self.baseline, self.chosen_trial
        if b is None or c is None or not b.p50_ms or not c.p50_ms:
            return None
        return b.p50_ms / c.p50_ms

    def summary(self) -> str:
        """One line: what was chosen, its time, and the speed-up over fp32 eager."""
        c, b = self.chosen_trial, self.baseline
        times = f"{c.p50_ms:.3f} ms" if c and c.p50_ms else "not timed"
        vs = f" = {self.speedup:.2f}x fp32 eager ({b.p50_ms:.3f} ms)" if self.speedup and b and b.p50_ms else ""
        n_ok = sum(t.status == "ok" for t in self.trials)
        n_wrong = sum(t.status == "wrong" for t in self.trials)
        n_err = sum(t.status == "error" for t in self.trials)
        size = f" {self.input_size[0]}x{self.input_size[1]}" if self.input_size else ""
        return (f"optimize {self.model} bs={self.batch_size}{size} on {self.device_name}: chose {self.chosen.label}, "
                f"{times}{vs}; {len(self.trials)} candidates: {n_ok} correct, {n_wrong} output differs, "
                f"{n_err} failed" + (" (cached search)" if self.from_cache else ""))

    def lines(self) -> list[str]:
        """One line per candidate: status, p50, what the check found (the report's notes)."""
        out = []
        for t in self.trials:
            ms = f"{t.p50_ms:.3f} ms" if t.p50_ms is not None else "-"
            mark = " <- chosen" if t.candidate == self.chosen else ""
            why = t.error if t.status == "error" else t.check
            out.append(f"  {t.candidate.label}: {t.status}, p50 {ms}; {why}{mark}")
        return out

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["chosen"] = dataclasses.asdict(self.chosen)
        d["trials"] = [t.to_dict() for t in self.trials]
        d.pop("from_cache")
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OptimizeResult:
        if d.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} document")
        kw = {f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d and f.name != "from_cache"}
        kw["chosen"] = Candidate.from_dict(d["chosen"])
        kw["trials"] = [Trial.from_dict(t) for t in d.get("trials", [])]
        return cls(**kw)


# ---------------------------------------------------------------------- candidates

def precisions(dev: torch.device) -> list[str]:
    """The autocast precisions worth trying on `dev`: fp16/bf16 on CUDA (bf16 where the GPU has it); bf16 on
    CPU only with native bf16 arithmetic (avx512_bf16 / amx_bf16), fp16 never on CPU (emulated: slower)."""
    out = ["fp32"]
    if dev.type == "cuda":
        out.append("fp16")
        if torch.cuda.is_bf16_supported():
            out.append("bf16")
    elif dev.type == "cpu" and cpu_flags() & {"avx512_bf16", "amx_bf16"}:
        out.append("bf16")
    return out


def runtime_candidates(dev: torch.device) -> list[Candidate]:
    """The runtimes backends (issue 15) on CPU: fp32 for each backend `zoo.runtimes.available_backends()` says is
    installed, plus OpenVINO bf16 where the CPU has bf16 (the fastest on such CPUs; the check decides)."""
    if dev.type != "cpu":
        return []
    import importlib

    try:
        rt = importlib.import_module("zoo.runtimes")  # sys.modules first: a test may stand one in
    except ImportError:
        return []
    if not hasattr(rt, "with_backend"):
        return []
    names = rt.available_backends() if hasattr(rt, "available_backends") else ("onnxruntime", "openvino")
    out = [Candidate(backend=str(n)) for n in names]
    if "openvino" in names and "bf16" in precisions(dev):
        out.append(Candidate(precision="bf16", backend="openvino"))
    return out


def compile_modes(dev: torch.device, compile: bool | str | Sequence[str] | None = None) -> list[str]:
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


def candidates(dev: torch.device, backends: bool = True) -> list[Candidate]:
    """Stage 1 (eager): precision x channels_last x fuse, then the runtime backends; fp32 eager first."""
    out = [Candidate(p, cl, fu) for p in precisions(dev) for cl in (False, True) for fu in (False, True)]
    return out + (runtime_candidates(dev) if backends else [])


# ---------------------------------------------------------------------- applying a configuration

def apply(model: Any, cand: Candidate, input_size: tuple[int, int] | None = None) -> Any:
    """`model` (a ZooModel on its device, fp32, eval) configured as `cand`, in place (a backend returns its own
    model): BN folded, channels_last weights, and a `forward` that converts 4-D inputs to channels_last, runs
    under autocast and/or torch.compile, and hands floating outputs back as fp32 (CUDA-graph outputs cloned,
    since the next replay overwrites them). `model.optimized` says which candidate it is.
    Deep-copying an applied model shares its forward with the original: apply to a copy instead."""
    from zoo.bench.prepare import to_channels_last

    if cand.backend:
        from zoo.runtimes import with_backend  # type: ignore[import-not-found]

        out = with_backend(model, cand.backend, precision=cand.precision, threads=None)
        try:
            out.optimized = cand
        except AttributeError:
            pass
        return out
    dev = model.device
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
    amp = getattr(torch, DTYPES[cand.precision]) if cand.precision != "fp32" else None
    clone = cand.compile_mode == "reduce-overhead"
    device_type = dev.type

    def forward(*args: Any) -> Any:
        args = to_channels_last(args, cand.channels_last)
        if amp is None:
            return _settle(fn(*args), clone)
        with torch.autocast(device_type, dtype=amp):
            out = fn(*args)
        return _settle(out, clone)

    if cand.channels_last or amp is not None or cand.compile_mode:
        model.forward = forward
    model.optimized = cand
    return model


def _settle(out: Any, clone: bool) -> Any:
    """fp16/bf16 tensors -> fp32 (postprocess code expects fp32); clones when the outputs live in a CUDA graph."""
    if isinstance(out, torch.Tensor):
        if out.dtype in (torch.float16, torch.bfloat16):
            return out.float()
        return out.clone() if clone else out
    if isinstance(out, (list, tuple)):
        return type(out)(_settle(o, clone) for o in out)
    if isinstance(out, dict):
        return {k: _settle(v, clone) for k, v in out.items()}
    return out


# ---------------------------------------------------------------------- correctness

@dataclass
class Reference:
    """The fp32 eager answers a candidate must reproduce, on one fixed input."""

    inputs: tuple[Any, ...]  # forward arguments (the preprocessed example request when there is one)
    metas: list[Any] | None  # for postprocess; None when the model has no postprocess
    raw: Any
    results: list[Any] | None


@contextlib.contextmanager
def true_fp32(dev: torch.device) -> Iterator[None]:
    """On CUDA, TF32 off for the block (then restored): torch's own default lets cuDNN convolutions use TF32, so
    the reference would otherwise not be fp32; the candidates run with the user's settings."""
    if dev.type != "cuda":
        yield
        return
    old = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = old


def reference(model: Any, batch_size: int, input_size: tuple[int, int] | None) -> Reference:
    """fp32 eager outputs of `model` on its example request (random images), preprocessed once; models without
    a postprocess (or a request preprocess takes) get their example inputs and a raw comparison. On CUDA the
    reference is true fp32 (TF32 off while it runs)."""
    with torch.inference_mode(), true_fp32(model.device):
        metas = None
        try:
            pre_kw = {"size": input_size} if input_size is not None and "size" in model.options() else {}
            batch, metas = model.preprocess(model.example_request(batch_size, input_size), **pre_kw)
            inputs: tuple[Any, ...] = (batch,)
        except Exception:  # a model whose preprocess cannot take its request: the raw forward arguments
            inputs = tuple(_seeded(lambda: model.example_inputs(batch_size, input_size)))
            metas = None
        raw = model(*_clone(inputs))
        results = None
        if metas is not None:
            try:
                results = model.postprocess(_settle(raw, True), metas)
            except NotImplementedError:
                results = None
    return Reference(inputs, metas, raw, results)


def check(model: Any, ref: Reference, raw: Any, precision: str) -> tuple[bool, str]:
    """Does `raw` (a candidate's forward output on ref.inputs) give the reference's answers? (ok, what it found)"""
    diff, scale = _max_abs(ref.raw, raw)
    rtol = RTOL.get(precision, RTOL["fp32"])
    if precision == "fp32" and _tf32_on(model.device):
        rtol = RTOL_TF32  # "fp32" candidates on CUDA run with torch's default: TF32 convolutions
    tol = rtol * max(scale, 1e-6)
    within = diff <= tol  # False for NaN too
    note = f"max abs {diff:.2e} (reference max {scale:.2e}, tolerance {tol:.2e})"
    if ref.results is not None and ref.metas is not None:
        results = model.postprocess(raw, ref.metas)
        if results and hasattr(results[0], "topk"):
            ok, what = _same_top1(ref.results, results)
            return ok, f"{what}; {note}"
        if results and hasattr(results[0], "detections"):
            ok, what = _same_detections(ref.results, results, float(getattr(model, "default_conf", 0.0) or 0.0))
            if diff != float("inf") and not within:  # same-shaped raw outputs (dense heads) must agree too: where
                ok, what = False, f"raw outputs differ beyond the tolerance; {what}"  # every detection sits at the
            return ok, f"{what}; {note}"  # threshold (random init), the match alone would excuse them all
    if diff != diff:  # NaN
        return False, f"NaN in the output; {note}"
    return within, note


def _tf32_on(dev: torch.device) -> bool:
    return dev.type == "cuda" and bool(torch.backends.cudnn.allow_tf32 or torch.backends.cuda.matmul.allow_tf32)


def _same_top1(ref: list[Any], got: list[Any]) -> tuple[bool, str]:
    changed = 0
    for r, g in zip(ref, got):
        if not r.topk or not g.topk:
            continue
        top = r.topk[0]
        if g.topk[0].class_id == top.class_id:
            continue
        tied = next((p for p in r.topk if p.class_id == g.topk[0].class_id), None)
        if tied is None or top.score - tied.score > TOP1_TIE:
            changed += 1
    n = len(ref)
    return changed == 0, (f"top-1 same on {n}/{n} images" if not changed else f"top-1 changed on {changed}/{n} images")


def _same_detections(ref: list[Any], got: list[Any], conf: float) -> tuple[bool, str]:
    """Greedy matching, the reference's highest scores first: same class, score within SCORE_TOL, IoU >= IOU_MATCH
    (the best IoU wins). One tensor op per reference detection: random-init detectors give hundreds per image."""
    from torchvision.ops import box_iou

    missing = extra = matched = 0
    for r, g in zip(ref, got):
        rd, gd = r.detections, g.detections
        used = torch.zeros(len(gd), dtype=torch.bool)
        if rd and gd:
            iou = box_iou(torch.tensor([d.box for d in rd], dtype=torch.float64),
                          torch.tensor([d.box for d in gd], dtype=torch.float64))
            rs = torch.tensor([d.score for d in rd], dtype=torch.float64)
            gs = torch.tensor([d.score for d in gd], dtype=torch.float64)
            same = (torch.tensor([d.class_id for d in rd])[:, None] == torch.tensor([d.class_id for d in gd])[None, :])
            fit = torch.where(same & ((rs[:, None] - gs[None, :]).abs() <= SCORE_TOL) & (iou >= IOU_MATCH), iou, -1.0)
            for i in torch.argsort(rs, descending=True).tolist():
                row = fit[i].masked_fill(used, -1.0)
                j = int(row.argmax())
                if row[j] < 0:
                    missing += rd[i].score > conf + SCORE_TOL  # near the threshold a detection may come and go
                else:
                    used[j] = True
                    matched += 1
        else:
            missing += sum(d.score > conf + SCORE_TOL for d in rd)
        extra += sum(1 for j, e in enumerate(gd) if not used[j] and e.score > conf + SCORE_TOL)
    if missing or extra:
        return False, f"detections differ: {missing} missing, {extra} extra ({matched} matched)"
    return True, f"same detections ({matched} matched)"


def _max_abs(a: Any, b: Any) -> tuple[float, float]:
    """(max |a - b|, max |a|) over the floating tensors of two output structures of the same shape; anything
    that does not line up (shapes, lengths, keys, types) is infinitely different, never silently equal."""
    if isinstance(a, torch.Tensor) and not isinstance(b, torch.Tensor) and hasattr(b, "__array__"):
        b = torch.as_tensor(b).to(a.device)  # a runtime backend may hand back numpy arrays
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        if not a.is_floating_point() or a.numel() == 0:
            return (0.0 if a.shape == b.shape and torch.equal(a.cpu(), b.cpu()) else float("inf")), 0.0
        if a.shape != b.shape:
            return float("inf"), float(a.abs().max())
        return float((a.float() - b.float()).abs().max()), float(a.float().abs().max())
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return float("inf"), 0.0
        pairs = [_max_abs(x, y) for x, y in zip(a, b)]
        return max((p[0] for p in pairs), default=0.0), max((p[1] for p in pairs), default=0.0)
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return float("inf"), 0.0
        return _max_abs([a[k] for k in a], [b[k] for k in a])
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor) or type(a) is not type(b):
        return float("inf"), 0.0
    try:
        return (0.0 if a == b else float("inf")), 0.0
    except Exception:  # values without a plain equality
        return float("inf"), 0.0


def _clone(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x.clone()
    if isinstance(x, (list, tuple)):
        return type(x)(_clone(v) for v in x)
    return x


def _seeded(fn: Callable[[], Any], seed: int = 0) -> Any:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return fn()


# ---------------------------------------------------------------------- the search

def search(target: Any, device: Any = "auto", batch_size: int = 1, input_size: int | Sequence[int] | None = None,
           compile: bool | str | Sequence[str] | None = None, backends: bool = True, warmup: int = 3,
           iters: int = 20, weights: str = "auto", cache: bool = True, flops: bool = False,
           log: Callable[[str], Any] | None = None) -> OptimizeResult:
    """Try the candidates for `target` (a name, or a ZooModel: moved to `device` in place, otherwise never
    modified, since candidates work on copies) at `batch_size` on `device`; the fastest correct one is `chosen`. A cached search for the same key
    is returned without measuring (`from_cache`); cache=False always measures (and refreshes the cache)."""
    from zoo.bench.prepare import load_for_bench
    from zoo.devices import resolve_device
    from zoo.model import ZooModel

    dev = resolve_device(device)
    size = _size(input_size)
    if batch_size < 1:
        raise InputError(f"batch size must be at least 1, got {batch_size}")
    base = target.to(dev).eval() if isinstance(target, ZooModel) else load_for_bench(str(target), weights, dev)
    modes = compile_modes(dev, compile)
    stage1 = candidates(dev, backends)
    key = cache_key(base.spec.name, base.weights_source, dev, batch_size, size, stage1, modes)
    if cache:
        hit = load_cached(key)
        if hit is not None:
            return hit
    say = log or (lambda _msg: None)
    res = OptimizeResult(model=base.spec.name, weights=base.weights_source, device=str(dev),
                         device_name=device_name(dev), batch_size=batch_size,
                         input_size=list(size) if size else None, torch=torch.__version__, chosen=Candidate())
    total = len(stage1) + len(modes)
    say(f"searching the fastest configuration of {base.spec.name} at batch {batch_size} on {res.device_name}: "
        f"{total} candidates, once (the choice is cached in ZOO_HOME)")
    ref = reference(base, batch_size, size)
    macs = _macs(base, size) if flops else None
    for i, cand in enumerate(stage1, 1):
        say(f"[{i}/{total}] {base.spec.name} bs={batch_size}: {cand.label}")
        res.trials.append(_try(base, cand, ref, dev, batch_size, size, warmup, iters, macs))
    best = _fastest(res.trials, lambda c: c.backend is None)
    for i, mode in enumerate(modes, len(stage1) + 1):
        cand = dataclasses.replace(best, compile_mode=mode)
        say(f"[{i}/{total}] {base.spec.name} bs={batch_size}: {cand.label}")
        res.trials.append(_try(base, cand, ref, dev, batch_size, size, warmup, iters, macs))
    res.chosen = _fastest(res.trials)
    save_cached(key, res)
    return res


def _fastest(trials: list[Trial], allowed: Callable[[Candidate], bool] = lambda c: True) -> Candidate:
    ok = [t for t in trials if t.status == "ok" and t.p50_ms is not None and allowed(t.candidate)]
    return min(ok, key=lambda t: t.p50_ms).candidate if ok else Candidate()  # type: ignore[arg-type,return-value]


def _try(base: Any, cand: Candidate, ref: Reference, dev: torch.device, bs: int, size: tuple[int, int] | None,
         warmup: int, iters: int, macs: float | None) -> Trial:
    """Configure a copy of `base` as `cand`, check its answers, time its forward row (the harness' code)."""
    from zoo.bench.prepare import Prepared
    from zoo.bench.rows import forward_row, free

    trial = Trial(cand)
    model = None
    try:
        model = apply(copy.deepcopy(base), cand, size)
        with torch.inference_mode():
            model(*_clone(ref.inputs))  # the first call compiles; the check sees a warm model (CUDA graphs too)
            raw = model(*_clone(ref.inputs))
            ok, trial.check = check(base, ref, raw, cand.precision)
        del raw
        trial.status = "ok" if ok else "wrong"
        cfg = BenchConfig(batch_sizes=(bs,), device=str(dev), precision=cand.precision,
                          channels_last=cand.channels_last, compile=cand.compile_mode is not None,
                          compile_mode=cand.compile_mode, fuse=cand.fuse, warmup=warmup, iters=iters,
                          input_size=size, e2e=False, flops=macs is not None, memory=False)
        prep = Prepared(base.spec.name, model, model, base.weights_source, base.spec.task,
                        sum(p.numel() for p in base.parameters()), macs)
        row = forward_row(prep, bs, cfg, dev, None, _peak(dev, cand) if macs is not None else None)
        row.variant = f"optimize:{cand.label}"
        trial.row = dataclasses.asdict(row)
        if not row.ok:
            trial.status, trial.error = "error", row.error
        trial.p50_ms, trial.mean_ms = row.p50_ms, row.mean_ms
    except Exception as e:  # a candidate that cannot run here (no bf16 kernel, compile failure): recorded, skipped
        trial.status, trial.error = "error", f"{type(e).__name__}: {first_line(e)}"[:300]
    del model
    free(dev)
    return trial


def _macs(model: Any, size: tuple[int, int] | None) -> float | None:
    from zoo.bench.flops import count_flops

    try:
        with torch.inference_mode():
            return count_flops(model, *model.example_inputs(1, size)) / 2
    except Exception:
        return None


def _peak(dev: torch.device, cand: Candidate) -> float | None:
    from zoo.bench.flops import peak_reference

    try:
        dtype = getattr(torch, DTYPES[cand.precision])
        return peak_reference(dev, dtype, cand.channels_last).gflops
    except Exception:
        return None


def _size(input_size: int | Sequence[int] | None) -> tuple[int, int] | None:
    if input_size is None:
        return None
    if isinstance(input_size, int):
        return (input_size, input_size)
    h, w = input_size
    return (int(h), int(w))


def device_name(dev: torch.device) -> str:
    """The GPU's name, or the CPU model: what a cached choice is valid for."""
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    from zoo.bench.env import cpu_model

    return cpu_model()


# ---------------------------------------------------------------------- the cache

def cache_key(model: str, weights: str, dev: torch.device, batch_size: int, size: tuple[int, int] | None,
              stage1: Sequence[Candidate], modes: Sequence[str]) -> dict[str, Any]:
    """What a choice is valid for; the candidate set is part of it, so a wider search is not answered by a
    narrower one."""
    return {"model": model, "weights": weights, "device": dev.type, "device_name": device_name(dev),
            "batch_size": batch_size, "input_size": list(size) if size else None, "torch": torch.__version__,
            "candidates": [c.label for c in stage1], "compile_modes": list(modes)}


def cache_path(key: dict[str, Any]) -> Path:
    from zoo.paths import zoo_home

    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    slug = re.sub(r"[^A-Za-z0-9_.-]", "_", str(key["model"]))[:60] or "model"
    return zoo_home() / "optimize" / f"{slug}-bs{key['batch_size']}-{digest}.json"


def load_cached(key: dict[str, Any]) -> OptimizeResult | None:
    """The cached search for `key`, or None (missing, unreadable or for another key: searched again)."""
    path = cache_path(key)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("key") != key:
            return None
        res = OptimizeResult.from_dict(data["result"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    res.from_cache = True
    return res


def save_cached(key: dict[str, Any], res: OptimizeResult) -> Path | None:
    """Written atomically (zoo.fsutil); a read-only ZOO_HOME costs the cache, not the answer."""
    from zoo.fsutil import write_json_atomic

    path = cache_path(key)
    try:
        write_json_atomic(path, {"key": key, "result": res.to_dict()})
    except OSError:
        return None
    return path


# ---------------------------------------------------------------------- surfaces

def optimize_model(model: Any, batch_size: int = 1, input_size: int | Sequence[int] | None = None,
                   compile: bool | str | Sequence[str] | None = None, log: Callable[[str], Any] | None = None,
                   **search_kw: Any) -> Any:
    """`model` configured with the cached choice for its device and `batch_size` (searched first when none is
    cached): what `zoo.load(..., optimize=True)` and `zoo predict --optimize` use. The result is kept on the
    model as `model.optimize_result`."""
    res = search(model, device=model.device, batch_size=batch_size, input_size=input_size, compile=compile,
                 log=log, **search_kw)
    out = apply(model, res.chosen, _size(input_size))
    out.optimize_result = res
    return out


def add_optimize_rows(report: Any, batch_sizes: Sequence[int], device: Any = "auto",
                      input_size: int | Sequence[int] | None = None, compile: bool | str | Sequence[str] | None = None,
                      warmup: int = 3, iters: int = 20, weights: str = "auto", e2e: bool = True,
                      flops: bool = True, log: Callable[[str], Any] | None = None) -> list[OptimizeResult]:
    """`zoo bench --optimize`: for every model of `report` (by name) and batch size, search (or read the cached
    search), add a forward row per correct candidate (variant "optimize:<candidate>"), then time the chosen
    configuration afresh, forward and end-to-end (variant "optimize:chosen"); what each candidate measured,
    rejected ones included, goes into the notes."""
    from zoo.bench.prepare import Prepared, load_for_bench
    from zoo.bench.report import BenchRow, _from_fields
    from zoo.bench.rows import e2e_row, forward_row, free
    from zoo.devices import resolve_device

    dev = resolve_device(device)
    size = _size(input_size)
    names = list(dict.fromkeys(r.model for r in report.rows if not r.variant))
    out = []
    for name in names:
        for bs in batch_sizes:
            try:
                res = search(name, device=dev, batch_size=bs, input_size=size, compile=compile, warmup=warmup,
                             iters=iters, weights=weights, flops=flops, log=log)
            except Exception as e:  # a model that cannot be searched: said, the others go on
                report.notes.append(f"optimize {name} bs={bs}: not searched: {first_line(e)}")
                continue
            out.append(res)
            report.notes.append(res.summary())
            report.notes.extend(line.strip() for line in res.lines())
            for t in res.trials:
                if t.status == "ok" and t.row is not None:
                    trial_row = _from_fields(BenchRow, t.row)
                    trial_row.backend = t.candidate.backend or "torch"  # a runtime candidate's row says so
                    report.rows.append(trial_row)
            model = apply(load_for_bench(name, weights, dev), res.chosen, size)
            cand = res.chosen
            cfg = BenchConfig(batch_sizes=(bs,), device=str(dev), precision=cand.precision,
                              channels_last=cand.channels_last, compile=cand.compile_mode is not None,
                              compile_mode=cand.compile_mode, fuse=cand.fuse, warmup=warmup, iters=iters,
                              input_size=size, e2e=e2e, flops=False, memory=True)
            prep = Prepared(name, model, model, model.weights_source, model.spec.task,
                            sum(p.numel() for p in model.parameters()), None)
            rows = [forward_row(prep, bs, cfg, dev, None, None)] + ([e2e_row(prep, bs, cfg, dev, None)] if e2e else [])
            for row in rows:
                row.variant = "optimize:chosen"
                row.backend = cand.backend or "torch"
                if row.kind == "forward" and res.chosen_trial and res.chosen_trial.row:
                    for f in ("macs", "flops"):
                        setattr(row, f, res.chosen_trial.row.get(f))
                    if row.flops and row.mean_ms:
                        row.gflops_per_s = row.flops / (row.mean_ms / 1e3) / 1e9
                report.rows.append(row)
            del model, prep
            free(dev)
    return out
