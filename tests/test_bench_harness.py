"""The harness on CPU: rows for any ZooModel (classifier, list-input detector, latent-input generator),
the OOM path, failing rows that do not stop the sweep, flags, and the published resnet50 GMACs."""

from __future__ import annotations

import sys
from typing import Any

import pytest
import torch
from torch import nn

import zoo
from zoo.bench.report import END_TO_END, FORWARD, BenchReport
from zoo.errors import InputError, UnknownModelError
from zoo.model import ZooModel
from zoo.spec import InputSpec, ModelSpec
from zoo.tasks.classification import Classifier

FAST = {"iters": 2, "warmup": 0, "device": "cpu"}  # these check CPU behaviour: "auto" is CUDA on a GPU box


def _spec(name: str, task: str = "classification", size: int = 16) -> ModelSpec:
    return ModelSpec(name=name, family="test", task=task, builder=lambda spec, **_: None,
                     input=InputSpec(size=(size, size)))


class _TinyNet(nn.Module):
    """conv + pool + linear; raises torch.OutOfMemoryError above `oom_above` and ValueError at `bad`."""

    def __init__(self, oom_above: int | None = None, bad: int | None = None) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 10)
        self.oom_above, self.bad = oom_above, bad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        if self.oom_above is not None and n > self.oom_above:
            raise torch.OutOfMemoryError(f"CUDA out of memory. Tried to allocate {n} GiB (simulated)")
        if self.bad is not None and n == self.bad:
            raise ValueError("broken at this batch size")
        return self.fc(self.bn(self.conv(x)).relu().mean((2, 3)))


def _tiny(oom_above: int | None = None, bad: int | None = None) -> Classifier:
    return Classifier(_spec("tiny"), _TinyNet(oom_above, bad)).eval()


def test_rows_for_every_batch_size_with_all_fields() -> None:
    rep = zoo.benchmark(_tiny(), batch_sizes=[1, 3], **FAST)
    assert isinstance(rep, BenchReport) and rep.ok
    assert [(r.kind, r.batch_size) for r in rep.rows] == [(FORWARD, 1), (END_TO_END, 1), (FORWARD, 3), (END_TO_END, 3)]
    for r in rep.rows:
        assert r.iters == 2 and r.warmup == 0 and r.device == "cpu" and r.weights == "random init"
        assert 0 < r.min_ms <= r.p50_ms <= r.p90_ms <= r.p99_ms <= r.max_ms
        assert r.throughput == pytest.approx(r.batch_size / (r.mean_ms / 1e3))
        assert r.params == sum(p.numel() for p in _TinyNet().parameters())
        assert r.first_call_ms > 0 and r.compile_s is None
        assert r.input_size == "16x16"
    fwd = rep.row("tiny", 3)
    # conv 3->8 3x3 on 16x16 plus the linear layer, per image, times the batch size
    assert fwd.macs == pytest.approx(3 * (16 * 16 * 8 * 3 * 9 + 8 * 10))
    assert fwd.flops == 2 * fwd.macs
    assert fwd.gflops_per_s == pytest.approx(fwd.flops / (fwd.mean_ms / 1e3) / 1e9)
    assert fwd.pct_of_peak == pytest.approx(100 * fwd.gflops_per_s / fwd.peak_gflops_per_s)
    if sys.platform == "linux":
        assert fwd.rss_peak > 0 and fwd.rss_delta is not None and fwd.memory_method
    e2e = rep.row("tiny", 3, END_TO_END)
    assert e2e.preprocess_ms > 0 and e2e.forward_ms > 0 and e2e.postprocess_ms > 0
    assert e2e.gflops_per_s is None
    assert any("FLOPs = 2 x MACs" in n for n in rep.notes)
    assert rep.env.torch == torch.__version__ and rep.env.threads >= 1 and rep.env.cvzoo


def test_oom_is_recorded_and_the_sweep_continues() -> None:
    rep = zoo.benchmark(_tiny(oom_above=2), batch_sizes=[1, 4, 2, 8], **FAST)
    status = {(r.batch_size, r.kind): r.status for r in rep.rows}
    assert status == {(1, FORWARD): "ok", (1, END_TO_END): "ok", (4, FORWARD): "oom", (4, END_TO_END): "oom",
                      (2, FORWARD): "ok", (2, END_TO_END): "ok", (8, FORWARD): "oom", (8, END_TO_END): "oom"}
    oom = rep.row("tiny", 4)
    assert "out of memory" in oom.error and oom.p50_ms is None and oom.throughput is None
    assert not rep.ok


def test_other_failures_are_recorded_too() -> None:
    rep = zoo.benchmark(_tiny(bad=2), batch_sizes=[2, 1], **FAST)
    bad = rep.row("tiny", 2)
    assert bad.status == "error" and bad.error.startswith("ValueError: broken")
    assert rep.row("tiny", 1).status == "ok"


def test_model_without_postprocess_has_unsupported_e2e_row() -> None:
    model = ZooModel(_spec("plain"), _TinyNet()).eval()
    rep = zoo.benchmark(model, **FAST)
    assert rep.row("plain", 1).ok
    e2e = rep.row("plain", 1, END_TO_END)
    assert e2e.status == "unsupported" and "postprocess" in e2e.error


class _ListDetector(ZooModel):
    """torchvision-detector style: forward takes a list of CHW images (no family special-casing)."""

    def example_inputs(self, batch_size: int = 1, input_size: Any = None) -> tuple[Any, ...]:
        h, w = self.input_size if input_size is None else input_size
        return ([torch.rand(3, h, w) for _ in range(batch_size)],)

    def forward(self, images: Any) -> Any:
        if isinstance(images, torch.Tensor):
            images = list(images)
        return [self.net(img[None]) for img in images]


class _Generator(ZooModel):
    """GAN style: forward takes latents."""

    def example_inputs(self, batch_size: int = 1, input_size: Any = None) -> tuple[Any, ...]:
        return (torch.randn(batch_size, 16),)

    def example_images(self, batch_size: int = 1, input_size: Any = None) -> Any:
        raise NotImplementedError("a generator has no input images")


def test_any_forward_signature_works() -> None:
    det = _ListDetector(_spec("listdet", "detection"), nn.Conv2d(3, 4, 3)).eval()
    rep = zoo.benchmark(det, batch_sizes=[2], e2e=False, **FAST)
    r = rep.row("listdet", 2)
    assert r.ok and r.task == "detection"
    assert r.macs == pytest.approx(2 * 14 * 14 * 4 * 3 * 9)
    gen = _Generator(_spec("gen", "generation"), nn.Sequential(nn.Linear(16, 3 * 8 * 8), nn.Unflatten(1, (3, 8, 8))))
    rep = zoo.benchmark(gen.eval(), batch_sizes=[4], **FAST)
    assert rep.row("gen", 4).ok and rep.row("gen", 4).macs == pytest.approx(4 * 16 * 192)
    assert rep.row("gen", 4, END_TO_END).status == "unsupported"


def test_flags_channels_last_fuse_bf16_and_time_budget() -> None:
    model = _tiny()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    threads = torch.get_num_threads()
    rep = zoo.benchmark(model, batch_sizes=[2], channels_last=True, fuse=True, precision="bf16", threads=1, device="cpu",
                    time_budget=0.05, iters=None, warmup=1)
    r = rep.row("tiny", 2)
    assert r.ok and r.channels_last and r.fused and r.precision == "bf16" and r.iters >= 2
    assert rep.env.threads == 1 and rep.env.dtype == "bfloat16"
    assert torch.get_num_threads() == threads  # restored
    assert any("folded 1/1 BatchNorm" in n for n in rep.notes)
    # autocast is a reduced precision: guarded (answers against fp32's on the bundled photos), note and rows
    assert r.guard and any("bf16 (autocast) accuracy guard on 4 photos" in n for n in rep.notes)
    # --fuse works on a copy: the caller's model keeps its BatchNorm and weights
    assert isinstance(model.net.bn, nn.BatchNorm2d)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    # --channels-last alone too: the caller's weights keep their layout (a later eager call is not changed)
    zoo.benchmark(model, batch_sizes=[1], channels_last=True, e2e=False, flops=False, memory=False, **FAST)
    assert model.net.conv.weight.is_contiguous() and not model.net.conv.weight.is_contiguous(
        memory_format=torch.channels_last)


def test_registered_model_by_name_with_input_size() -> None:
    rep = zoo.benchmark("resnet18", batch_sizes=[1], input_size=32, **FAST)
    r = rep.row("resnet18", 1)
    assert r.ok and r.input_size == "32x32" and r.weights == "random init" and r.task == "classification"
    assert rep.row("resnet18", 1, END_TO_END).ok


def test_resnet50_gmacs_match_published() -> None:
    """torchvision/timm publish 4.1 GMACs (4.089) for resnet50 at 224."""
    rep = zoo.benchmark("resnet50", batch_sizes=[1], iters=1, warmup=0, e2e=False, memory=False, device="cpu")
    assert rep.row("resnet50", 1).gmacs_per_image == pytest.approx(4.089, rel=0.02)


def test_bad_requests_fail_before_running() -> None:
    with pytest.raises(UnknownModelError, match="did you mean 'resnet18'"):
        zoo.benchmark("resnt18")
    with pytest.raises(InputError, match="precision"):
        zoo.benchmark(_tiny(), precision="fp8")
    with pytest.raises(InputError, match="batch sizes"):
        zoo.benchmark(_tiny(), batch_sizes=[0])
    with pytest.raises(InputError, match="task"):
        zoo.benchmark(task="painting")
    with pytest.raises(InputError, match="nothing to benchmark"):
        zoo.benchmark([])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error shown when no GPU is present")
def test_cuda_without_gpu_is_one_line_error() -> None:
    with pytest.raises(InputError, match="no CUDA GPU is available") as info:
        zoo.benchmark(_tiny(), device="cuda")
    assert "\n" not in str(info.value)


class _Unpreparable(Classifier):
    def example_inputs(self, batch_size: int = 1, input_size: Any = None) -> tuple[Any, ...]:
        raise RuntimeError("boom")


def test_a_model_that_cannot_be_prepared_does_not_stop_the_others() -> None:
    broken = _Unpreparable(_spec("broken"), _TinyNet()).eval()
    rep = zoo.benchmark([broken, _tiny()], batch_sizes=[1, 2], fuse=True, **FAST)
    assert [(r.model, r.status) for r in rep.rows if r.model == "broken"] == [("broken", "error")] * 2
    assert rep.row("broken", 1).error == "build failed: RuntimeError: boom"
    assert all(r.ok for r in rep.rows if r.model == "tiny") and len(rep.rows) == 2 + 4


class _Transient(nn.Module):
    """Touches a 64 MiB temporary on every call and frees it: only a true peak measure sees it."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        big = torch.ones(16 << 20)  # 64 MiB, written, then freed
        return self.fc(x.mean((2, 3))) + big[:1]


@pytest.mark.skipif(sys.platform != "linux", reason="CPU peak RSS comes from /proc")
def test_cpu_peak_rss_sees_transient_allocations() -> None:
    model = Classifier(_spec("transient"), _Transient()).eval()
    rep = zoo.benchmark(model, batch_sizes=[1], e2e=False, flops=False, iters=2, warmup=0, device="cpu")
    r = rep.row("transient", 1)
    assert r.rss_delta >= 60 << 20, (r.rss_delta, r.memory_method)
    assert r.rss_peak >= r.rss_delta


def test_busy_machine_note(monkeypatch) -> None:
    import os

    from zoo.bench.notes import busy_cpu_note

    monkeypatch.setattr(os, "getloadavg", lambda: (64.0, 64.0, 64.0))
    assert "busy machine: load average 64.0" in busy_cpu_note()
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert busy_cpu_note() is None


def test_zoo_bench_still_works_for_one_release_with_a_deprecation_warning() -> None:
    import zoo.bench.report  # noqa: F401 - importing a submodule makes `zoo.bench` the package

    with pytest.warns(DeprecationWarning, match="zoo.benchmark"):
        rep = zoo.bench(_tiny(), batch_sizes=[1], **FAST)
    assert rep.rows and rep.rows[0].status == "ok"


class _Interrupted(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise KeyboardInterrupt


def test_ctrl_c_in_a_row_ends_the_run_instead_of_becoming_a_failed_row() -> None:
    model = Classifier(_spec("interrupted"), _Interrupted()).eval()
    with pytest.raises(KeyboardInterrupt):
        zoo.benchmark(model, batch_sizes=[1], flops=False, **FAST)


def test_ctrl_c_during_bench_prints_interrupted_and_exits_130(monkeypatch, capsys) -> None:
    from zoo.bench import runner
    from zoo.cli import main

    def interrupt(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "prepare", interrupt)
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "resnet18", "--iters", "1", "--no-flops", "-q"])
    assert exit_info.value.code == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == "interrupted"


def test_bench_config_is_built_by_keyword_only() -> None:
    from zoo.bench.config import BenchConfig

    with pytest.raises(TypeError):
        BenchConfig((1, 2), "cpu")  # type: ignore[misc]
    assert BenchConfig(batch_sizes=(1, 2), device="cpu").batch_sizes == (1, 2)
