"""Keypoint R-CNN (ResNet-50-FPN), built exactly as torchvision builds it for its COCO weights.

torchvision's `keypointrcnn_resnet50_fpn` switches the backbone to FrozenBatchNorm2d only when weights are
requested, and sets its eps to 0 for COCO_V1 but not for COCO_LEGACY. The backbone and the image-list reading come
from the core's zoo.tasks.torchvision_detection (the R-CNN family uses the same), so this family loads without the
R-CNN one; the state_dict layout is torchvision's, and its .pth files are read by the core's
"pytorch-torchvision-detection" converter.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torchvision.models.detection import KeypointRCNN
from torchvision.models.detection._utils import overwrite_eps

from zoo.errors import SpecError
from zoo.ops.resize import ImageMeta
from zoo.tasks.keypoints import NUM_KEYPOINTS, KeypointModel, KeypointResult, Person
from zoo.tasks.torchvision_detection import TorchvisionDetector, r50_fpn_v1_backbone

NUM_CLASSES = 2  # background + person (torchvision's _COCO_PERSON_CATEGORIES)
VARIANTS = {"v1": 0.0, "legacy": None}  # FrozenBatchNorm2d eps: COCO_V1 calls overwrite_eps(model, 0.0), legacy not
# torchvision's builder and weights enum, for parity tests and benchmarks
TORCHVISION_BUILDER = ("keypointrcnn_resnet50_fpn", "KeypointRCNN_ResNet50_FPN_Weights",
                       {"v1": "COCO_V1", "legacy": "COCO_LEGACY"})


def make_net(variant: str = "v1", **kwargs: Any) -> nn.Module:
    """The bare torchvision KeypointRCNN (random init); kwargs go to KeypointRCNN (min_size, max_size,
    box_score_thresh, box_nms_thresh, box_detections_per_img, rpn_* ...)."""
    if variant not in VARIANTS:
        raise SpecError(f"keypoint-rcnn variant must be one of {', '.join(VARIANTS)}, got '{variant}'")
    net = KeypointRCNN(r50_fpn_v1_backbone(), num_classes=NUM_CLASSES, num_keypoints=NUM_KEYPOINTS, **kwargs)
    eps = VARIANTS[variant]
    if eps is not None:
        overwrite_eps(net, eps)
    return net


class KeypointRCNNModel(KeypointModel, TorchvisionDetector):
    """torchvision's network with the shared image-list reading (list of CHW [0, 1] tensors, any size) and
    keypoint results: person boxes and scores, 17 joints with torchvision's joint scores (heatmap logits)."""

    default_conf = 0.5  # display default for person scores; `zoo eval` passes its own (0.001)
    joint_threshold = 0.0  # joint scores are heatmap logits: at or below 0 the joint is drawn as missing

    def postprocess(self, raw: list[dict[str, torch.Tensor]], metas: list[ImageMeta], conf: float | None = None) -> list[KeypointResult]:
        conf = self.default_conf if conf is None else float(conf)
        results = []
        for out, meta in zip(raw, metas):
            keep = (out["scores"] >= conf) & (out["labels"] == 1)
            boxes = out["boxes"][keep].float().cpu()
            scores = out["scores"][keep].float().cpu()
            kps = out["keypoints"][keep].float().cpu()
            kps[..., 2] = out["keypoints_scores"][keep].float().cpu()
            people = [Person(k.numpy(), float(s), b.tolist()) for b, s, k in zip(boxes, scores, kps)]
            results.append(KeypointResult(meta.source, meta.orig_size, people, self.joint_threshold))
        return results
