"""--precision int8: quantisation (NNCF for OpenVINO, onnxruntime's static QDQ), calibration on photos, the
accuracy guard of every reduced precision and its fp32 fallback, the cache keyed by the calibration set."""

from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from clikit import SHARED_DATA
from clikit import zoo_in_process as run_cli
from rtkit import one_line

import zoo
from zoo.errors import ExportError
from zoo.runtimes import calibration as cal_mod
from zoo.runtimes.calibration import BUNDLED, HELD_OUT_VIEWS, calibration_samples, calibration_set, decoded
from zoo.runtimes.exporter import export
from zoo.runtimes.guard import FP32_FALLBACKS, guard_models, guarded, until_same
from zoo.runtimes.quantize import sensitive_layers
from zoo.runtimes.runners import cpu_has_bf16

SIZE = (64, 64)  # a small input keeps each quantisation to a second or two
JUDGED = 1 + len(HELD_OUT_VIEWS)  # the guard's inputs per calibration photo: the photo and its held-out views


def _int8_ops(path: Path, fmt: str) -> int:
    """How many quantisation nodes the artefact holds (ONNX QDQ pairs / OpenVINO FakeQuantize)."""
    if fmt == "onnx":
        import onnx

        return sum(n.op_type == "QuantizeLinear" for n in onnx.load(str(path)).graph.node)
    import openvino as ov

    return sum(o.get_type_name() == "FakeQuantize" for o in ov.Core().read_model(str(path)).get_ordered_ops())


@pytest.mark.parametrize("fmt", ["onnx", "openvino"])
def test_int8_quantises_records_calibration_guards_and_caches(fmt: str, resnet18: Any, home: Path,
                                                              tmp_path: Path) -> None:
    res = export(resnet18, fmt, precision="int8", input_size=SIZE)
    assert _int8_ops(res.path, fmt) > 10  # every conv quantised, not an fp32 copy under an int8 name
    quant = res.metadata["quantization"]
    assert quant["calibration"]["images"] == 4 and quant["calibration"]["source"] == "bundled"
    assert quant["preset"] and quant["tool"].startswith("nncf" if fmt == "openvino" else "onnxruntime")
    assert res.guard["precision"] == "int8" and res.guard["images"] == 4 * JUDGED and "same" in res.guard
    assert res.guard["held_out"] == 4 * (JUDGED - 1)
    assert res.guard["images_sha256"] == quant["calibration"]["sha256"] == calibration_set().sha256
    assert not res.cached and set(res.parity) == {"random", "image"}
    again = export(resnet18, fmt, precision="int8", input_size=SIZE)
    assert again.cached and again.path == res.path and again.guard == res.guard
    # another calibration set is another artefact (the key holds its hash), and says how many photos it had
    mine = tmp_path / "cal"
    mine.mkdir()
    for p in sorted(BUNDLED.glob("*.jpg"))[:2]:
        shutil.copy(p, mine / p.name)
    other = export(resnet18, fmt, precision="int8", input_size=SIZE, calibration=mine)
    assert not other.cached and other.path.parent != res.path.parent
    assert other.metadata["quantization"]["calibration"] == {"source": str(mine.resolve()), "images": 2,
                                                             "sha256": calibration_set(mine).sha256}
    assert other.guard["images"] == 2 * JUDGED


def test_a_changed_answer_is_quantised_again_with_sensitive_layers_in_fp32(resnet18: Any, home: Path, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    ex = importlib.import_module("zoo.runtimes.exporter")

    real, verdicts = ex._guard, iter([False, True])  # the first quantisation "changes answers", the second not

    def guard(*args: Any) -> dict[str, Any]:
        out = real(*args)
        out["same"] = next(verdicts)
        return out

    monkeypatch.setattr(ex, "_guard", guard)
    gm = importlib.import_module("zoo.runtimes.guard")
    answered, answers = [], gm._answers

    def count(model: Any, *args: Any) -> list[Any]:
        answered.append(model is resnet18)
        return answers(model, *args)

    monkeypatch.setattr(gm, "_answers", count)
    one = tmp_path / "one"  # a calibration set of its own: not the cached entry of the other tests
    one.mkdir()
    shutil.copy(sorted(BUNDLED.glob("*.jpg"))[0], one)
    res = export(resnet18, "onnx", precision="int8", input_size=SIZE, calibration=one)
    assert answered == [True, False, False]  # fp32's answers once, each step's quantised answers
    layers, ops = sensitive_layers(export(resnet18, "onnx", input_size=SIZE, check=False).path, 1)
    assert res.guard["same"] and res.guard["fp32_layers"] == layers == res.metadata["quantization"]["fp32_layers"]
    assert len(layers) == 2  # resnet18: the stem conv and the classifier's Gemm
    # the excluded nodes really stayed fp32: one quantised input fewer for each
    import onnx

    graph = onnx.load(str(res.path)).graph
    producer = {o: n for n in graph.node for o in n.output}
    for node in (n for n in graph.node if n.name in layers):
        assert all(producer.get(i) is None or producer[i].op_type != "DequantizeLinear" for i in node.input[:2])


def test_a_guard_that_cannot_run_says_so_and_is_not_same(resnet18: Any, home: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("predict exploded")

    gm = importlib.import_module("zoo.runtimes.guard")
    real = gm.guard
    monkeypatch.setattr(gm, "guard", broken)
    two = tmp_path / "two"
    two.mkdir()
    for p in sorted(BUNDLED.glob("*.jpg"))[1:3]:
        shutil.copy(p, two / p.name)
    res = export(resnet18, "onnx", precision="int8", input_size=SIZE, calibration=two)
    assert res.guard["ran"] is False and res.guard["same"] is False
    assert res.guard["summary"] == "not run: RuntimeError: predict exploded"
    assert res.guard["fp32_layers"] == []  # nothing to fall back from: the answers were never compared
    monkeypatch.setattr(gm, "guard", real)  # the next use of the cached artefact guards it: "not run" is no verdict
    again = export(resnet18, "onnx", precision="int8", input_size=SIZE, calibration=two)
    assert again.cached and again.path == res.path and again.guard["ran"] and again.guard["images"] == 2 * JUDGED


def test_until_same_falls_back_step_by_step_and_keeps_the_last_step_when_nothing_helps() -> None:
    calls: list[Any] = []

    def attempt(step: Any, passes_at: Any) -> tuple[dict[str, Any], Any]:
        calls.append(step)
        return {"same": step == passes_at, "ran": True, "summary": f"changed at {step}"}, step

    guard, made = until_same(lambda step: attempt(step, (0, 3)), ((1, 1), (0, 3), (1, 3)))
    assert calls == [None, (1, 1), (0, 3)] and made == (0, 3) and guard["same"]
    calls.clear()
    guard, made = until_same(lambda step: attempt(step, "never"), ((1, 1), (0, 3)))
    assert calls == [None, (1, 1), (0, 3)] and made == (0, 3) and guard["summary"] == "changed at (0, 3)"


class _FittedToItsPhotos:
    """A candidate that answers like the reference on the calibration photos (their exact pixels) and not on
    anything else: what a precision fitted to its calibration set looks like."""

    def __init__(self, reference: Any, elsewhere: Any, photos: list[Path]):
        self.reference, self.elsewhere, self.preprocess = reference, elsewhere, reference.preprocess
        self.seen = {decoded(p).tobytes() for p in photos}

    def predict(self, request: Any, **kw: Any) -> Any:
        fitted = isinstance(request, np.ndarray) and request.tobytes() in self.seen
        return (self.reference if fitted else self.elsewhere).predict(request, **kw)


def test_the_guard_judges_held_out_views_of_its_photos(resnet18: Any) -> None:
    import copy

    confident = copy.deepcopy(resnet18)
    with torch.no_grad():
        confident.net.fc.bias[3] += 30.0  # top-1 class 3 on every image, far from any tie
    other = copy.deepcopy(confident)
    with torch.no_grad():
        other.net.fc.bias[7] += 60.0  # top-1 class 7
    cal = calibration_set()
    photos = [decoded(p).tobytes() for p in cal.files]
    assert [r.load().tobytes() in photos for r in cal.guard_inputs()] == [v is None for v in (None, *HELD_OUT_VIEWS)] * 4
    same = guard_models(confident, _FittedToItsPhotos(confident, confident, cal.files), "int8", cal, hw=SIZE)
    assert same.same and same.images == 4 * JUDGED and same.held_out == 4 * (JUDGED - 1)
    fitted = guard_models(confident, _FittedToItsPhotos(confident, other, cal.files), "int8", cal, hw=SIZE)
    assert not fitted.same and fitted.held_out == 4 * (JUDGED - 1)
    # each change is named by its photo and view, not an index into the guard's inputs
    first = sorted(BUNDLED.glob("*.jpg"))[0].name
    assert fitted.mismatches[0].startswith(f"{first} {next(iter(HELD_OUT_VIEWS))}: top-1"), fitted.mismatches


def test_a_calibration_photo_that_cannot_be_decoded_stops_the_guard_naming_it(resnet18: Any, tmp_path: Path) -> None:
    """Not "not run" (which reads as changed answers): the user's file, in one line."""
    photo = sorted(BUNDLED.glob("*.jpg"))[0]
    shutil.copy(photo, tmp_path)
    (tmp_path / "cut.jpg").write_bytes(photo.read_bytes()[:2000])  # the header reads, the pixels do not
    with pytest.raises(cal_mod.PhotoError, match=r"cut\.jpg: not a readable image"):
        guarded(resnet18, resnet18, "bf16", calibration_set(tmp_path))


def test_a_translator_calibrates_at_the_export_size_and_its_changed_images_are_named() -> None:
    """CycleGAN: its preprocess takes the export's (height, width) like the other families' (it refused a tuple,
    so int8 said "cannot preprocess the calibration photos"); the guard names a changed image by its photo."""
    torch.manual_seed(0)
    model, other = zoo.build("cyclegan-horse2zebra").eval(), zoo.build("cyclegan-horse2zebra").eval()
    cal = calibration_set()
    samples = calibration_samples(model, cal, [torch.zeros(1, 3, 32, 48)])
    assert [tuple(t.shape) for s in samples for t in s] == [(1, 3, 32, 48)] * 4
    changed = guard_models(model, other, "int8", cal, hw=(32, 48))  # other random weights: other images
    first = sorted(BUNDLED.glob("*.jpg"))[0].name
    assert not changed.same and changed.mismatches[0].startswith(f"{first}: PSNR"), changed.mismatches


def test_sensitive_layers_walk_back_from_the_outputs(resnet18: Any, home: Path) -> None:
    onnx_file = export(resnet18, "onnx", input_size=SIZE, check=False).path
    one, _ = sensitive_layers(onnx_file, 1)
    two, _ = sensitive_layers(onnx_file, 2)
    assert len(one) == 2 and set(one) < set(two) and len(two) > len(one)
    import onnx

    weighted = [n.name for n in onnx.load(str(onnx_file), load_external_data=False).graph.node
                if n.op_type in ("Conv", "Gemm")]
    three, _ = sensitive_layers(onnx_file, 1, first=3)
    assert three[:3] == weighted[:3] and set(one) < set(three) and len(three) == 4  # + the classifier
    assert sensitive_layers(onnx_file, 0, first=3) == (weighted[:3], [])  # depth 0: the input side only


def test_with_backend_int8_predicts_and_reports_its_guard(resnet18: Any, home: Path) -> None:
    fast = zoo.runtimes.with_backend(resnet18, "onnxruntime", precision="int8", input_size=SIZE, dynamic_batch=False)
    info = fast.backend_info
    assert info["precision"] == "int8" and info["guard"]["images"] == 4 * JUDGED
    assert info["quantization"]["calibration"]["images"] == 4
    image = str(sorted(BUNDLED.glob("*.jpg"))[0])
    assert len(fast.predict(image, size=SIZE[0]).topk) == len(resnet18.predict(image, size=SIZE[0]).topk)


def test_zoo_export_int8_says_what_it_did(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "export", "resnet18", "--format", "onnx", "--precision", "int8",
                             "--random-init", "--size", "64")
    assert code == 0, err
    assert "int8: onnxruntime" in out and "calibrated on 4 photos (bundled)" in out
    assert "accuracy guard: " in out and "on 4 photos" in out


def test_a_generator_cannot_be_calibrated_on_photos() -> None:
    model = zoo.build("dcgan-64")
    leaves = list(model.example_inputs(1))
    with pytest.raises(ExportError, match="cannot be quantised to int8: its network takes latents, not images"):
        calibration_samples(model, calibration_set(), [t for t in leaves if isinstance(t, torch.Tensor)])


def test_a_preprocess_that_makes_other_shapes_is_said_with_both_shapes() -> None:
    """OpenPose's scale search makes a list of inputs at other sizes than its export's: both named."""
    model = zoo.build("openpose-body")
    with pytest.raises(ExportError, match=r"its network takes 1x3x368x368 where its preprocess makes a list of 1 "
                                          r"\(1x3x184x184\)"):
        calibration_samples(model, calibration_set(), [torch.zeros(1, 3, 368, 368)])


@pytest.mark.parametrize("args, message", [
    (["predict", "resnet18", "IMG", "--random-init", "--precision", "int8"],
     "torch runs fp32, fp16 and bf16, not int8; int8 is a quantised export: run it with --backend onnxruntime or "
     "openvino"),
    (["export", "resnet18", "--format", "torchscript", "--precision", "int8"], "torchscript runs"),
    (["export", "resnet18", "--format", "onnx", "--precision", "int8", "--calibration", "EMPTY"], "no images in it"),
    (["export", "resnet18", "--format", "onnx", "--precision", "int8", "--calibration", "MISSING"],
     "not a folder of images"),
    (["bench", "resnet18", "--precision", "int8"], "--precision int8 without --backend"),
    # a page saved under a photo's name: found by its header before anything is exported
    (["export", "resnet18", "--format", "onnx", "--precision", "int8", "--calibration", "NOT_IMAGES"],
     "page.jpg is not an image"),
    # a photo cut short: found when calibration decodes it, named (not "cannot preprocess to its input shape")
    (["export", "resnet18", "--format", "onnx", "--precision", "int8", "--calibration", "CUT", "--random-init"],
     "cut.jpg: not a readable image"),
])
def test_bad_int8_input_is_one_line(args: list[str], message: str, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("empty", "not_images", "cut"):
        (tmp_path / name).mkdir()
    photo = sorted(BUNDLED.glob("*.jpg"))[0]
    shutil.copy(photo, tmp_path / "not_images")
    (tmp_path / "not_images" / "page.jpg").write_text("<html>404 Not Found</html>")
    shutil.copy(photo, tmp_path / "cut")
    (tmp_path / "cut" / "cut.jpg").write_bytes(photo.read_bytes()[:2000])
    sub = {"IMG": str(photo), "EMPTY": str(tmp_path / "empty"), "MISSING": str(tmp_path / "nope"),
           "NOT_IMAGES": str(tmp_path / "not_images"), "CUT": str(tmp_path / "cut")}
    code, _, err = run_cli(capsys, *[sub.get(a, a) for a in args])
    assert code == 2 and message in one_line(err), err


@pytest.mark.full
@pytest.mark.parametrize("fmt", ["onnx", "openvino"])
def test_yolov3_tiny_int8_real_weights_guard(fmt: str, in_yolo_home: Path) -> None:
    """The real check: yolov3-tiny (official weights) quantised and guarded on the bundled photos. The guard's
    verdict is whatever the answers are (it may keep layers in fp32 or report a change); what must hold is
    that it compared real detections and that a kept-fp32 fallback names its layers."""
    if not (SHARED_DATA / "yolov3-tiny.weights").exists():
        pytest.skip("real yolov3-tiny weights not found")
    model = zoo.load("yolov3-tiny")
    res = export(model, fmt, precision="int8")
    guard = res.guard
    assert guard["images"] == 4 * JUDGED and guard["metrics"]["detections"] >= 2, guard
    if guard["same"]:
        assert "detections match" in guard["summary"]
    else:
        assert guard["mismatches"] and guard["fp32_layers"]
    assert json.loads(json.dumps(res.metadata["quantization"]))["fp32_layers"] == guard.get("fp32_layers", [])


def test_predict_warns_when_the_guard_saw_changed_answers(capsys: pytest.CaptureFixture[str]) -> None:
    from types import SimpleNamespace

    from zoo.cli.predict_cmd import warn_guard

    guard = {"same": False, "precision": "int8", "summary": "image 2: cup 0.49 missing"}
    warn_guard(SimpleNamespace(backend_info={"backend": "openvino", "guard": guard}))
    assert capsys.readouterr().err == "warning: openvino int8 changes answers on the calibration photos: image 2: cup 0.49 missing\n"
    warn_guard(SimpleNamespace(backend_info={"backend": "openvino", "guard": {**guard, "same": True}}))
    warn_guard(SimpleNamespace())  # torch: no backend_info
    assert capsys.readouterr().err == ""


def test_int8_rows_neither_get_nor_raise_the_fp32_peak() -> None:
    from types import SimpleNamespace

    from zoo.bench.flops import Peak, apply_peak

    fp32 = SimpleNamespace(model="m", batch_size=1, precision="fp32", gflops_per_s=50.0)
    int8 = SimpleNamespace(model="m", batch_size=1, precision="int8", gflops_per_s=400.0)
    notes = apply_peak([fp32, int8], Peak(100.0, "probe", {"probe": 100.0}))
    assert not notes and fp32.pct_of_peak == 50.0 and not hasattr(int8, "pct_of_peak")


def test_torch_at_a_reduced_precision_is_guarded_too(resnet18: Any) -> None:
    half = zoo.runtimes.with_backend(resnet18, "torch", precision="bf16")
    guard = half.backend_info["guard"]
    assert guard["precision"] == "bf16" and guard["images"] == 4 * JUDGED and guard["ran"] and "top-1" in guard["summary"]


def test_autocast_is_guarded_as_it_runs(resnet18: Any) -> None:
    """The harness's --precision bf16 (torch.autocast around forward): the guard runs that, not fp32."""
    from zoo.runtimes.guard import autocast_copy, autocast_guard

    x = torch.rand(1, 3, *SIZE)
    with torch.inference_mode():
        ref, got = resnet18(x), autocast_copy(resnet18, "bf16")(x)
    assert got.dtype == torch.float32 and not torch.equal(ref, got) and torch.allclose(ref, got, atol=0.5)
    guard = autocast_guard(resnet18, "bf16")
    assert guard["precision"] == "bf16" and guard["ran"] and guard["images"] == 4 * JUDGED and "top-1" in guard["summary"]


# ------------------------------------------------------------------ bf16/fp16: the same fallback, fp32 kept by marks
needs_bf16 = pytest.mark.skipif(not cpu_has_bf16(), reason="this CPU has no native bf16 (AVX512-BF16 or AMX)")


def _verdicts(monkeypatch: pytest.MonkeyPatch, module: Any, *same: bool) -> list[dict[str, Any]]:
    """`module._guard` answering `same` in turn (the real guard runs; only its verdict is forced); the calls."""
    real, verdicts, calls = module._guard, iter(same), []

    def guard(*args: Any) -> dict[str, Any]:
        out = real(*args)
        out["same"] = next(verdicts)
        calls.append(out)
        return out

    monkeypatch.setattr(module, "_guard", guard)
    return calls


def _own_photos(tmp_path: Path, name: str, pick: slice) -> Path:
    """A calibration set of its own: a cache entry no other test shares."""
    folder = tmp_path / name
    folder.mkdir()
    for p in sorted(BUNDLED.glob("*.jpg"))[pick]:
        shutil.copy(p, folder / p.name)
    return folder


@needs_bf16
def test_openvino_bf16_that_changes_answers_is_made_again_with_layers_marked_fp32(
        resnet18: Any, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ex = importlib.import_module("zoo.runtimes.exporter")
    real = ex._guard
    calls = _verdicts(monkeypatch, ex, False, False, False, True)  # plain bf16 and 2 steps "change answers"
    photos = _own_photos(tmp_path, "ov_bf16", slice(0, 1))
    res = export(resnet18, "openvino", precision="bf16", input_size=SIZE, calibration=photos)
    assert len(calls) == 4 and res.guard["same"]
    layers, _ = sensitive_layers(export(resnet18, "onnx", input_size=SIZE, check=False).path, *FP32_FALLBACKS[2])
    assert res.metadata["fp32_marked"] == layers and len(layers) > 2
    # what the CPU plugin runs in f32: the convolutions; the classifier's Gemm becomes a FullyConnected that
    # loses its mark (OpenVINO 2026.4) and is said so, not claimed
    assert res.guard["fp32_layers"] == [n for n in layers if n != "node_linear"]
    assert res.guard["fp32_refused"] == ["node_linear"]
    assert 'name="DisablePrecisionConversion"' in res.path.read_text()
    monkeypatch.setattr(ex, "_guard", real)  # the cache: the artefact with its marks is reused, still says so
    again = export(resnet18, "openvino", precision="bf16", input_size=SIZE, calibration=photos)
    assert again.cached and again.path == res.path and again.guard == res.guard


@needs_bf16
def test_layers_marked_fp32_run_fp32_under_the_bf16_hint(tmp_path: Path) -> None:
    """A conv-only network: with every conv marked, bf16-compiled outputs are fp32's; unmarked, bf16's rounding."""
    import openvino as ov

    from zoo.runtimes.quantize import fp32_at_runtime, keep_fp32_openvino
    from zoo.runtimes.runners import open_runner

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.Conv2d(16, 8, 3, padding=1)).eval()
    x = torch.randn(1, 3, 32, 32)
    onnx_file = tmp_path / "net.onnx"
    torch.onnx.export(net, (x,), str(onnx_file), dynamo=False, opset_version=18)
    convs = [n.name for n in importlib.import_module("onnx").load(str(onnx_file)).graph.node if n.op_type == "Conv"]
    outs, runners = {}, {}
    for marked in (False, True):
        model = ov.convert_model(str(onnx_file))
        assert keep_fp32_openvino(model, convs if marked else []) == (5 if marked else 0)  # 2 convs, biases, ReLU
        ov.save_model(model, str(tmp_path / f"{marked}.xml"), compress_to_fp16=False)
        runners[marked] = open_runner(tmp_path / f"{marked}.xml", "openvino", "bf16", threads=1)
        outs[marked] = runners[marked]([x])[0]
    ref = net(x).detach()
    assert (outs[False] - ref).abs().max() > 1e-3  # bf16 keeps 8 mantissa bits
    assert torch.allclose(outs[True], ref, atol=1e-5, rtol=1e-5)
    assert fp32_at_runtime(runners[True].session, convs) == convs and not fp32_at_runtime(runners[False].session, convs)


def test_torch_bf16_that_changes_answers_keeps_the_sensitive_modules_fp32(resnet18: Any,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from zoo.runtimes import backend
    from zoo.runtimes.quantize import sensitive_modules

    calls = _verdicts(monkeypatch, backend, False, True)
    half = zoo.runtimes.with_backend(resnet18, "torch", precision="bf16")
    kept = half.backend_info["guard"]["fp32_layers"]
    assert len(calls) == 2 and half.backend_info["guard"]["same"]
    assert kept == sensitive_modules(resnet18, tuple(resnet18.example_inputs(1)), *FP32_FALLBACKS[0])
    assert kept == ["net.conv1", "net.fc"]
    dtypes = {name: m.weight.dtype for name, m in half.named_modules() if hasattr(m, "weight")}
    assert {n for n, d in dtypes.items() if d == torch.float32} == set(kept)
    assert dtypes["net.layer1.0.conv1"] == torch.bfloat16
    # the kept modules really compute in fp32: their input arrives fp32 and their output is the fp32 layer's
    seen = {}
    half.get_submodule("net.fc").register_forward_hook(lambda m, args, out: seen.update(x=args[0], out=out))
    image = str(sorted(BUNDLED.glob("*.jpg"))[0])
    half.predict(image)
    assert seen["x"].dtype == torch.float32 and seen["out"].dtype == torch.bfloat16  # cast back for the next op
    with torch.inference_mode():
        expected = resnet18.net.fc(seen["x"])
    assert torch.allclose(seen["out"].float(), expected.to(torch.bfloat16).float())


def test_sensitive_modules_find_every_detector_head() -> None:
    from zoo.runtimes.quantize import sensitive_modules

    torch.manual_seed(0)
    yolo = zoo.build("yolov3-tiny")
    one = sensitive_modules(yolo, tuple(yolo.example_inputs(1, (64, 64))), 1)
    two = sensitive_modules(yolo, tuple(yolo.example_inputs(1, (64, 64))), 2)
    assert one == ["net.layers.0.conv", "net.layers.15.conv", "net.layers.22.conv"]  # the first conv, both heads
    assert set(one) < set(two)
    assert sensitive_modules(yolo, tuple(yolo.example_inputs(1, (64, 64))), 1, 3)[:3] == [
        "net.layers.0.conv", "net.layers.2.conv", "net.layers.4.conv"]  # the first three convs (maxpools between)
    with torch.inference_mode():  # as `zoo predict` loads: the walk still has a graph
        assert sensitive_modules(yolo, tuple(yolo.example_inputs(1, (64, 64))), 1) == one


def test_zoo_export_says_which_layers_bf16_kept_and_which_openvino_would_not() -> None:
    from zoo.cli.export_cmd import guard_lines

    guard = {"same": True, "summary": "top-1 4/4, top-5 4/4", "images": 4, "precision": "bf16",
             "fp32_layers": ["node_Conv_292"], "fp32_refused": ["node_linear"]}
    assert guard_lines(guard, None) == [
        "kept in fp32 (the guard asked): node_Conv_292",
        "asked fp32 but run at bf16 by OpenVINO's CPU plugin: node_linear",
        "accuracy guard: same answers as fp32 on 4 photos (top-1 4/4, top-5 4/4)"]


@pytest.mark.parametrize("flags, first_max", [(frozenset({"avx512_vnni"}), 127), (frozenset({"avx2"}), 64)])
def test_first_layer_weights_use_the_full_int8_range_where_the_cpu_has_vnni(
        flags: frozenset[str], first_max: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """NNCF's overflow fix (7-bit weights for the first convolution) only where 16-bit sums would saturate; the
    choice is part of the tool's name, so of the cache key."""
    import numpy as np

    import zoo.devices
    from zoo.runtimes.quantize import quantize_openvino, tool_name

    monkeypatch.setattr(zoo.devices, "cpu_flags", lambda: flags)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.Conv2d(16, 8, 3, padding=1)).eval()
    onnx_file = tmp_path / "net.onnx"
    torch.onnx.export(net, (torch.rand(1, 3, 32, 32),), str(onnx_file), dynamo=False, opset_version=18)
    model = quantize_openvino(onnx_file, [[torch.rand(1, 3, 32, 32)] for _ in range(3)], [])
    int8_weights = [int(np.abs(op.get_data().astype(int)).max()) for op in model.get_ordered_ops()
                    if op.get_type_name() == "Constant" and op.get_element_type().get_type_name() == "i8"]
    assert int8_weights == [first_max, 127]  # the second convolution: full range either way
    assert ("8-bit first-layer" in tool_name("openvino")) == (first_max == 127)


@pytest.mark.parametrize("fmt", ["torchscript", "pt2"])
def test_a_traced_bf16_export_that_changes_answers_keeps_the_sensitive_modules_fp32(
        fmt: str, resnet18: Any, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """TorchScript and torch.export fall back like the other reduced precisions: the cast copy they trace keeps
    the sensitive modules fp32 (their weights in the artefact are fp32, the rest bf16), and the guard says which."""
    from zoo.runtimes.quantize import sensitive_modules

    ex = importlib.import_module("zoo.runtimes.exporter")
    real = ex._guard
    calls = _verdicts(monkeypatch, ex, False, True)  # plain bf16 "changes answers", the first step not
    photos = _own_photos(tmp_path, f"{fmt}_bf16", slice(1, 2))
    res = export(resnet18, fmt, precision="bf16", input_size=SIZE, calibration=photos)
    assert len(calls) == 2 and res.guard["same"]
    kept = sensitive_modules(resnet18, (torch.rand(1, 3, *SIZE),), *FP32_FALLBACKS[0])
    assert res.guard["fp32_layers"] == kept == ["net.conv1", "net.fc"]
    net = torch.jit.load(str(res.path)) if fmt == "torchscript" else torch.export.load(str(res.path)).module()
    weights = {k: v.dtype for k, v in net.state_dict().items() if k.endswith("weight")}
    assert {d for k, d in weights.items() if k.endswith(("net.conv1.weight", "net.fc.weight"))} == {torch.float32}
    assert weights[next(k for k in weights if k.endswith("layer1.0.conv1.weight"))] == torch.bfloat16
    monkeypatch.setattr(ex, "_guard", real)  # the cached artefact with its fp32 modules is reused, still says so
    again = export(resnet18, fmt, precision="bf16", input_size=SIZE, calibration=photos)
    assert again.cached and again.path == res.path and again.guard == res.guard
