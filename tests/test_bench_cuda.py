"""The harness's CUDA path: synchronised timing, CUDA memory statistics, real OOM recovery, autocast.
These run only where a CUDA GPU is present."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import zoo
from zoo.bench.protocol import time_calls
from zoo.bench.report import END_TO_END
from zoo.spec import InputSpec, ModelSpec
from zoo.tasks.classification import Classifier

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


class _Hungry(nn.Module):
    """Allocates far more than any GPU has above `limit` images: a real torch.OutOfMemoryError."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.fc = nn.Linear(8, 10)
        self.limit = limit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > self.limit:
            torch.empty(1 << 50, dtype=torch.uint8, device=x.device)  # 1 PiB
        return self.fc(self.conv(x).mean((2, 3)))


def _model(limit: int = 1 << 30) -> Classifier:
    spec = ModelSpec(name="hungry", family="test", task="classification", builder=lambda spec, **_: None,
                     input=InputSpec(size=(32, 32)))
    return Classifier(spec, _Hungry(limit)).eval()


def test_cuda_rows_have_memory_stats_and_device_info() -> None:
    rep = zoo.benchmark("resnet18", batch_sizes=[1, 8], device="cuda", input_size=64, iters=3, warmup=1)
    assert rep.ok, [r.error for r in rep.rows]
    weights = sum(p.numel() * p.element_size() for p in zoo.build("resnet18").parameters())
    for r in rep.rows:
        assert r.device.startswith("cuda") and r.p50_ms > 0
        assert r.cuda_allocated >= weights  # peak includes the weights on the GPU
        assert r.cuda_reserved >= r.cuda_allocated
        assert r.rss_peak is None
    assert rep.row("resnet18", 8).cuda_allocated >= rep.row("resnet18", 1).cuda_allocated
    assert rep.row("resnet18", 8, END_TO_END).forward_ms > 0
    assert rep.env.device_name == torch.cuda.get_device_name() and rep.env.gpu_memory > 0
    assert any("CUDA events" in n for n in rep.notes)


def test_cuda_timing_waits_for_queued_kernels() -> None:
    """A call that only queues GPU work must be timed until that work is done.

    The bound is the kernel's own length, not a wall-clock reference measured beside it: under `pytest -n 12`
    on one GPU, other processes' kernels time-slice with ours, so a reference measured at a busy moment can be
    longer than the samples measured at a quiet one (the flaky failure of issue 17). torch.cuda._sleep spins
    for `cycles` GPU clock cycles and no GPU clocks above 3 GHz, so each synchronised sample is at least
    cycles / 3e9 s (contention only lengthens it); an unsynchronised sample would be the launch, microseconds."""
    dev = torch.device("cuda")
    cycles = 50_000_000  # >= 16.7 ms at 3 GHz; about 25-35 ms on H100/H200 clocks
    torch.cuda._sleep(cycles)  # warm
    torch.cuda.synchronize()
    samples = time_calls(lambda: torch.cuda._sleep(cycles), dev, iters=3)
    assert min(samples) >= cycles / 3e9, samples


def test_cuda_real_oom_is_recorded_and_memory_is_freed() -> None:
    model = _model(limit=2)
    zoo.benchmark(model, batch_sizes=[1], device="cuda", iters=1, warmup=0)  # CUDA/cuBLAS set-up, model on GPU
    torch.cuda.empty_cache()
    before = torch.cuda.memory_allocated()
    rep = zoo.benchmark(model, batch_sizes=[1, 4, 2], device="cuda", iters=2, warmup=0)
    assert [r.status for r in rep.rows] == ["ok", "ok", "oom", "oom", "ok", "ok"]
    assert "out of memory" in rep.row("hungry", 4).error
    del rep
    torch.cuda.synchronize()
    # nothing of the failed rows stays allocated
    assert torch.cuda.memory_allocated() - before < 1 << 20


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_cuda_autocast(precision: str) -> None:
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    rep = zoo.benchmark(_model(), batch_sizes=[2], device="cuda", precision=precision, iters=2, warmup=1,
                    channels_last=True)
    r = rep.row("hungry", 2)
    assert r.ok and r.precision == precision and r.peak_gflops_per_s > 0
    assert rep.env.dtype == {"fp16": "float16", "bf16": "bfloat16"}[precision]
