"""The zoo never changes torch's global numerics switches (TF32, cuDNN autotuning, matmul precision): fp32 work
means what torch's defaults say on every machine (issue 17). torch's own default lets cuDNN convolutions use TF32
on CUDA (torch.backends.cudnn.allow_tf32 is True): `zoo bench` says so in its notes, and tests that compare fp32
numbers against a reference run on the CPU by name."""

from __future__ import annotations

import torch
from torch import nn

import zoo
from zoo.bench.optimize import search
from zoo.spec import InputSpec, ModelSpec
from zoo.tasks.classification import Classifier

spec = ModelSpec(name="flags", family="test", task="classification", builder=lambda spec, **_: None,
                 input=InputSpec(size=(8, 8)))


def _switches() -> dict[str, object]:
    return {"cudnn.allow_tf32": torch.backends.cudnn.allow_tf32,
            "cuda.matmul.allow_tf32": torch.backends.cuda.matmul.allow_tf32,
            "cudnn.benchmark": torch.backends.cudnn.benchmark,
            "cudnn.deterministic": torch.backends.cudnn.deterministic,
            "float32_matmul_precision": torch.get_float32_matmul_precision(),
            "default_dtype": torch.get_default_dtype()}


def test_building_benchmarking_and_optimizing_leave_torch_switches_alone() -> None:
    before = _switches()
    model = zoo.build("resnet18", device="cpu")
    zoo.benchmark(model, batch_sizes=[1], input_size=32, iters=1, warmup=0, device="cpu", memory=False, flops=False,
                  fuse=True, channels_last=True)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        tiny = Classifier(spec, nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.LazyLinear(3)))
        tiny(torch.rand(1, 3, 8, 8))  # materialise the lazy layer
        search(tiny.eval(), device="cpu", batch_size=1, iters=1, warmup=0, cache=False, backends=False)
    finally:
        torch.set_num_threads(threads)
    assert _switches() == before
