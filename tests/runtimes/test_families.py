"""Every family's network exports, and the exported network answers as PyTorch does (issue 15, item 4).

Each test goes through `zoo.runtimes` (export / with_backend, whose own parity check runs too) and then
checks the artefact independently: onnxruntime opened here on the exported file, against the PyTorch
network on the same input, or the detections of the backend model against PyTorch's on real photos
(same classes, IoU >= 0.9, score within 0.02). Small inputs and reduced networks keep the file quick;
the full-size table is docs/runtimes.md (benchmarks/export_coverage.py).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.utils._pytree as pytree

import zoo
from zoo.errors import ExportError
from zoo.runtimes import export, with_backend
from zoo.tasks.parity import compare_results

pytest.importorskip("onnxruntime", reason="the runtimes extra: pip install 'cvzoo[runtimes]'")

SHARED_DATA = Path(os.environ.get("ZOO_TEST_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"))
CLASSIC = zoo.list_models(family="classic")
# The big ones (VGG: 130-140M parameters, 0.5 GB of ONNX each; ResNet-101/152, DenseNet-161+: hundreds of layers
# to trace) are still exported and checked, under the `slow` marker that make test runs; the quick set has one
# model of each architecture (alexnet, vgg11, resnet18/34/50, densenet121, googlenet)
HEAVY = {"vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "resnet101", "resnet152",
         "densenet161", "densenet169", "densenet201", "densenet264"}


def ort_outputs(path: Path, inputs: list[torch.Tensor]) -> list[np.ndarray]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    feeds = {i.name: t.numpy() for i, t in zip(session.get_inputs(), inputs)}
    return session.run(None, feeds)


def torch_outputs(model: Any, args: tuple[Any, ...]) -> list[np.ndarray]:
    with torch.inference_mode():
        return [t.float().numpy() for t in pytree.tree_leaves(model(*args))]


def assert_same(ref: list[np.ndarray], got: list[np.ndarray], rtol: float = 1e-4) -> float:
    """Same number of outputs and shapes; max abs difference within rtol of the outputs' scale (>= 1)."""
    assert len(ref) == len(got)
    scale = max([1.0] + [float(np.abs(r).max()) for r in ref if r.size])
    worst = 0.0
    for r, g in zip(ref, got):
        assert r.shape == g.shape
        if r.size:
            worst = max(worst, float(np.abs(r.astype(np.float64) - g.astype(np.float64)).max()))
    assert worst <= rtol * scale, f"max abs diff {worst:.3g} (scale {scale:.3g})"
    return worst


def traced_matches(model: Any, args: tuple[Any, ...], path: Path) -> float:
    """TorchScript-based torch.onnx.export (the quick exporter, which zoo.runtimes also uses), run here."""
    torch.onnx.export(model, args, str(path), dynamo=False)
    return assert_same(torch_outputs(model, args), ort_outputs(path, [t.clone() for t in pytree.tree_leaves(args)]))


def exported_matches(model: Any, args: tuple[Any, ...], fmt: str = "onnx", **kw: Any) -> float:
    """Export `model` (its own parity check included), then run the .onnx file here on `args`."""
    res = export(model, fmt, **kw)
    assert res.parity["random"] >= 0.0
    if fmt != "onnx":
        return res.parity["random"]
    leaves = [t.clone() for t in pytree.tree_leaves(args)]
    return assert_same(torch_outputs(model, args), ort_outputs(res.path, leaves))


# ---------------------------------------------------------------------------------------------- classic
@pytest.mark.parametrize("arch", [pytest.param(a, marks=pytest.mark.slow) if a in HEAVY else a for a in CLASSIC])
def test_every_classic_model_exports_to_onnx_with_parity(arch: str, tmp_path: Path) -> None:
    """TorchScript-based torch.onnx.export (the fast exporter; zoo.runtimes falls back to it) at a small input
    with a dynamic batch. AlexNet and VGG take 224: their adaptive average pool (to 6x6 / 7x7) exports
    through this exporter only when its output size divides its input's (torch.export takes any size)."""
    torch.manual_seed(0)
    model = zoo.build(arch).eval()
    size = 224 if arch == "alexnet" or arch.startswith("vgg") else 64
    x = torch.rand(1, 3, size, size)
    path = tmp_path / f"{arch}.onnx"
    torch.onnx.export(model, (x,), str(path), dynamo=False, input_names=["x"], dynamic_axes={"x": {0: "n"}})
    y = torch.rand(2, 3, size, size)
    assert_same(torch_outputs(model, (y,)), ort_outputs(path, [y]))  # batch 2 on the dynamic-batch export
    path.unlink()  # up to 550 MB (VGG): the suite's disk use stays small


@pytest.mark.parametrize("fmt", ["onnx", "openvino"])
def test_classic_through_zoo_runtimes_export(fmt: str) -> None:
    """The runtimes' own path (exporter choice, metadata, parity on random data and a real photo)."""
    torch.manual_seed(0)
    model = zoo.build("resnet18").eval()
    res = export(model, fmt, input_size=(64, 64))
    assert set(res.parity) == {"random", "image"} and max(res.parity.values()) < 1e-3
    assert not model.training  # exporting leaves the caller's model as it was
    if fmt == "onnx":
        x = torch.rand(1, 3, 64, 64)
        assert_same(torch_outputs(model, (x,)), ort_outputs(res.path, [x]))


# ---------------------------------------------------------------------------------------------- yolo
@pytest.fixture(scope="module")
def tiny_real() -> Any:
    if not (SHARED_DATA / "yolov3-tiny.weights").exists():
        pytest.skip(f"real test data not found at {SHARED_DATA} (set ZOO_TEST_DATA)")
    return zoo.load("yolov3-tiny", weights=SHARED_DATA / "yolov3-tiny.weights").eval(), SHARED_DATA


@pytest.mark.parametrize("backend", ["onnxruntime", pytest.param("openvino", marks=pytest.mark.slow)])
def test_yolov3_tiny_real_weights_same_detections_on_the_shared_photos(tiny_real: Any, backend: str) -> None:
    model, data = tiny_real
    fast = with_backend(model, backend, threads=1)
    assert fast.backend == backend
    photos = sorted((data / "images").iterdir())
    boxes = 0
    for photo in photos:
        ref = model.predict(str(photo), conf=0.1)
        got = fast.predict(str(photo), conf=0.1)
        agree = compare_results("detection", ref, got)
        assert agree.same, f"{photo.name}: {agree.summary}"
        boxes += len(ref.detections)
    assert boxes >= len(photos)  # real detections were compared, not empty lists


# ---------------------------------------------------------------------------------------------- rcnn
@pytest.mark.slow  # 100+ s of tracing on a busy 2-core machine: torch.export is tried first and refuses it
def test_torchvision_detector_exports_with_its_postprocessing() -> None:
    """faster-rcnn-r50-fpn at a fixed batch and a small size (min_size 128), its post-processing (box
    decoding, NMS, resizing back to the image) inside the graph; the runtime's outputs through the family's
    postprocess give the same detections on the bundled photo. Random weights with a classifier spread
    like a trained one's (std 0.03): distinct scores above the threshold, not ties or nothing."""
    from PIL import Image

    from zoo.testing.kit import SAMPLE_IMAGE

    torch.manual_seed(0)
    model = zoo.build("faster-rcnn-r50-fpn", min_size=128, max_size=160, box_score_thresh=0.3,
                      box_detections_per_img=20).eval()
    with torch.no_grad():
        model.net.roi_heads.box_predictor.cls_score.weight.normal_(0, 0.03)
    photo = np.array(Image.open(SAMPLE_IMAGE).convert("RGB").resize((160, 120)))
    images, metas = model.preprocess(photo)
    res = export(model, "onnx", input_size=(120, 160))
    with torch.inference_mode():
        raw = model(images)
    leaves, out_spec = pytree.tree_flatten(raw)
    got = ort_outputs(res.path, [t.clone() for t in images])
    assert_same([t.numpy() for t in leaves], got)
    ref = model.postprocess(raw, metas, conf=0.3)[0]
    mine = model.postprocess(pytree.tree_unflatten([torch.from_numpy(g) for g in got], out_spec), metas, conf=0.3)[0]
    assert len(ref.detections) >= 5
    agree = compare_results("detection", ref, mine)
    assert agree.same, agree.summary


# ---------------------------------------------------------------------------------------------- cornernet
def test_cornernet_exports_with_its_corner_pools() -> None:
    """The corner pools (cummax in eager) export as a doubling max scan: same values, every runtime."""
    spec = zoo.get_spec("cornernet-hourglass104")
    spec = dataclasses.replace(spec, name="cornernet-small", options={
        **spec.options, "arch_overrides": {"depth": 1, "dims": [32, 32], "modules": [1, 1], "cnv_dim": 32}})
    torch.manual_seed(0)
    model = zoo.build(spec).eval()
    x = torch.rand(1, 3, 63, 63)
    exported_matches(model, (x,), input_size=(63, 63))


def test_corner_pool_scan_equals_cummax() -> None:
    from zoo_cornernet.pools import DIRECTIONS, corner_pool, scan_max

    for n in (1, 2, 5, 16, 33):
        x = torch.randn(2, 3, n, n + 2).relu()  # ties (zeros) everywhere, as after the pools' ReLU
        for direction, (dim, reverse) in DIRECTIONS.items():
            assert torch.equal(scan_max(x, dim, reverse), corner_pool(x, direction))


# ---------------------------------------------------------------------------------------------- pose
def test_openpose_exports(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = zoo.build("openpose-body").eval()
    traced_matches(model, (torch.rand(1, 3, 64, 64) - 0.5,), tmp_path / "openpose.onnx")


# ---------------------------------------------------------------------------------------------- gan
def test_dcgan_and_cyclegan_export(tmp_path: Path) -> None:
    torch.manual_seed(0)
    dcgan = zoo.build("dcgan-64").eval()
    exported_matches(dcgan, dcgan.example_inputs(1))  # a generator through zoo.runtimes: latents in
    cyclegan = zoo.build("cyclegan-horse2zebra", n_blocks=2).eval()
    traced_matches(cyclegan, (torch.rand(1, 3, 64, 64) * 2 - 1,), tmp_path / "cyclegan.onnx")


def test_biggan_exports_with_the_truncation_as_an_input() -> None:
    """The truncation reaches the exported graph as statistics weights: one artefact serves every truncation."""
    spec = zoo.get_spec("biggan-deep-128")
    torch.manual_seed(0)
    model = zoo.build(spec, channel_width=8, output_dim=64, attention_layer_position=2,
                      layers=[(False, 16, 16), (True, 16, 8), (True, 8, 4), (True, 4, 2), (True, 2, 1)]).eval()
    with torch.no_grad():
        for name, buf in model.named_buffers():  # distinct statistics per truncation, so picking one matters
            if name.endswith("running_means"):
                buf.copy_(torch.randn_like(buf) * 0.5)
            elif name.endswith("running_vars"):
                buf.copy_(torch.rand_like(buf) + 0.5)
    res = export(model, "onnx", dynamic_batch=True)
    for truncation in (0.4, 0.37, 1.0):
        (z, cls, weights), _ = model.preprocess(n=2, seed=3, classes=[1, 2], truncation=truncation)
        with torch.inference_mode():
            as_float = model(z, cls, truncation)  # the port's float path
        got = ort_outputs(res.path, [z, cls, weights])
        assert_same([as_float.numpy()], got, rtol=1e-4)


# ---------------------------------------------------------------------------------------------- faces
def test_face_embedder_exports(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = zoo.build("facenet-inception-resnet-v1").eval()
    traced_matches(model, (torch.rand(1, 3, 96, 96) * 2 - 1,), tmp_path / "facenet.onnx")


@pytest.mark.parametrize("stage,shape", [("pnet", (1, 3, 37, 53)), ("rnet", (5, 3, 24, 24)), ("onet", (3, 3, 48, 48))])
def test_mtcnn_stage_nets_export_one_by_one(stage: str, shape: tuple[int, ...], tmp_path: Path) -> None:
    """The cascade as a whole is not one graph (image pyramid sizes, NMS and candidate counts between
    stages decide what runs next); each stage network is, including the ceil-mode pools."""
    torch.manual_seed(0)
    net = getattr(zoo.build("mtcnn").net, stage).eval()
    x = torch.rand(*shape) * 2 - 1
    path = tmp_path / f"{stage}.onnx"
    dims = {"x": {0: "n", 2: "h", 3: "w"}} if stage == "pnet" else {"x": {0: "n"}}
    torch.onnx.export(net, (x,), str(path), dynamo=False, input_names=["x"], dynamic_axes=dims)
    assert_same(torch_outputs(net, (x,)), ort_outputs(path, [x]))
    y = torch.rand(shape[0] + 1, 3, shape[2] + (6 if stage == "pnet" else 0), shape[3]) * 2 - 1
    assert_same(torch_outputs(net, (y,)), ort_outputs(path, [y]))  # another batch (and size for P-Net)


def test_mtcnn_as_a_whole_says_why_it_cannot_be_exported() -> None:
    model = zoo.build("mtcnn").eval()
    with pytest.raises(ExportError) as err:
        export(model, "onnx", input_size=(64, 64))
    assert "\n" not in str(err.value) and "mtcnn" in str(err.value) and "cascade is not one graph" in str(err.value)
