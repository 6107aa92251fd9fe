"""`--optimize` (issue 17): the search never picks a configuration whose answers differ from fp32 eager (even when
it is the fastest), the choice is cached in ZOO_HOME and read back, and the surfaces (zoo bench --optimize,
zoo.load(optimize=...), zoo predict --optimize) use it. On CPU with tiny models; the cache tests search two eager
candidates, and one search (the first test) runs every candidate, real ONNX Runtime / OpenVINO exports
included. The CUDA search is in tests/test_optimize_cuda.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from clikit import zoo_in_process as run
from torch import nn

import zoo
import zoo.bench.rows
import zoo.optimized
from zoo.bench import optimize as opt
from zoo.bench.optimize import Candidate, search, space
from zoo.model import ZooModel
from zoo.spec import InputSpec, ModelSpec
from zoo.tasks.classification import Classifier

FAST = {"device": "cpu", "iters": 2, "warmup": 0}
CORRUPT = Candidate("fp32", channels_last=True, fuse=True)  # made wrong (and fastest) on purpose


@pytest.fixture(autouse=True)
def one_thread() -> Any:
    """Two shared cores: one torch thread keeps tiny convolutions from spinning on a busy machine."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.bn(self.conv(x)).relu().mean((2, 3)))


def _spec(name: str, task: str = "classification") -> ModelSpec:
    return ModelSpec(name=name, family="test", task=task, builder=lambda spec, **_: None, input=InputSpec(size=(16, 16)))


def _tiny(name: str = "tiny") -> Classifier:
    torch.manual_seed(0)
    return Classifier(_spec(name), _Net()).eval()


def _sabotage(monkeypatch: pytest.MonkeyPatch, corrupt: Any) -> list[Candidate]:
    """CORRUPT's forward output is corrupted by `corrupt`, and its timed row claims 1 microsecond (the fastest)."""
    applied: list[Candidate] = []
    real_apply, real_row = zoo.optimized.apply, zoo.bench.rows.forward_row

    def apply(model: Any, cand: Candidate, size: Any = None) -> Any:
        applied.append(cand)
        model = real_apply(model, cand, size)
        if cand == CORRUPT:
            inner = model.forward

            def bad(*args: Any) -> Any:
                return corrupt(inner(*args))

            model.forward = bad
        return model

    def forward_row(prep: Any, bs: int, cfg: Any, *args: Any) -> Any:
        row = real_row(prep, bs, cfg, *args)
        if getattr(prep.model, "optimized", None) == CORRUPT:
            row.p50_ms = row.mean_ms = 1e-3
        return row

    monkeypatch.setattr(zoo.optimized, "apply", apply)
    monkeypatch.setattr(zoo.bench.rows, "forward_row", forward_row)
    return applied


def test_a_wrong_configuration_is_never_chosen_even_when_fastest(monkeypatch: pytest.MonkeyPatch) -> None:
    """The end-to-end search: every candidate of this machine (runtime backends included, when installed)."""
    # the logits' order reversed: every top-1 changes
    _sabotage(monkeypatch, lambda out: -out)
    res = search(_tiny(), batch_size=2, cache=False, **FAST)
    assert [t.candidate for t in res.trials] == space.candidates(torch.device("cpu"))
    bad = res.trial(CORRUPT)
    assert bad is not None and bad.status == "wrong" and bad.check.startswith("top-1 0/2, top-5 0/2: image 0: top-1")
    assert bad.p50_ms == 1e-3 and all(t.p50_ms > 1e-3 for t in res.trials if t.candidate != CORRUPT)
    assert res.chosen != CORRUPT and res.chosen_trial.status == "ok"
    assert res.chosen_trial.p50_ms == min(t.p50_ms for t in res.trials if t.status == "ok")
    assert res.baseline is not None and res.baseline.status == "ok"
    assert "1 output differs" in res.summary() and any("<- chosen" in line for line in res.lines())


def test_raw_outputs_are_checked_with_a_tolerance_when_there_is_no_postprocess(monkeypatch: pytest.MonkeyPatch) -> None:
    _sabotage(monkeypatch, lambda out: out + 0.05 * out.abs().max())
    plain = ZooModel(_spec("plain"), _Net()).eval()  # no postprocess: max-abs against the fp32 eager output
    res = search(plain, batch_size=2, cache=False, backends=False, **FAST)
    assert res.trial(CORRUPT).status == "wrong" and "over the allowed" in res.trial(CORRUPT).check
    assert res.chosen != CORRUPT
    assert all(t.status == "ok" for t in res.trials if t.candidate != CORRUPT)  # folding/bf16 stay within it


def test_the_search_is_cached_per_key_and_paid_once(zoo_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _two_candidates(monkeypatch)
    first = search(_tiny(), batch_size=2, **FAST)
    assert not first.from_cache and first.trials[0].candidate.is_default
    files = list((zoo_home / "optimize").glob("tiny-bs2-*.json"))
    assert len(files) == 1
    stored = json.loads(files[0].read_text())
    assert stored["key"]["batch_size"] == 2 and stored["key"]["torch"] == torch.__version__
    assert stored["key"]["device_name"] and stored["result"]["chosen"] == first.to_dict()["chosen"]

    def no_timing(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("a cached search must not measure anything")

    monkeypatch.setattr(zoo.bench.rows, "forward_row", no_timing)
    again = search(_tiny(), batch_size=2, **FAST)
    assert again.from_cache and again.chosen == first.chosen
    assert [t.p50_ms for t in again.trials] == [t.p50_ms for t in first.trials]
    assert "(cached search)" in again.summary()
    # another batch size is another key: searched (here every timing fails, recorded per candidate)
    other = search(_tiny(), batch_size=3, cache=False, **FAST)
    assert not other.from_cache and all("must not measure" in t.error for t in other.trials)
    assert other.chosen.is_default  # nothing correct was timed: the default configuration, never a guess


def test_a_corrupt_cache_file_is_searched_again(zoo_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _two_candidates(monkeypatch)
    first = search(_tiny(), batch_size=1, **FAST)
    path = next((zoo_home / "optimize").glob("tiny-bs1-*.json"))
    path.write_text("{not json")
    again = search(_tiny(), batch_size=1, **FAST)
    assert not again.from_cache and again.chosen in (Candidate(), Candidate(fuse=True)) and first.trials
    assert json.loads(path.read_text())["result"]["schema"] == opt.SCHEMA  # rewritten whole


def test_candidates_per_device() -> None:
    cpu = space.candidates(torch.device("cpu"))
    assert cpu[0] == Candidate() and {c.precision for c in cpu if not c.backend} <= {"fp32", "bf16"}
    assert all(c.backend for c in cpu if c.precision == "int8")  # int8 only as a runtime's quantised export
    assert len([c for c in cpu if c.precision == "fp32" and not c.backend]) == 4  # channels_last x fuse
    assert opt.compile_modes(torch.device("cpu")) == []  # compiling takes minutes on CPU: only when asked
    assert opt.compile_modes(torch.device("cpu"), True) == list(space.CPU_COMPILE_MODES)
    assert opt.compile_modes(torch.device("cuda"), None) == ["default", "reduce-overhead", "max-autotune-no-cudagraphs"]
    assert opt.compile_modes(torch.device("cuda"), "reduce-overhead") == ["reduce-overhead"]
    assert opt.compile_modes(torch.device("cuda"), "off") == []
    with pytest.raises(zoo.errors.InputError, match="unknown compile mode 'fast'"):
        opt.compile_modes(torch.device("cpu"), "fast")


def test_runtime_backends_are_candidates_on_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each installed runtime backend (zoo.runtimes.available_backends) is a CPU candidate, run through
    zoo.runtimes.with_backend (a fake here: the model itself)."""
    import zoo.runtimes

    monkeypatch.setattr(zoo.runtimes, "with_backend", lambda model, backend, precision="fp32", threads=None: model)
    monkeypatch.setattr(zoo.runtimes, "available_backends", lambda: ["onnxruntime"])
    assert opt.runtime_candidates(torch.device("cpu")) == [Candidate(backend="onnxruntime"),
                                                           Candidate(precision="int8", backend="onnxruntime")]
    assert opt.runtime_candidates(torch.device("cuda")) == []
    res = search(_tiny(), batch_size=1, cache=False, **FAST)
    t = res.trial(Candidate(backend="onnxruntime"))
    assert t is not None and t.status == "ok"  # the fake backend is the model itself: correct


def test_a_precision_whose_guard_says_changed_is_never_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    """A runtime int8 whose accuracy guard (real photos, zoo.runtimes.guard) found changed answers is "wrong",
    even where the check on the random reference input passes; the guard's line says why."""
    import copy

    import zoo.runtimes

    def fake(model: Any, backend: str, precision: str = "fp32", threads: Any = None) -> Any:
        out = copy.copy(model)
        out.backend_info = {"guard": {"same": precision != "int8", "summary": "image 2: cup 0.49 missing"}}
        return out

    monkeypatch.setattr(zoo.runtimes, "with_backend", fake)
    monkeypatch.setattr(zoo.runtimes, "available_backends", lambda: ["onnxruntime"])
    monkeypatch.setattr(space, "candidates", lambda dev, backends=True: [Candidate()] + space.runtime_candidates(dev))
    res = search(_tiny(), batch_size=1, cache=False, **FAST)
    bad = res.trial(Candidate(precision="int8", backend="onnxruntime"))
    assert bad is not None and bad.status == "wrong" and "accuracy guard: image 2: cup 0.49 missing" in bad.check
    assert res.trial(Candidate(backend="onnxruntime")).status == "ok"
    assert res.chosen != Candidate(precision="int8", backend="onnxruntime")


def test_a_precision_that_passes_with_layers_kept_fp32_is_pickable_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard's fallback (zoo.runtimes.guard.until_same) kept two layers in fp32 and then passed: the variant
    is "ok" like any other, and its line names the layers kept."""
    import copy

    import zoo.runtimes

    def fake(model: Any, backend: str, precision: str = "fp32", threads: Any = None) -> Any:
        out = copy.copy(model)
        out.backend_info = {"guard": {"same": True, "summary": "top-1 4/4", "fp32_layers": ["conv0", "head"]}}
        return out

    monkeypatch.setattr(zoo.runtimes, "with_backend", fake)
    monkeypatch.setattr(zoo.runtimes, "available_backends", lambda: ["onnxruntime"])
    monkeypatch.setattr(space, "candidates", lambda dev, backends=True: [Candidate(precision="int8",
                                                                                   backend="onnxruntime")])
    res = search(_tiny(), batch_size=1, cache=False, **FAST)
    kept = res.trial(Candidate(precision="int8", backend="onnxruntime"))
    assert kept.status == "ok" and "top-1 4/4 (2 layers kept fp32: conv0, head)" in kept.check
    assert res.chosen == Candidate(precision="int8", backend="onnxruntime")


def test_a_detector_whose_boxes_move_is_never_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    """yolov3-tiny (random init, 64 px) end to end through the check: raw rows [cx, cy, w, h, ...] shifted by
    20 px move every detection; the unchanged fp32 configuration is chosen."""
    monkeypatch.setattr(space, "candidates", lambda dev, backends=True: [Candidate(), CORRUPT])

    def shift(out: torch.Tensor) -> torch.Tensor:
        out = out.clone()
        out[..., :2] += 20.0
        return out

    _sabotage(monkeypatch, shift)
    res = search("yolov3-tiny", batch_size=1, input_size=64, weights="random", cache=False, **FAST)
    assert res.trial(Candidate()).status == "ok" and "detections" in res.trial(Candidate()).check
    bad = res.trial(CORRUPT)
    # random init: every detection sits at the 0.25 threshold, so the raw outputs decide
    assert bad.status == "wrong" and "raw outputs differ" in bad.check and res.chosen == Candidate()


def test_apply_keeps_outputs_fp32_and_marks_the_model() -> None:
    model = opt.apply(_tiny(), Candidate("bf16", channels_last=True, fuse=True))
    assert model.optimized == Candidate("bf16", channels_last=True, fuse=True)
    assert isinstance(model.net.bn, nn.Identity)  # folded
    with torch.inference_mode():
        out = model(torch.rand(2, 3, 16, 16))
    assert out.dtype == torch.float32
    result = model.predict(np.zeros((20, 20, 3), np.uint8))
    assert result.topk


def _two_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    """resnet18 at 224: two candidates keep the time down (the full set is covered on the tiny model)."""
    monkeypatch.setattr(space, "candidates", lambda dev, backends=True: [Candidate(), Candidate(fuse=True)])


def _store(model: Any, chosen: Candidate, batch_size: int = 1, created: str = "2026-01-01T00:00:00+00:00",
           stage1: tuple[Candidate, ...] = (Candidate(),)) -> Path:
    """A stored search, written as `search` writes it, without measuring anything."""
    from zoo.bench.optimize.cache import cache_key, save_cached

    dev = torch.device("cpu")
    res = opt.OptimizeResult(model=model.spec.name, weights=model.weights_source, device="cpu",
                             device_name=zoo.optimized.device_name(dev), batch_size=batch_size, input_size=None,
                             torch=torch.__version__, chosen=chosen, created=created)
    path = save_cached(cache_key(model.spec.name, model.weights_source, dev, batch_size, None, stage1, []), res)
    assert path is not None
    return path


def test_the_stored_choice_is_the_newest_matching_search(zoo_home: Path) -> None:
    model = _tiny()
    assert zoo.optimized.stored_choice(model) is None
    _store(model, Candidate(fuse=True))
    path = _store(model, Candidate(channels_last=True), created="2026-02-01T00:00:00+00:00",
                  stage1=(Candidate(), Candidate(fuse=True)))  # a wider search: another file, newer
    _store(model, Candidate("bf16"), batch_size=2, created="2026-03-01T00:00:00+00:00")
    (path.parent / "tiny-bs1-0000.json").write_text("{not json")  # unreadable: not a choice
    assert len(list(path.parent.glob("tiny-bs1-*.json"))) == 3
    assert zoo.optimized.stored_choice(model) == Candidate(channels_last=True)
    assert zoo.optimized.stored_choice(model, 2) == Candidate("bf16")
    assert zoo.optimized.stored_choice(model, 1, (32, 32)) is None  # searched at another input size: none
    assert zoo.optimized.load_optimized(model).optimized == Candidate(channels_last=True)


def test_zoo_load_optimize_applies_the_stored_choice(zoo_home: Path) -> None:
    _store(zoo.load("resnet18", pretrained=False, device="cpu"), Candidate(fuse=True))
    model = zoo.load("resnet18", pretrained=False, device="cpu", optimize=True)
    assert model.optimized == Candidate(fuse=True) and not hasattr(model, "optimize_result")  # applied, not searched
    assert isinstance(model.net.bn1, nn.Identity)  # folded
    assert model.predict(np.zeros((40, 40, 3), np.uint8)).topk
    with pytest.raises(zoo.errors.InputError, match="no --optimize choice is stored for resnet18 at batch size 2"):
        zoo.load("resnet18", pretrained=False, device="cpu", optimize=2)


def test_bench_and_predict_optimize_on_the_command_line(zoo_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _two_candidates(monkeypatch)
    code, out, err = run(capsys, "bench", "resnet18", "--device", "cpu", "--size", "32", "--iters", "2", "--warmup",
                         "0", "--no-flops", "--optimize", "--json", "-", "-q")
    assert code == 0, err
    rep = json.loads(out)
    variants = [r["variant"] for r in rep["rows"]]
    assert variants[:2] == ["", ""]  # the default rows first (fp32 eager: the baseline)
    assert "optimize:fp32" in variants and "optimize:fp32+fuse" in variants and variants.count("optimize:chosen") == 2  # chosen: forward + e2e
    chosen = [r for r in rep["rows"] if r["variant"] == "optimize:chosen"]
    assert {r["kind"] for r in chosen} == {"forward", "end-to-end"} and all(r["status"] == "ok" for r in chosen)
    assert any(n.startswith("optimize resnet18 bs=1 32x32") and "chose" in n for n in rep["notes"])
    # predict --optimize searches at its batch size (none cached for 224x224 bs1 here) and says what it chose
    img = tmp_path / "a.png"
    from PIL import Image

    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(img)
    seeded = search("resnet18", batch_size=1, weights="random", **FAST)
    code, out, err = run(capsys, "predict", "resnet18", str(img), "--random-init", "--device", "cpu",
                         "--batch-size", "1", "--optimize", "--json")
    assert code == 0, err
    assert f"chose {seeded.chosen.label}" in err and "(cached search)" in err
    assert json.loads(out)["results"][0]["topk"]


def test_optimize_options_are_checked_before_any_timing(capsys: pytest.CaptureFixture) -> None:
    code, _, err = run(capsys, "bench", "resnet18", "--optimize", "--optimize-compile", "fastest", "--device", "cpu")
    assert code == 2 and "unknown compile mode 'fastest'" in err and "Traceback" not in err
    code, _, err = run(capsys, "bench", "resnet18", "--optimize-compile", "off", "--device", "cpu")
    assert code == 2 and "--optimize-compile needs --optimize" in err

