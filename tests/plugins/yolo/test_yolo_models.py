"""YOLO models without real weights: registry numbers, shapes, Darknet layer numerics, decoding and NMS."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from clikit import trained_like_bn
from torch.utils.flop_counter import FlopCounterMode

import zoo
from zoo.errors import InputError
from zoo.ops.fuse import fuse_conv_bn
from zoo.ops.resize import ImageMeta
from zoo.tasks.detection import DetectionResult
from zoo_yolo.darknet import MaxPool, Route, YoloLayer
from zoo_yolo.models import YoloDetector

YOLO = ["yolov3", "yolov3-spp", "yolov3-tiny"]


@pytest.mark.parametrize("name", YOLO)
def test_registry_params_and_gmacs_match_the_built_network(name: str) -> None:
    spec = zoo.get_spec(name)
    model = zoo.build(name, device="meta")
    assert sum(p.numel() for p in model.net.parameters()) == spec.num_params
    h, w = spec.input.size
    with FlopCounterMode(display=False) as fc:
        model(torch.empty(1, 3, h, w, device="meta"))
    assert fc.get_total_flops() / 2e9 == pytest.approx(spec.gmacs, abs=1e-3)


def test_registry_rows_say_what_the_issue_asks() -> None:
    v3 = zoo.get_spec("yolov3")
    assert v3.num_params == 61_949_149 and v3.gmacs == pytest.approx(32.9, abs=0.05)
    assert v3.input.size == (416, 416) and v3.input.sizes == (320, 416, 608) and v3.input.resize == "letterbox"
    assert v3.input.scale == pytest.approx(1 / 255) and v3.categories == "coco80"
    assert v3.metrics["COCO-test-dev"] == {"box_ap": 31.0, "box_ap50": 55.3}
    assert v3.metrics["COCO-test-dev-320"]["box_ap"] == 28.2
    w = v3.default_weights()
    assert (w.format, w.size, w.sha256) == ("darknet", 248_007_048,
                                            "523e4e69e1d015393a1b0a441cef1d9c7659e3eb2d7e15f793f060a21b32f297")
    assert w.obtainable and len(w.revision) == 40  # pinned to a commit
    tiny = zoo.get_spec("yolov3-tiny").default_weights()
    assert tiny.size == 35_434_956 and tiny.sha256.startswith("dccea06f") and tiny.obtainable
    spp = zoo.get_spec("yolov3-spp").default_weights()  # the authors' URL only, its sha256 recorded on first use
    assert [s.kind for s in spp.all_sources] == ["url"] and spp.sha256 is None
    for name in YOLO:
        spec = zoo.get_spec(name)
        assert spec.metrics_source and "public domain" in spec.license and spec.paper.year == 2018


def test_yolov3_random_init_on_a_small_input() -> None:
    torch.manual_seed(0)
    model = zoo.build("yolov3")
    with torch.no_grad():
        out = model(torch.rand(1, 3, 128, 192))
    assert out.shape == (1, (4 * 6 + 8 * 12 + 16 * 24) * 3, 85)  # three scales, three anchors each
    assert torch.isfinite(out).all()
    assert ((out[..., 4:] >= 0) & (out[..., 4:] <= 1)).all()  # objectness and scores are probabilities
    assert (out[..., 5:] <= out[..., 4:5] + 1e-6).all()  # score = objectness x p(class)


def test_size_option_and_validation() -> None:
    model = zoo.build("yolov3-tiny", size=320)
    assert model.input_size == (320, 320) and model.spec.input.size == (320, 320)
    (x,) = model.example_inputs(batch_size=2)
    assert x.shape == (2, 3, 320, 320)
    with torch.no_grad():
        assert model(x).shape == (2, (10 * 10 + 20 * 20) * 3, 85)
    with pytest.raises(InputError, match="multiple of 32"):
        zoo.build("yolov3-tiny", size=300)
    with pytest.raises(InputError, match="multiple of 32"):
        model.predict(np.zeros((50, 60, 3), np.uint8), size=100)


def test_predict_api_on_images_of_different_sizes() -> None:
    torch.manual_seed(0)
    model = zoo.build("yolov3-tiny")
    images = [np.full((120, 200, 3), 90, np.uint8), np.full((64, 64, 3), 200, np.uint8)]
    results = model.predict(images, conf=0.0, size=128, resize="stretch")
    assert [type(r) for r in results] == [DetectionResult, DetectionResult]
    assert [r.image_size for r in results] == [(120, 200), (64, 64)]
    for r in results:  # random weights: something scores above 0, boxes stay inside the image
        assert r.detections
        for d in r.detections:
            h, w = r.image_size
            assert 0 <= d.box[0] <= d.box[2] <= w and 0 <= d.box[1] <= d.box[3] <= h
    single = model.predict(images[0], conf=0.5, size=128)
    assert isinstance(single, DetectionResult)


# ---------------------------------------------------------------- Darknet layer numerics

def darknet_maxpool(x: np.ndarray, size: int, stride: int, padding: int) -> np.ndarray:
    """forward_maxpool_layer from Darknet's maxpool_layer.c, loop for loop."""
    c, h, w = x.shape
    out_h, out_w = (h + padding - size) // stride + 1, (w + padding - size) // stride + 1
    off = -(padding // 2)
    out = np.empty((c, out_h, out_w), np.float32)
    for k in range(c):
        for i in range(out_h):
            for j in range(out_w):
                best = -np.finfo(np.float32).max
                for n in range(size):
                    for m in range(size):
                        y, xx = off + i * stride + n, off + j * stride + m
                        if 0 <= y < h and 0 <= xx < w:
                            best = max(best, x[k, y, xx])
                out[k, i, j] = best
    return out


@pytest.mark.parametrize("h, w, size, stride, padding", [
    (13, 13, 2, 1, 1),  # yolov3-tiny's stride-1 pool: pads right/bottom only
    (8, 8, 2, 2, 1), (9, 7, 2, 2, 1), (6, 6, 5, 1, 4), (7, 6, 9, 1, 8), (5, 8, 3, 2, 2),
    (9, 9, 3, 2, 0), (6, 5, 3, 1, 5), (10, 10, 4, 3, 3),
])
def test_maxpool_matches_darknet(h: int, w: int, size: int, stride: int, padding: int) -> None:
    x = torch.randn(2, h, w) - 3  # mostly negative: zero padding would show up
    got = MaxPool(size, stride, padding)(x.unsqueeze(0))[0]
    ref = darknet_maxpool(x.numpy(), size, stride, padding)
    assert got.shape == ref.shape
    np.testing.assert_array_equal(got.numpy(), ref)


def test_yolo_layer_matches_the_darknet_formulas() -> None:
    anchors, classes, h, w, input_hw = [(10.0, 14.0), (23.0, 27.0)], 3, 2, 3, (64, 96)
    x = torch.randn(1, 2 * (5 + classes), h, w)
    out = YoloLayer(anchors, classes)(x, input_hw)[0]
    sig = torch.sigmoid
    row = 0
    for i in range(h):
        for j in range(w):
            for a, (aw, ah) in enumerate(anchors):
                t = x[0, a * (5 + classes):(a + 1) * (5 + classes), i, j]
                expect = [(j + sig(t[0])) / w * input_hw[1], (i + sig(t[1])) / h * input_hw[0],
                          math.exp(t[2]) * aw, math.exp(t[3]) * ah, sig(t[4])]
                expect += [sig(t[4]) * sig(t[5 + c]) for c in range(classes)]
                torch.testing.assert_close(out[row], torch.tensor([float(v) for v in expect]), rtol=1e-5, atol=1e-6)
                row += 1


def test_route_groups_take_one_channel_group() -> None:
    a, b = torch.arange(8.0).view(1, 4, 1, 2), torch.arange(8.0, 16.0).view(1, 4, 1, 2)
    out = Route([0, 1], groups=2, group_id=1)([a, b])
    assert torch.equal(out, torch.cat([a[:, 2:], b[:, 2:]], 1))


# ---------------------------------------------------------------- decoding and NMS

def raw_rows(rows: list[list[float]], classes: int = 80) -> torch.Tensor:
    out = torch.zeros(1, len(rows), 5 + classes)
    for i, (cx, cy, w, h, obj, *scores) in enumerate(rows):
        out[0, i, :5] = torch.tensor([cx, cy, w, h, obj])
        for c, s in zip(scores[0::2], scores[1::2]):
            out[0, i, 5 + int(c)] = s
    return out


@pytest.fixture(scope="module")
def detector() -> YoloDetector:
    return zoo.build("yolov3-tiny", device="meta")


def test_classwise_nms_and_multi_label(detector: YoloDetector) -> None:
    meta = ImageMeta((416, 416), (416, 416))
    raw = raw_rows([
        [100, 100, 50, 50, 0.95, 0, 0.9],                 # person 0.9
        [104, 100, 50, 50, 0.9, 0, 0.8, 16, 0.7],         # overlaps: person suppressed, dog 0.7 kept (other class)
        [300, 300, 40, 80, 0.6, 2, 0.5, 7, 0.3],           # two labels on one box (Darknet draws both)
        [300, 300, 40, 80, 0.2, 2, 0.2],                   # objectness below conf: nothing
        [200, 50, 20, 20, 0.26, 5, 0.25],                  # exactly at conf: Darknet keeps only prob > thresh
    ])
    dets = detector.postprocess(raw, [meta], conf=0.25)[0].detections
    got = [(d.label, round(d.score, 3)) for d in dets]
    assert got == [("person", 0.9), ("dog", 0.7), ("car", 0.5), ("truck", 0.3)]
    assert dets[0].box == pytest.approx([75, 75, 125, 125])
    assert [d.label for d in detector.postprocess(raw, [meta], conf=0.25, iou=0.99)[0].detections].count("person") == 2


def test_letterbox_boxes_map_back_to_the_image(detector: YoloDetector) -> None:
    # a 200x400 (h x w) image letterboxed into 416x416: scale 1.04, 104 px of gray above and below
    meta = ImageMeta((200, 400), (416, 416), (208 / 200, 416 / 400), (104.0, 0.0))
    raw = raw_rows([[208, 208, 104, 52, 0.9, 0, 0.9], [5, 110, 40, 20, 0.9, 1, 0.9]])
    dets = detector.postprocess(raw, [meta], conf=0.5)[0].detections
    assert dets[0].box == pytest.approx([150, 75, 250, 125])
    assert dets[1].box == pytest.approx([0, 0, 25 / 1.04, 16 / 1.04])  # clipped at the image border


def test_letterbox_preprocess_is_darknets() -> None:
    model = zoo.build("yolov3-tiny")
    batch, metas = model.preprocess(np.full((100, 200, 3), 255, np.uint8), size=(64, 64))
    assert metas[0].pad == (16.0, 0.0) and metas[0].scale == (32 / 100, 64 / 200)
    top = batch[0, :, :16].cpu()
    assert torch.allclose(top, torch.full_like(top, 0.5))  # Darknet's gray fill
    assert torch.allclose(batch[0, :, 16:48].cpu(), torch.ones(3, 32, 64))


def test_fuse_conv_bn_keeps_the_outputs() -> None:
    torch.manual_seed(0)
    model = trained_like_bn(zoo.build("yolov3-tiny"))
    x = torch.rand(1, 3, 96, 96)
    with torch.no_grad():
        before = model(x)
        report = fuse_conv_bn(model, x)
        after = model(x)
    assert len(report.folded) == 11 and not report.skipped
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-5)


def test_pre_nms_topk_caps_candidates_and_maps_indices_back() -> None:
    from zoo.ops.boxes import classwise_nms

    g = torch.Generator().manual_seed(0)
    xy = torch.rand(500, 2, generator=g) * 300
    boxes = torch.cat([xy, xy + 20 + torch.rand(500, 2, generator=g) * 60], 1)
    scores, cls = torch.rand(500, generator=g), torch.randint(0, 3, (500,), generator=g)
    full = classwise_nms(boxes, scores, cls, 0.45, max_det=1000)
    assert torch.equal(classwise_nms(boxes, scores, cls, 0.45, max_det=1000, pre_nms_topk=500), full)
    capped = classwise_nms(boxes, scores, cls, 0.45, max_det=1000, pre_nms_topk=50)
    top = scores.topk(50).indices
    assert set(capped.tolist()) <= set(top.tolist())
    assert torch.equal(capped, top[classwise_nms(boxes[top], scores[top], cls[top], 0.45, max_det=1000)])


def test_random_weights_postprocess_stays_bounded() -> None:
    """Random yolov3-tiny weights pass most (row, class) pairs; the pre-NMS cap keeps NMS cheap and the output capped."""
    torch.manual_seed(0)
    model = zoo.build("yolov3-tiny")
    with torch.no_grad():
        raw = model(torch.rand(1, 3, 320, 320))
    assert int((raw[0, :, 5:] > 0.1).sum()) > 30_000  # more candidates than the cap
    dets = model.postprocess(raw, [ImageMeta((320, 320), (320, 320))], conf=0.1)[0].detections
    assert len(dets) == 300
