"""--optimize on a GPU (issue 17): fp16/bf16 and CUDA graphs (torch.compile mode="reduce-overhead") go through
the same correctness check and timing; the chosen configuration's outputs survive the next CUDA-graph replay.
These run only where a CUDA GPU is present (benchmarks/gpu_check.sh runs them)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from zoo.bench import optimize as opt
from zoo.bench.optimize import Candidate, search
from zoo.spec import InputSpec, ModelSpec
from zoo.tasks.classification import Classifier

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _tiny() -> Classifier:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                        nn.Flatten(), nn.Linear(16, 10))
    spec = ModelSpec(name="tiny-cuda", family="test", task="classification", builder=lambda spec, **_: None,
                     input=InputSpec(size=(32, 32)))
    return Classifier(spec, net).eval()


def test_cuda_search_tries_half_precisions_and_cuda_graphs() -> None:
    switches = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    res = search(_tiny(), device="cuda", batch_size=4, compile="reduce-overhead", iters=5, warmup=2, cache=False)
    assert (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32) == switches  # restored
    labels = {t.candidate.label for t in res.trials}
    assert {"fp32", "fp16", "fp16+channels_last+fuse"} <= labels
    graphs = [t for t in res.trials if t.candidate.compile_mode == "reduce-overhead"]
    assert len(graphs) == 1 and graphs[0].status in ("ok", "wrong") and graphs[0].p50_ms, graphs[0].error
    assert not [t for t in res.trials if t.status == "error"], [(t.candidate.label, t.error) for t in res.trials]
    assert res.trial(Candidate()).status == "ok" and res.chosen_trial.status == "ok"
    assert res.chosen_trial.p50_ms == min(t.p50_ms for t in res.trials if t.status == "ok")
    assert res.device_name == torch.cuda.get_device_name()


def test_cuda_graph_outputs_survive_the_next_replay() -> None:
    # fp32: the output is the graph's own buffer unless apply clones it (fp16 outputs are copied by .float())
    model = opt.apply(_tiny().cuda(), Candidate("fp32", compile_mode="reduce-overhead"))
    a, b = torch.rand(4, 3, 32, 32, device="cuda"), torch.rand(4, 3, 32, 32, device="cuda")
    with torch.inference_mode():
        for _ in range(3):  # warm the graph
            model(a)
        out_a = model(a)
        expected = out_a.clone()
        model(b)  # a replay writes the graph's output buffers
    assert out_a.dtype == torch.float32 and torch.equal(out_a, expected)
