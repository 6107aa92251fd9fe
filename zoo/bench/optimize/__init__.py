"""`--optimize`: the fastest configuration of one model on one device that still gives its fp32 eager answers.

    from zoo.bench.optimize import search, optimize_model
    res = search("resnet50", device="cuda", batch_size=32)   # -> OptimizeResult (stored in ZOO_HOME/optimize)
    print(res.summary())                                      # what it chose and what every candidate measured
    model = optimize_model(zoo.load("resnet50", device="cuda"), batch_size=32)   # searched once, then applied

Why a search: the default (fp32, eager) row is what a user gets, and on a GPU the fastest correct configuration
is several times faster (issue 17); which one wins depends on the model, the device, the batch size and the torch
version, so it is measured, never assumed, and the answer is stored per (model, weights, device name, batch size,
input size, torch version, candidate set) so the search is paid once. `zoo.load(..., optimize=...)` applies a
stored choice through zoo.optimized (below the harness) and never searches.

One module per job:
  space       what is tried: stage 1 (eager) precision (fp32; fp16 and bf16 on CUDA where supported; bf16 on CPU
              only with native bf16, since elsewhere it is emulated) x channels_last x conv-BN folding, then on
              CPU the installed runtime backends (zoo.runtimes); stage 2 torch.compile of the fastest correct
              eager configuration in each mode of `compile_modes` (on CUDA by default; on CPU only when asked
              for, since compiling takes minutes there)
  check       every candidate against the fp32 eager answers on the same input, by the task's own comparison
              (zoo.tasks.parity: top-1/top-k, detections, people, images, embeddings) at the candidate's
              precision; the raw outputs must also stay within the precision's tolerance unless the task is a
              classifier or the outputs' shapes differ (random-init detectors put every box at the threshold,
              where the detection match alone would excuse them all)
  search      each candidate configured on a copy (zoo.optimized.apply), checked, and timed with the harness'
              own forward row (zoo.bench.rows.forward_row); the fastest correct one is chosen; a candidate that
              fails or differs is never chosen
  result      what each candidate did and the choice (Trial, OptimizeResult)
  cache       the stored searches, ZOO_HOME/optimize (written atomically)
  rows        `zoo bench --optimize`: the report's rows and notes
"""

from __future__ import annotations

from zoo.bench.optimize.result import OptimizeResult, Trial
from zoo.bench.optimize.rows import add_optimize_rows
from zoo.bench.optimize.search import optimize_model, search
from zoo.bench.optimize.space import candidates, compile_modes, precisions, runtime_candidates
from zoo.optimized import SCHEMA, Candidate, apply

__all__ = ["SCHEMA", "Candidate", "OptimizeResult", "Trial", "add_optimize_rows", "apply", "candidates",
           "compile_modes", "optimize_model", "precisions", "runtime_candidates", "search"]
