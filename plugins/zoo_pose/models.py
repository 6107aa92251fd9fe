"""The builder every registry row of family "pose" points at (dispatches on spec.arch)."""

from __future__ import annotations

from typing import Any

from zoo.errors import SpecError
from zoo.model import ZooModel
from zoo.spec import ModelSpec

ARCHS = ("keypoint-rcnn-r50-fpn", "openpose-body")


def build(spec: ModelSpec, **options: Any) -> ZooModel:
    """Keypoint R-CNN options go to torchvision's KeypointRCNN (min_size, max_size, box_* ...) plus `variant`
    (v1 | legacy); OpenPose options: `final_relu` (see zoo_pose.openpose)."""
    arch = spec.arch
    if arch == "keypoint-rcnn-r50-fpn":
        from zoo_pose.keypoint_rcnn import KeypointRCNNModel, make_net

        return KeypointRCNNModel(spec, make_net(**options))
    if arch == "openpose-body":
        from zoo_pose.openpose import OpenPoseModel
        from zoo_pose.openpose_net import OpenPoseBody

        return OpenPoseModel(spec, OpenPoseBody(**options))
    raise SpecError(f"zoo_pose has no architecture '{arch}' (known: {', '.join(ARCHS)})")
