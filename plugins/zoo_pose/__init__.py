"""Built-in family "pose": Keypoint R-CNN (top-down, torchvision) and OpenPose (bottom-up, CMU COCO-18 body
model with part-affinity-field grouping), both giving the shared COCO-17 keypoint results. Hooks only: nothing
here imports torch (builders and converters load lazily)."""

from __future__ import annotations

from typing import Any

from zoo.hookspecs import hookimpl


@hookimpl
def zoo_register_models(register: Any) -> None:
    from zoo.tasks.coco_keypoints import COCO_KEYPOINTS, COCO_SKELETON, LABEL_SET

    register.labels(LABEL_SET, ["person"], keypoints=list(COCO_KEYPOINTS), skeleton=[list(e) for e in COCO_SKELETON])
    register.builtin(family="pose", builder="zoo_pose.models:build")


@hookimpl
def zoo_register_converters(register: Any) -> None:
    # Keypoint R-CNN's torchvision .pth goes through the core's "pytorch-torchvision-detection" reader.
    register("pytorch-openpose-body", "zoo_pose.convert:from_openpose_body_pth")
