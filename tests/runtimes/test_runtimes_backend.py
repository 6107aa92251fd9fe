"""Backends behind the family's own pre/post-processing: `with_backend` / `zoo.load(backend=)` answer what
PyTorch answers (resnet18 top-1 and logits; yolov3-tiny with the real Darknet weights: the same detections),
`zoo predict/eval --backend` work unchanged (eval: the same COCO numbers), bad input is one line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from clikit import SHARED_DATA
from clikit import zoo_in_process as run_cli
from rtkit import one_line

import zoo
from zoo.data import SAMPLE_IMAGE
from zoo.errors import InputError
from zoo.runtimes import with_backend
from zoo.runtimes.runners import cpu_has_bf16
from zoo.tasks.parity import compare_results

IMAGES = sorted((SHARED_DATA / "images").glob("*"))
CONF = 0.1  # below the default 0.25: more boxes to compare (10 on the four photos)


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_classifier_on_a_backend_answers_like_pytorch(backend: str, resnet18: Any, home: Path) -> None:
    fast = with_backend(resnet18, backend, threads=1, input_size=64)
    assert type(fast) is type(resnet18) and fast.backend == backend and fast.label_set() == resnet18.label_set()
    info = fast.backend_info
    assert info["precision"] == "fp32" and info["threads"] == 1 and Path(info["artefact"]).is_file()
    assert set(info) >= {"export_s", "compile_s", "cache_hit"}
    assert "forward" not in vars(resnet18)  # the caller's model still runs PyTorch
    photos = [str(SAMPLE_IMAGE)] + [str(p) for p in IMAGES[:2]]
    batch, _ = resnet18.preprocess(photos, size=64)
    with torch.no_grad():
        ref = resnet18(batch)
    got = fast(batch)  # a batch of 3 on a dynamic-batch export
    assert isinstance(got, torch.Tensor) and got.shape == ref.shape and torch.allclose(got, ref, atol=1e-4)
    agree = compare_results("classification", resnet18.predict(photos, size=64), fast.predict(photos, size=64))
    assert agree.same, agree.summary
    with pytest.raises(InputError, match="was exported for 64x64 inputs, got 96x96"):
        fast.predict(photos[0], size=96)


@pytest.fixture(scope="module")
def yolo_pair(yolo_home: Path) -> tuple[Any, Any]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZOO_HOME", str(yolo_home))
        torch_model = zoo.load("yolov3-tiny")
        fast = zoo.load("yolov3-tiny", backend="onnxruntime", threads=2)
    return torch_model, fast


def test_yolo_real_weights_same_detections_on_onnxruntime(yolo_pair: tuple[Any, Any]) -> None:
    torch_model, fast = yolo_pair
    assert fast.backend == "onnxruntime" and fast.weights_source == "yolov3-tiny.coco"
    total = 0
    for image in IMAGES:
        ref, got = torch_model.predict(str(image), conf=CONF), fast.predict(str(image), conf=CONF)
        agree = compare_results("detection", ref, got)  # fp32: score within 0.02, no threshold slack
        assert agree.same, f"{image.name}: {agree.summary}"
        total += len(ref.detections)
    assert total >= 8  # real detections (cup, bowl, ties, people...), not two empty lists


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_yolo_real_weights_same_detections_on_openvino(precision: str, yolo_pair: tuple[Any, Any],
                                                        in_yolo_home: Path) -> None:
    if precision == "bf16" and not cpu_has_bf16():
        pytest.skip("this CPU has no native bf16 (AVX512-BF16 or AMX)")
    torch_model, _ = yolo_pair
    fast = with_backend(torch_model, "openvino", precision=precision)
    # bf16 keeps 8 mantissa bits: measured here, scores move by up to 0.021 (grace_hopper's tie 0.471 -> 0.492),
    # within the parity table's 0.03 for reduced precisions (0.02 at fp32)
    for image in IMAGES:
        ref, got = torch_model.predict(str(image), conf=CONF), fast.predict(str(image), conf=CONF)
        agree = compare_results("detection", ref, got, precision=precision, conf=CONF)
        assert agree.same, f"{image.name} at {precision}: {agree.summary}"


def _pseudo_coco(model: Any, tmp: Path) -> Path:
    """A COCO file over the shared photos whose ground truth is PyTorch's own detections at conf 0.3:
    real images, real boxes, non-trivial AP for every backend to reproduce."""
    from PIL import Image

    images, anns, cats = [], [], {}
    for i, path in enumerate(IMAGES, 1):
        w, h = Image.open(path).size
        images.append({"id": i, "file_name": path.name, "width": w, "height": h})
        for d in model.predict(str(path), conf=0.3).detections:
            x1, y1, x2, y2 = d.box
            cats[d.class_id] = d.label
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": d.class_id, "iscrowd": 0,
                         "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1)})
    ann = tmp / "instances.json"
    ann.write_text(json.dumps({"images": images, "annotations": anns,
                               "categories": [{"id": k, "name": v} for k, v in sorted(cats.items())]}))
    return ann


def test_eval_on_onnxruntime_gives_the_same_coco_numbers(yolo_pair: tuple[Any, Any], in_yolo_home: Path,
                                                          tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ann = _pseudo_coco(yolo_pair[0], tmp_path)
    args = ["eval", "yolov3-tiny", "--ann", str(ann), "--images", str(IMAGES[0].parent), "--json", "--no-progress"]
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    ref = json.loads(out)
    code, out, err = run_cli(capsys, *args, "--backend", "onnxruntime", "--threads", "2")
    assert code == 0, err
    got = json.loads(out)
    assert 30 < ref["metrics"]["bbox"]["AP"] <= 100 and ref["num_predictions"] > 10
    assert got["num_predictions"] == ref["num_predictions"]
    assert got["metrics"]["bbox"] == pytest.approx(ref["metrics"]["bbox"], abs=1e-6)
    assert "the network ran on onnxruntime at fp32" in got["notes"]


def test_predict_cli_on_onnxruntime(yolo_pair: tuple[Any, Any], in_yolo_home: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    image = str(IMAGES[-1])
    code, out, err = run_cli(capsys, "predict", "yolov3-tiny", image, "--json", "--device", "cpu")
    assert code == 0, err
    code, out2, err = run_cli(capsys, "predict", "yolov3-tiny", image, "--json", "--backend", "onnxruntime",
                              "--threads", "2")
    assert code == 0, err
    ref, got = json.loads(out)["results"][0]["detections"], json.loads(out2)["results"][0]["detections"]
    assert ref and [d["label"] for d in got] == [d["label"] for d in ref]
    assert all(abs(a - b) < 0.5 for r, g in zip(ref, got) for a, b in zip(r["box"], g["box"]))


@pytest.mark.parametrize("args, message", [
    (["predict", "resnet18", "IMG", "--random-init", "--backend", "onnxrt"],
     "unknown backend 'onnxrt' (one of: torch, onnxruntime, openvino, torchscript, pt2); did you mean 'onnxruntime'?"),
    (["eval", "resnet18", "--imagenet", "DIR", "--random-init", "--backend", "openvn"],
     "did you mean 'openvino'?"),
    (["predict", "resnet18", "IMG", "--random-init", "--backend", "onnxruntime", "--precision", "bf16"],
     "onnxruntime runs fp32 and int8, not bf16 (openvino runs fp32, bf16, fp16 and int8)"),
    (["predict", "resnet18", "IMG", "--random-init", "--precision", "fp8"], "unknown precision 'fp8'"),
    (["predict", "resnet18", "IMG", "--random-init", "--threads", "0"], "--threads must be at least 1, got 0"),
    (["export", "resnet18", "--format", "onx"], "unknown export format 'onx'"),
    (["export", "resnet18", "--format", "onnx", "--batch", "2", "--dynamic-batch"], "contradict each other"),
    (["export", "resnet18", "--format", "onnx", "--size", "big"], "--size expects N or HxW"),
    (["export", "yolov3-tiny", "--format", "onnx", "--random-init", "--input-size", "100"],
     "YOLO input size must be a positive multiple of 32, got 100x100"),
])
def test_bad_input_is_one_line(args: list[str], message: str, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    args = [str(SAMPLE_IMAGE) if a == "IMG" else str(tmp_path) if a == "DIR" else a for a in args]
    code, _, err = run_cli(capsys, *args)
    assert code == 2 and message in one_line(err)


def test_missing_runtime_and_missing_bf16_are_one_line(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if `cvzoo[runtimes]` were not installed
    code, _, err = run_cli(capsys, "predict", "resnet18", str(SAMPLE_IMAGE), "--random-init", "--backend", "onnxruntime")
    assert code == 1 and "onnxruntime is not installed" in one_line(err) and "pip install 'cvzoo[runtimes]'" in err
    monkeypatch.setattr("zoo.runtimes.runners.cpu_has_bf16", lambda: False)
    code, _, err = run_cli(capsys, "predict", "resnet18", str(SAMPLE_IMAGE), "--random-init", "--backend", "openvino",
                           "--precision", "bf16")
    assert code == 2 and "this CPU has no native bf16 (AVX512-BF16 or AMX)" in one_line(err)


def test_core_imports_no_runtime() -> None:
    import subprocess

    code = ("import sys, zoo.runtimes, zoo.runtimes.exporter, zoo.runtimes.backend, zoo.cli.export_cmd, zoo.api; "
            "bad = [m for m in ('onnx', 'onnxruntime', 'openvino', 'onnxscript', 'nncf') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_torch_backend_at_lower_precision(resnet18: Any) -> None:
    from zoo.testing.kit import SAMPLE_IMAGE

    assert with_backend(resnet18, "torch") is resnet18  # fp32 PyTorch: the model as is
    half = with_backend(resnet18, "torch", precision="bf16")
    assert half.backend_info["precision"] == "bf16" and next(half.net.parameters()).dtype == torch.bfloat16
    assert next(resnet18.net.parameters()).dtype == torch.float32  # a copy was cast, not the caller's model
    batch, _ = resnet18.preprocess(str(SAMPLE_IMAGE), size=64)
    with torch.no_grad():
        ref, got = resnet18(batch), half(batch)
    assert got.dtype == torch.float32 and 0 < float((got - ref).abs().max()) < 0.1 * float(ref.abs().max())


def test_fixed_batch_key_counts_a_list_of_images() -> None:
    """A list of CHW images (the R-CNN family's batch) at a fixed batch is keyed by how many images there are,
    not by their 3 channels; an NCHW batch by its first dimension."""
    from zoo.runtimes.backend import RuntimeForward

    rt = RuntimeForward.__new__(RuntimeForward)
    rt.dynamic_batch, rt.batch, rt.input_size = False, 1, (64, 64)
    assert rt._key([torch.zeros(3, 64, 80), torch.zeros(3, 64, 80)]) == ((64, 64), 2)
    assert rt._key([torch.zeros(5, 3, 32, 48)]) == ((32, 48), 5)
    rt.dynamic_batch = True
    assert rt._key([torch.zeros(5, 3, 32, 48)]) == ((32, 48), None)


@pytest.mark.full  # three exports of a detector (~12 s each): make test-all; one export with its
# post-processing stays in the default run (test_families.py::test_torchvision_detector_exports_with_its_postprocessing)
def test_torchvision_detector_runs_photos_of_any_size_on_onnxruntime(home: Path) -> None:
    """torchvision's detectors take a list of images of any sizes (their resize is inside the graph): the runtime
    exports one batch-1 artefact per image size and runs image by image; the raw outputs match PyTorch's."""
    torch.manual_seed(0)
    model = zoo.build("faster-rcnn-r50-fpn", min_size=128, max_size=160, box_score_thresh=0.3,
                      box_detections_per_img=20)
    with torch.no_grad():  # a classifier spread like a trained one's: distinct scores above the threshold
        model.net.roi_heads.box_predictor.cls_score.weight.normal_(0, 0.03)
    fast = with_backend(model, "onnxruntime", threads=1)
    from PIL import Image

    from zoo.testing.kit import SAMPLE_IMAGE

    photo = Image.open(SAMPLE_IMAGE).convert("RGB")
    images, _ = model.preprocess([np.array(photo.resize((160, 120))), np.array(photo.resize((128, 96)))])
    with torch.inference_mode():
        ref, got = model(images), fast(images)
    assert len(got) == 2 and sum(len(r["boxes"]) for r in ref) > 0
    for r, g in zip(ref, got):
        assert set(g) == set(r)
        for k in r:
            assert g[k].shape == r[k].shape, k
            assert torch.allclose(g[k].float(), r[k].float(), atol=1e-3, rtol=1e-3), k
    assert len(fast.forward.runners) == 3  # the model's own size at load, then one per new image size
