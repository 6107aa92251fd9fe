"""`zoo bench --optimize`: the searches' rows and notes in a benchmark report."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from zoo.bench.config import BenchConfig
from zoo.bench.optimize.result import OptimizeResult
from zoo.bench.optimize.search import input_size_pair, search
from zoo.errors import first_line


def add_optimize_rows(report: Any, batch_sizes: Sequence[int], device: Any = "auto",
                      input_size: int | Sequence[int] | None = None, compile: bool | str | Sequence[str] | None = None,
                      warmup: int = 3, iters: int = 20, weights: str = "auto", e2e: bool = True,
                      flops: bool = True, log: Callable[[str], Any] | None = None) -> list[OptimizeResult]:
    """For every model of `report` (by name) and batch size, search (or read the stored search), add a forward
    row per correct candidate (variant "optimize:<candidate>"), then time the chosen configuration afresh,
    forward and end-to-end (variant "optimize:chosen"); what each candidate measured, rejected ones included,
    goes into the notes."""
    from zoo.bench.prepare import Prepared, load_for_bench
    from zoo.bench.report import SCHEMA, BenchReport
    from zoo.bench.rows import e2e_row, forward_row, free
    from zoo.devices import resolve_device
    from zoo.optimized import apply

    dev = resolve_device(device)
    size = input_size_pair(input_size)
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
            stored = [t for t in res.trials if t.status == "ok" and t.row is not None]
            for t, trial_row in zip(stored, BenchReport.from_dict({"schema": SCHEMA,
                                                                  "rows": [t.row for t in stored]}).rows):
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
