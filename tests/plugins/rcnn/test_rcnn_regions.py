"""R-CNN / Fast R-CNN parts: selective-search proposals and their cache, the shared region ops, the two
pipelines end to end on a real image, and weight composition from other models' weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.models.detection._utils import BoxCoder

import zoo
import zoo.ops.proposals as proposals_mod
from zoo.categories import categories
from zoo.errors import WeightsNotFoundError
from zoo.images import load_image
from zoo.ops.proposals import ProposalParams, get_proposals
from zoo.ops.regions import decode_boxes, encode_boxes, fpn_levels, per_class_detections, warp_crops
from zoo.weights import save_safetensors

SMALL_PROPS = ProposalParams(max_side=160, max_proposals=40)


def test_proposals_format_cache_and_determinism(images: list[Path], zoo_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    image = load_image(images[0])
    h, w = image.shape[:2]
    first = get_proposals(image, SMALL_PROPS)
    b = first.boxes
    assert not first.cached and b.dtype == np.float32 and b.ndim == 2 and b.shape[1] == 4
    assert 0 < len(b) <= SMALL_PROPS.max_proposals
    assert (b[:, 2] > b[:, 0]).all() and (b[:, 3] > b[:, 1]).all()
    assert (b[:, [0, 2]] >= 0).all() and (b[:, [0, 2]] <= w).all() and (b[:, [1, 3]] <= h).all()
    assert len(np.unique(b, axis=0)) == len(b)
    assert list((zoo_home / "proposals").rglob("*.npy")) == [zoo_home / "proposals" / first.key[:2] / f"{first.key}.npy"]

    def boom(*a: object, **k: object) -> None:
        raise AssertionError("selective search ran although the proposals are cached")

    with monkeypatch.context() as m:
        m.setattr(proposals_mod, "selective_search", boom)
        again = get_proposals(image, SMALL_PROPS)
    assert again.cached and np.array_equal(again.boxes, b)
    # OpenCV ranks regions randomly; the zoo's proposals are still a function of image and parameters
    assert np.array_equal(get_proposals(image, SMALL_PROPS, use_cache=False).boxes, b)
    other = get_proposals(image, ProposalParams(max_side=160, max_proposals=10))
    assert not other.cached and other.key != first.key and len(other.boxes) == 10


def test_box_coder_round_trip_and_torchvision_decode() -> None:
    g = torch.Generator().manual_seed(0)
    props = torch.rand(50, 2, generator=g) * 100
    props = torch.cat([props, props + 5 + torch.rand(50, 2, generator=g) * 80], 1)
    targets = props + torch.randn(50, 4, generator=g) * 3
    for weights in ((1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0)):
        deltas = encode_boxes(targets, props, weights)
        torch.testing.assert_close(decode_boxes(deltas, props, weights)[:, 0], targets, atol=1e-3, rtol=0)
    deltas = torch.randn(50, 8, generator=g)
    ours = decode_boxes(deltas, props, (10.0, 10.0, 5.0, 5.0))
    ref = BoxCoder((10.0, 10.0, 5.0, 5.0)).decode(deltas, [props])
    torch.testing.assert_close(ours, ref.view(50, 2, 4))


def test_warp_crops_context_and_identity() -> None:
    img = torch.arange(3 * 40 * 60, dtype=torch.float32).view(1, 3, 40, 60)
    # a box of the crop's own size and no context is the region itself, pixel for pixel
    box = torch.tensor([[10.0, 5.0, 42.0, 37.0]])
    torch.testing.assert_close(warp_crops(img, box, size=32, context=0)[0], img[0, :, 5:37, 10:42])
    # with context p the box fills the central size-2p pixels: same region, sampled at the inner scale
    crop = warp_crops(img, torch.tensor([[14.0, 9.0, 38.0, 33.0]]), size=32, context=4)
    torch.testing.assert_close(crop[0], img[0, :, 5:37, 10:42])
    out = warp_crops(img, torch.tensor([[-30.0, -30.0, -10.0, -10.0]]), size=8, context=0)
    assert out.abs().sum() == 0  # outside the image: zeros (the mean, once normalised)


def test_fpn_levels() -> None:
    boxes = torch.tensor([[0, 0, 224, 224], [0, 0, 112, 112], [0, 0, 8, 8], [0, 0, 2000, 2000], [0, 0, 448, 448.0]])
    assert fpn_levels(boxes).tolist() == [2, 1, 0, 3, 3]


def test_per_class_detections_thresholds_and_nms() -> None:
    props = torch.tensor([[10, 10, 50, 50], [12, 12, 52, 52], [100, 100, 140, 160.0]])
    logits = torch.full((3, 4), -10.0)
    logits[0, 2] = 10  # class 2, best
    logits[1, 2] = 9  # class 2, overlaps box 0: suppressed
    logits[2, 3] = 10  # class 3
    dets = per_class_detections(props, logits, torch.zeros(3, 16), (200, 200), nms_thresh=0.5)
    assert dets["labels"].tolist() == [2, 3]
    torch.testing.assert_close(dets["boxes"], props[[0, 2]])
    assert (dets["scores"] > 0.99).all()
    none = per_class_detections(props, torch.zeros(3, 4), torch.zeros(3, 16), (200, 200), score_thresh=0.5)
    assert none["boxes"].shape == (0, 4)
    empty = per_class_detections(torch.zeros(0, 4), torch.zeros(0, 4), torch.zeros(0, 16), (200, 200))
    assert empty["boxes"].shape == (0, 4) and empty["labels"].numel() == 0


@pytest.mark.parametrize("name,opts", [
    ("rcnn", {"chunk": 16}),
    ("fast-rcnn", {"min_size": 160, "max_size": 224}),
    ("fast-rcnn-vgg16", {"min_size": 160, "max_size": 224}),
])
def test_pipeline_end_to_end_on_real_image(name: str, opts: dict, images: list[Path], zoo_home: Path) -> None:
    torch.manual_seed(0)
    model = zoo.load(name, pretrained=False, proposal_max_side=160, max_proposals=24, score_thresh=0.0, **opts)
    path = str(images[0])
    h, w = load_image(path).shape[:2]
    result = model.predict(path, conf=0.0)
    assert result.image_size == (h, w) and result.source == path
    assert 0 < len(result.detections) <= 100
    labels = categories("coco91")
    for d in result.detections:
        x1, y1, x2, y2 = d.box
        assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
        assert 1 <= d.class_id <= 90 and d.label == labels[d.class_id] and 0 <= d.score <= 1
    assert [d.score for d in result.detections] == sorted((d.score for d in result.detections), reverse=True)
    assert len(list((zoo_home / "proposals").rglob("*.npy"))) == 1  # computed once, then cached
    assert model.predict(path, conf=0.0).to_json() == result.to_json()
    (batch,) = model.example_inputs(1, (96, 128))  # what the benchmark harness feeds forward
    out = model(batch)
    assert len(out) == 1 and out[0]["boxes"].shape[1] == 4


def test_compose_fast_rcnn_from_faster_rcnn(tmp_path: Path, zoo_home: Path) -> None:
    from zoo_rcnn.compose import compose_weights

    torch.manual_seed(3)
    faster = zoo.build("faster-rcnn-r50-fpn").net.state_dict()
    src = tmp_path / "faster.safetensors"
    save_safetensors(faster, src)
    state, report = compose_weights("fast-rcnn", sources={"faster-rcnn-r50-fpn": src})
    assert report.tag == "from-faster-rcnn" and report.random == []
    for key, value in state.items():
        source_key = key.replace("box_head.", "roi_heads.box_head.").replace("box_predictor.", "roi_heads.box_predictor.")
        assert torch.equal(value, faster[source_key]), key
    assert report.copied["faster-rcnn-r50-fpn"] == len(state) < len(faster)  # the RPN is left out
    model = zoo.load("fast-rcnn")  # the composed weights are now the cached default weights
    assert model.weights_source == "fast-rcnn.from-faster-rcnn"
    assert torch.equal(model.net.box_predictor.cls_score.weight, faster["roi_heads.box_predictor.cls_score.weight"])


def test_compose_rcnn_from_imagenet_alexnet(tmp_path: Path) -> None:
    from zoo_rcnn.compose import compose_weights

    torch.manual_seed(4)
    alex = zoo.build("alexnet").net.state_dict()
    src = tmp_path / "alexnet.safetensors"
    save_safetensors(alex, src)
    state, report = compose_weights("rcnn", sources={"alexnet": src}, save=False)
    assert torch.equal(state["fc6.weight"], alex["classifier.1.weight"])
    assert torch.equal(state["fc7.bias"], alex["classifier.4.bias"])
    assert torch.equal(state["features.0.weight"], alex["features.0.weight"])
    assert sorted(report.random) == ["bbox_pred.bias", "bbox_pred.weight", "cls_score.bias", "cls_score.weight"]


def test_compose_without_cached_sources_says_what_to_download() -> None:
    from zoo_rcnn.compose import compose_weights

    with pytest.raises(WeightsNotFoundError, match="zoo download vgg16"):
        compose_weights("fast-rcnn-vgg16")
    with pytest.raises(WeightsNotFoundError, match="no pretrained weights|not published"):
        zoo.load("rcnn")
