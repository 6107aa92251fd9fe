"""--precision int8: quantisation (NNCF for OpenVINO, onnxruntime's static QDQ), calibration on photos, the
accuracy guard of every reduced precision and its fp32 fallback, the cache keyed by the calibration set."""

from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
from clikit import SHARED_DATA
from clikit import zoo_in_process as run_cli
from rtkit import one_line

import zoo
from zoo.errors import ExportError
from zoo.runtimes.calibration import BUNDLED, calibration_samples, calibration_set
from zoo.runtimes.export import export
from zoo.runtimes.quantize import sensitive_layers

SIZE = (64, 64)  # a small input keeps each quantisation to a second or two


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
    assert res.guard["precision"] == "int8" and res.guard["images"] == 4 and "same" in res.guard
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
    assert other.guard["images"] == 2


def test_a_changed_answer_is_quantised_again_with_sensitive_layers_in_fp32(resnet18: Any, home: Path, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    ex = importlib.import_module("zoo.runtimes.export")  # the module: the package exports a function so named

    real, verdicts = ex._guard, iter([False, True])  # the first quantisation "changes answers", the second not

    def guard(*args: Any) -> dict[str, Any]:
        out = real(*args)
        out["same"] = next(verdicts)
        return out

    monkeypatch.setattr(ex, "_guard", guard)
    one = tmp_path / "one"  # a calibration set of its own: not the cached entry of the other tests
    one.mkdir()
    shutil.copy(sorted(BUNDLED.glob("*.jpg"))[0], one)
    res = export(resnet18, "onnx", precision="int8", input_size=SIZE, calibration=one)
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

    monkeypatch.setattr("zoo.runtimes.guard.guard", broken)
    two = tmp_path / "two"
    two.mkdir()
    for p in sorted(BUNDLED.glob("*.jpg"))[1:3]:
        shutil.copy(p, two / p.name)
    res = export(resnet18, "onnx", precision="int8", input_size=SIZE, calibration=two)
    assert res.guard["ran"] is False and res.guard["same"] is False
    assert res.guard["summary"] == "not run: RuntimeError: predict exploded"
    assert res.guard["fp32_layers"] == []  # nothing to fall back from: the answers were never compared


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


def test_with_backend_int8_predicts_and_reports_its_guard(resnet18: Any, home: Path) -> None:
    fast = zoo.runtimes.with_backend(resnet18, "onnxruntime", precision="int8", input_size=SIZE, dynamic_batch=False)
    info = fast.backend_info
    assert info["precision"] == "int8" and info["guard"]["images"] == 4
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


@pytest.mark.parametrize("args, message", [
    (["predict", "resnet18", "IMG", "--random-init", "--precision", "int8"],
     "torch runs fp32, fp16 and bf16, not int8; int8 is a quantised export: run it with --backend onnxruntime or "
     "openvino"),
    (["export", "resnet18", "--format", "torchscript", "--precision", "int8"], "torchscript runs"),
    (["export", "resnet18", "--format", "onnx", "--precision", "int8", "--calibration", "EMPTY"], "no images in it"),
    (["export", "resnet18", "--format", "onnx", "--precision", "int8", "--calibration", "MISSING"],
     "not a folder of images"),
    (["bench", "resnet18", "--precision", "int8"], "--precision int8 without --backend"),
])
def test_bad_int8_input_is_one_line(args: list[str], message: str, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    sub = {"IMG": str(sorted(BUNDLED.glob("*.jpg"))[0]), "EMPTY": str(tmp_path / "empty"),
           "MISSING": str(tmp_path / "nope")}
    code, _, err = run_cli(capsys, *[sub.get(a, a) for a in args])
    assert code == 2 and message in one_line(err)


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
    assert guard["images"] == 4 and guard["metrics"]["detections"] >= 2, guard
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
    assert guard["precision"] == "bf16" and guard["images"] == 4 and guard["ran"] and "top-1" in guard["summary"]
