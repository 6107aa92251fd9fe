"""`zoo bench NAME --backend torch,onnxruntime,openvino|all [--precision fp32,bf16|all]`: the harness's rows
for each runtime backend and precision, in one table, so one command says which backend is fastest for this
model on this machine and at what accuracy cost.

Each (backend, precision) runs the same protocol as plain `zoo bench` (forward and end-to-end rows per batch
size, same warm-up and timed calls, same threads). A runtime backend is `zoo.runtimes.with_backend` on a copy
of the torch model: its export and compile seconds (and whether the export came from the cache) come from
`backend_info` and sit apart from the first call, which the harness times as always. Each row carries a
parity column against torch fp32 on the same input: the max abs difference of the raw outputs and, for
detectors, whether the detections on a real photo are the same (`zoo.tasks.parity.compare_results` at the
row's precision: same classes, IoU >= 0.9, score within 0.02 at fp32, 0.03 below). A backend that cannot take the model (an op it lacks, a
precision this CPU has not) gives failed rows that say why, and the sweep goes on.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any

import torch
import torch.utils._pytree as pytree

from zoo.bench.config import PRECISIONS, BenchConfig
from zoo.bench.prepare import Prepared
from zoo.bench.report import BenchRow
from zoo.devices import torch_dtype
from zoo.errors import ArgumentError, InputError, SpecError, first_line
from zoo.tasks.parity import compare_outputs, compare_results, task_of

DEFAULT_BACKENDS = ("torch",)


def parse_backends(text: str | None) -> tuple[str, ...]:
    """'torch,openvino' or 'all' -> the backends, in the runtimes' order; an unknown one is one line."""
    if text is None:
        return DEFAULT_BACKENDS
    from zoo.runtimes import BACKENDS
    names = [p.strip().lower() for p in str(text).split(",") if p.strip()]
    if not names:
        raise ArgumentError("backend", "{} is empty (give e.g. torch,onnxruntime,openvino or all)")
    if "all" in names:
        return tuple(b for b in BACKENDS if b in ("torch", "onnxruntime", "openvino"))
    for n in names:
        if n not in BACKENDS:
            close = difflib.get_close_matches(n, BACKENDS, n=1, cutoff=0.5)
            raise InputError(f"unknown backend '{n}' (one of: {', '.join(BACKENDS)}, all)"
                             + (f"; did you mean '{close[0]}'?" if close else ""))
    return tuple(dict.fromkeys(names))


def parse_precisions(text: str | None) -> tuple[str, ...] | None:
    """'fp32' / 'fp32,bf16' / 'all' -> precisions (None: not given); an unknown one is one line."""
    if text is None:
        return None
    names = [p.strip().lower() for p in str(text).split(",") if p.strip()]
    if "all" in names:
        return PRECISIONS
    for n in names:
        if n not in PRECISIONS:
            close = difflib.get_close_matches(n, PRECISIONS, n=1, cutoff=0.5)
            raise InputError(f"unknown precision '{n}' ({', '.join(PRECISIONS)}, all)"
                             + (f"; did you mean '{close[0]}'?" if close else ""))
    if not names:
        raise ArgumentError("precision", "{} is empty (give e.g. fp32 or fp32,bf16 or all)")
    return tuple(dict.fromkeys(names))


def combos(cfg: BenchConfig) -> tuple[list[tuple[str, str]], list[str]]:
    """The (backend, precision) pairs to run, and a note for each pair left out (a precision the backend does
    not run, or that this CPU lacks when every precision was asked for). None left is an InputError."""
    from zoo.runtimes import PRECISIONS as RUNS

    precisions = cfg.precisions or (cfg.precision,)
    asked_all = cfg.precisions == PRECISIONS
    pairs, notes = [], []
    for b in cfg.backends:
        for p in precisions:
            if p not in RUNS.get(b, ("fp32",)):
                notes.append(f"--backend {b} skipped at {p}: it runs {', '.join(RUNS.get(b, ('fp32',)))}")
            elif asked_all and b != "torch" and p != "fp32" and not _cpu_runs(b, p):
                notes.append(f"--backend {b} skipped at {p}: this CPU has no native {p}")
            elif asked_all and b == "torch" and p == "fp16":
                notes.append("--backend torch skipped at fp16 with --precision all: CPU fp16 autocast is emulated")
            else:
                pairs.append((b, p))
    if not pairs:
        raise InputError("no backend runs the precision asked for: " + "; ".join(notes))
    return pairs, notes


def _cpu_runs(backend: str, precision: str) -> bool:
    try:
        from zoo.runtimes.runners import check_cpu_precision

        check_cpu_precision(backend, precision)
        return True
    except InputError:
        return False


def n_rows(cfg: BenchConfig) -> int:
    """Rows per model (for the progress bar)."""
    try:
        pairs = len(combos(cfg)[0])
    except InputError:
        pairs = 1
    return pairs * len(cfg.batch_sizes) * (2 if cfg.e2e else 1)


def backend_rows(prep: Prepared, cfg: BenchConfig, dev: torch.device, peak: float | None, bar: Any,
                 notes: list[str]) -> list[BenchRow]:
    """Every (backend, precision) x batch size x (forward, end-to-end) row of one prepared torch model."""
    from zoo.bench.rows import e2e_row, fail_row, forward_row, free

    pairs, skipped = combos(cfg)
    notes.extend(n for n in skipped if n not in notes)
    rows: list[BenchRow] = []
    reference = _Reference(prep.model, cfg)
    for backend, precision in pairs:
        bcfg = dataclasses.replace(cfg, precision=precision)
        amp = torch_dtype(precision) if backend == "torch" and precision != "fp32" else None
        bar.describe(f"{prep.name} {backend} {precision}: preparing")
        try:
            bprep, info = _prepare_backend(prep, backend, precision, cfg)
        except Exception as e:  # an op the runtime lacks, a precision the CPU has not: the rows say why
            for bs in cfg.batch_sizes:
                for kind in ("forward", "end-to-end")[: 2 if cfg.e2e else 1]:
                    row = BenchRow(model=prep.name, kind=kind, batch_size=bs, task=prep.task, weights=prep.weights,
                                   input_size=prep.model.input_label(cfg.input_size), device=str(dev),
                                   precision=precision, params=prep.params)
                    row.backend = backend
                    fail_row(row, e)
                    row.status = "unsupported" if row.status == "error" else row.status
                    row.error = f"{backend} {precision}: {row.error}"[:300]
                    rows.append(row)
                    bar.advance()
            free(dev)
            continue
        max_abs, detections = reference.compare(bprep.model, backend, precision)
        if info.get("guard"):
            notes.append(guard_note(f"{prep.name} {backend} {precision}", info["guard"]))
        quant = info.get("quantization")
        if quant:  # what int8 was calibrated on, said once per model
            cal = quant["calibration"]
            note = (f"{prep.name} {backend} int8: {quant['tool']}, calibrated on {cal['images']} photos "
                    f"({cal['source']})" + (f", {len(quant['fp32_layers'])} layers kept fp32"
                                            if quant["fp32_layers"] else ""))
            notes.append(note)
        for bs in cfg.batch_sizes:
            bar.describe(f"{prep.name} {backend} {precision} bs={bs} forward")
            fwd = forward_row(bprep, bs, bcfg, dev, amp, peak if backend == "torch" else None)
            bar.advance()
            batch_rows = [fwd]
            if cfg.e2e:
                bar.describe(f"{prep.name} {backend} {precision} bs={bs} end-to-end")
                batch_rows.append(e2e_row(bprep, bs, bcfg, dev, amp))
                bar.advance()
            for row in batch_rows:
                row.backend = backend
                row.export_s, row.cache_hit = info.get("export_s"), info.get("cache_hit")
                if backend != "torch":
                    row.compile_s = info.get("compile_s")
                row.parity_max_abs, row.parity_detections = max_abs, detections
                row.guard = guard_text(info.get("guard"))
            rows.extend(batch_rows)
        del bprep
        free(dev)
    return rows


def _prepare_backend(prep: Prepared, backend: str, precision: str, cfg: BenchConfig) -> tuple[Prepared, dict]:
    """The torch model itself for backend torch; else with_backend (a shallow copy sharing the weights whose
    forward is the runtime; export + compile are timed by it and reported in backend_info)."""
    if backend == "torch":  # reduced precisions run under autocast (the rows' _autocast): guarded as such
        if precision == "fp32":
            return prep, {}
        from zoo.runtimes.guard import autocast_guard

        return prep, {"guard": autocast_guard(prep.model, precision, cfg.calibration)}
    from zoo.runtimes import with_backend

    model = with_backend(prep.model, backend, precision=precision,
                         threads=cfg.threads or torch.get_num_threads(), dynamic_batch=True,
                         input_size=cfg.input_size, calibration=cfg.calibration)
    info = dict(getattr(model, "backend_info", {}) or {})
    return dataclasses.replace(prep, model=model, runner=model, notes=[]), info


class _Reference:
    """Torch fp32 outputs on one fixed input (and detections on a real photo) that every backend's are
    compared with."""

    def __init__(self, model: Any, cfg: BenchConfig):
        self.model = model
        self.cfg = cfg
        with torch.inference_mode():
            self.args = model.example_inputs(1, cfg.input_size)
            self.outputs = _leaves(model(*_clone(self.args)))
        self.detector = _has_detections(model)
        self._detections: Any = None

    def detections(self) -> Any:
        if self._detections is None:
            self._detections = _predict(self.model, self.cfg)
        return self._detections

    def compare(self, model: Any, backend: str, precision: str) -> tuple[float | None, str]:
        """(max abs difference of the raw outputs vs torch fp32, detections verdict or "")."""
        if backend == "torch" and precision == "fp32":
            return 0.0, ("same (reference)" if self.detector else "")
        try:
            with torch.inference_mode(), _autocast(backend, precision):
                got = _leaves(model(*_clone(self.args)))
        except Exception as e:
            return None, f"parity not measured: {first_line(e, with_type=True)}"[:200]
        raw = compare_outputs(self.outputs, got, atol=0.0)  # the number only: the row shows it, the task judges
        if raw.metrics["max_abs"] == float("inf"):
            return None, f"parity not measured: {raw.summary}"[:200]
        max_abs = raw.metrics["max_abs"]
        if not self.detector:
            return max_abs, ""
        try:
            with _autocast(backend, precision):
                mine = _predict(model, self.cfg)
            agree = compare_results(task_of(self.model), self.detections(), mine, precision=precision,
                                    conf=getattr(self.model, "default_conf", None))
            return max_abs, "same" if agree.same else f"differ: {agree.summary}"[:200]
        except Exception as e:
            return max_abs, f"not compared: {first_line(e, with_type=True)}"[:200]


def _has_detections(model: Any) -> bool:
    try:
        return task_of(model).has_detections
    except SpecError:  # a model whose registry lacks its task: raw outputs only
        return False


def guard_note(what: str, guard: dict[str, Any]) -> str:
    """A report note for one accuracy guard: what was judged on which inputs, and the verdict."""
    from zoo.runtimes.guard import judged_on

    return (f"{what} accuracy guard on {judged_on(guard)}: "
            + ("same answers as fp32" if guard["same"] else "CHANGES answers") + f" ({guard['summary']})")


def guard_text(guard: dict[str, Any] | None) -> str:
    """A bench cell for the accuracy guard: "same" or "CHANGES: what", with the layers int8 kept in fp32."""
    if not guard:
        return ""
    kept = guard.get("fp32_layers")
    text = "same" if guard["same"] else f"CHANGES: {guard['summary']}"
    return (text + (f" ({len(kept)} layers fp32)" if kept else ""))[:200]


def _autocast(backend: str, precision: str) -> Any:
    from contextlib import nullcontext

    if backend == "torch" and precision != "fp32":
        return torch.autocast("cpu", dtype=torch_dtype(precision))
    return nullcontext()


def _predict(model: Any, cfg: BenchConfig) -> Any:
    """Detections on the parity photo (default: the bundled one), at the benchmark's input size when the
    model takes one."""
    from zoo.data import SAMPLE_IMAGE

    opts = {"size": cfg.input_size} if cfg.input_size is not None and "size" in model.options() else {}
    return model.predict(cfg.parity_image or str(SAMPLE_IMAGE), **opts)


def _clone(args: Any) -> Any:
    return pytree.tree_map(lambda t: t.clone() if isinstance(t, torch.Tensor) else t, args)


def _leaves(out: Any) -> list[torch.Tensor]:
    return [t for t in pytree.tree_leaves(out) if isinstance(t, torch.Tensor)]
