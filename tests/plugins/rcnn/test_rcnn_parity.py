"""Parity: each torchvision-backed R-CNN model through the zoo gives what torchvision's own builder gives
with the same weights. The reference is torchvision's pretrained code path (frozen BN, eps overrides, key
loading) with its checkpoint download swapped for our random weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.models.detection as tvd
from clikit import scene
from PIL import Image
from torchvision.models._api import WeightsEnum

import zoo
from zoo.convert.torchvision_detection import torchvision_detection_keys
from zoo.weights import save_safetensors
from zoo_rcnn.tv import TORCHVISION_BUILDERS

SMALL = {"min_size": 160, "max_size": 224}


def random_weights(name: str) -> dict[str, torch.Tensor]:
    """The zoo's random init, with a sharpened classifier so detections clear torchvision's 0.05 threshold."""
    torch.manual_seed(0)
    state = {k: v.clone() for k, v in zoo.build(name, **SMALL).net.state_dict().items()}
    state["roi_heads.box_predictor.cls_score.weight"] *= 300.0
    return state


def torchvision_direct(name: str, state: dict[str, torch.Tensor], monkeypatch: pytest.MonkeyPatch) -> torch.nn.Module:
    builder, enum_name = TORCHVISION_BUILDERS[name]
    weights = getattr(tvd, enum_name).COCO_V1
    monkeypatch.setattr(WeightsEnum, "get_state_dict", lambda self, *a, **k: dict(state))
    return getattr(tvd, builder)(weights=weights, **SMALL).eval()


@pytest.mark.parametrize("name", sorted(TORCHVISION_BUILDERS))
def test_zoo_matches_torchvision_called_directly(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    image = scene(tmp_path / "scene.png")
    state = random_weights(name)
    path = tmp_path / "w.safetensors"
    save_safetensors(state, path)

    model = zoo.load(name, weights=path, **SMALL)
    ours = model.predict(str(image), conf=0.0)

    ref_model = torchvision_direct(name, state, monkeypatch)
    transform = getattr(tvd, TORCHVISION_BUILDERS[name][1]).COCO_V1.transforms()
    with torch.inference_mode():
        ref = ref_model([transform(Image.open(image).convert("RGB"))])[0]

    assert len(ours.detections) == len(ref["boxes"]) > 0
    assert [d.class_id for d in ours.detections] == ref["labels"].tolist()
    torch.testing.assert_close(torch.tensor([d.box for d in ours.detections]), ref["boxes"], atol=1e-4, rtol=0)
    torch.testing.assert_close(torch.tensor([d.score for d in ours.detections]), ref["scores"], atol=1e-6, rtol=0)
    names = zoo.get_spec(name).categories
    assert names == "coco91" and all(d.label != "__background__" for d in ours.detections)
    if "masks" in ref:
        assert all(d.mask is not None and d.mask.shape == (120, 168) for d in ours.detections)
        want = (ref["masks"][:, 0] > 0.5).numpy()
        got = np.stack([d.mask for d in ours.detections])
        assert (got != want).mean() < 1e-4  # bit-identical up to probabilities sitting exactly at 0.5
        assert got.any()


def test_torchvision_pth_converts_with_old_mask_head_keys(tmp_path: Path) -> None:
    """A 2019-style Mask R-CNN .pth (mask_fcnN keys, no BN counters) converts to the zoo's layout."""
    torch.manual_seed(1)
    state = zoo.build("mask-rcnn-r50-fpn").net.state_dict()
    old = {}
    for k, v in state.items():
        if ".mask_head." in k:
            block = int(k.split(".mask_head.")[1].split(".")[0])
            k = k.split(".mask_head.")[0] + f".mask_head.mask_fcn{block + 1}." + k.rsplit(".", 1)[1]
        old[k] = v
    old["backbone.body.bn1.num_batches_tracked"] = torch.tensor(5)
    pth = tmp_path / "maskrcnn_resnet50_fpn_coco.pth"
    torch.save(old, pth)
    converted = torchvision_detection_keys(torch.load(pth, weights_only=True), set(state))
    assert set(converted) == set(state)
    model = zoo.load("mask-rcnn-r50-fpn", weights=pth)
    for k, v in model.net.state_dict().items():
        assert torch.equal(v, state[k]), k


def test_coco91_labels_match_torchvision() -> None:
    from zoo.categories import categories

    assert list(categories("coco91")) == list(tvd.FasterRCNN_ResNet50_FPN_Weights.COCO_V1.meta["categories"])
