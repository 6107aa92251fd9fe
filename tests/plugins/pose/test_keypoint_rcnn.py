"""Keypoint R-CNN through the zoo gives what torchvision's own builder gives with the same (random) weights,
for both torchvision variants (COCO_V1: frozen-BN eps 0; COCO_LEGACY: eps 1e-5), and torchvision's .pth
layout imports through the core's converter, with the pose plugin loaded alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.models.detection as tvd
from clikit import scene
from PIL import Image
from torchvision.models._api import WeightsEnum
from torchvision.ops.misc import FrozenBatchNorm2d

import zoo
from zoo.api import expected_state
from zoo.errors import ConversionError
from zoo.tasks.keypoints import KeypointResult
from zoo.weights import save_safetensors
from zoo_pose.keypoint_rcnn import TORCHVISION_BUILDER

SMALL = {"min_size": 160, "max_size": 224, "box_detections_per_img": 3, "rpn_pre_nms_top_n_test": 200,
         "rpn_post_nms_top_n_test": 100}
NAMES = {"keypoint-rcnn-r50-fpn": "v1", "keypoint-rcnn-r50-fpn-legacy": "legacy"}


@pytest.fixture(scope="module")
def weights() -> dict[str, torch.Tensor]:
    """The zoo's random init with a person-biased classifier, so persons clear torchvision's 0.05 threshold."""
    torch.manual_seed(0)
    state = {k: v.clone() for k, v in zoo.build("keypoint-rcnn-r50-fpn", **SMALL).net.state_dict().items()}
    state["roi_heads.box_predictor.cls_score.bias"][1] += 4.0  # person over background for many regions
    return state


@pytest.mark.parametrize("name", sorted(NAMES))
def test_zoo_matches_torchvision_called_directly(name: str, weights: dict[str, torch.Tensor], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    image = scene(tmp_path / "scene.png")
    path = tmp_path / "w.safetensors"
    save_safetensors(weights, path)
    ours = zoo.load(name, weights=path, **SMALL).predict(str(image), conf=0.0)
    assert isinstance(ours, KeypointResult)

    builder, enum_name, members = TORCHVISION_BUILDER
    enum = getattr(tvd, enum_name)
    monkeypatch.setattr(WeightsEnum, "get_state_dict", lambda self, *a, **k: dict(weights))
    ref_model = getattr(tvd, builder)(weights=getattr(enum, members[NAMES[name]]), **SMALL).eval()
    eps = {m.eps for m in ref_model.modules() if isinstance(m, FrozenBatchNorm2d)}
    assert eps == ({0.0} if NAMES[name] == "v1" else {1e-5})
    with torch.inference_mode():
        ref = ref_model([enum.COCO_V1.transforms()(Image.open(image).convert("RGB"))])[0]

    assert len(ours.people) == len(ref["boxes"]) > 0
    torch.testing.assert_close(torch.tensor([p.box for p in ours.people]), ref["boxes"], atol=1e-4, rtol=0)
    torch.testing.assert_close(torch.tensor([p.score for p in ours.people]), ref["scores"], atol=1e-6, rtol=0)
    kps = torch.from_numpy(np.stack([p.keypoints for p in ours.people]))
    torch.testing.assert_close(kps[..., :2], ref["keypoints"][..., :2], atol=1e-3, rtol=0)
    torch.testing.assert_close(kps[..., 2], ref["keypoints_scores"], atol=1e-4, rtol=1e-5)


def test_variants_differ_only_in_frozen_bn_eps() -> None:
    v1, legacy = (zoo.build(n, device="meta", **SMALL).net for n in sorted(NAMES))  # shapes and attributes only
    assert {m.eps for m in v1.modules() if isinstance(m, FrozenBatchNorm2d)} == {0.0}
    assert {m.eps for m in legacy.modules() if isinstance(m, FrozenBatchNorm2d)} == {1e-5}
    assert {k: v.shape for k, v in v1.state_dict().items()} == {k: v.shape for k, v in legacy.state_dict().items()}


def test_torchvision_pth_imports_and_bad_key_is_named(weights: dict[str, torch.Tensor], tmp_path: Path) -> None:
    from zoo.convert import convert_any

    spec = zoo.get_spec("keypoint-rcnn-r50-fpn")
    pth = tmp_path / "keypointrcnn_resnet50_fpn_coco-00000000.pth"
    torch.save(weights, pth)
    state, fmt = convert_any(spec, spec.default_weights(), pth, expected=expected_state(spec))
    assert fmt == "pytorch-torchvision-detection" and set(state) == set(weights)
    bad = dict(weights)
    bad["roi_heads.keypoint_predictor.kps_score_lowres.weightX"] = bad.pop("roi_heads.keypoint_predictor.kps_score_lowres.weight")
    torch.save(bad, pth)
    with pytest.raises(ConversionError, match="kps_score_lowres.weight"):
        convert_any(spec, spec.default_weights(), pth, expected=expected_state(spec))


def test_keypoint_rcnn_loads_with_the_pose_plugin_alone() -> None:
    """ZOO_LOAD_PLUGINS=pose: Keypoint R-CNN builds, predicts and has its converter without the rcnn family."""
    import os
    import subprocess
    import sys

    script = (
        "import sys, numpy as np, zoo\n"
        "from zoo.plugin_manager import default_registry, plugin_report\n"
        "assert 'faster-rcnn-r50-fpn' not in zoo.list_models(), 'rcnn family loaded'\n"
        "assert all(p.ok for p in plugin_report()), [p.errors for p in plugin_report()]\n"
        "assert default_registry().converter('pytorch-torchvision-detection') is not None\n"
        "m = zoo.build('keypoint-rcnn-r50-fpn', min_size=64, max_size=64, rpn_pre_nms_top_n_test=50,"
        " rpn_post_nms_top_n_test=20)\n"
        "res = m.predict(np.zeros((48, 64, 3), np.uint8))\n"
        "assert type(res).__name__ == 'KeypointResult', type(res)\n"
        "bad = sorted(k for k in sys.modules if k.split('.')[0] == 'zoo_rcnn')\n"
        "assert not bad, bad\n"
        "print('ok')\n")
    env = {**os.environ, "ZOO_LOAD_PLUGINS": "pose", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
