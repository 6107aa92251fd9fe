"""The torchvision detection plumbing Faster, Mask and Keypoint R-CNN share (the rcnn and pose families both build
on it, so each family loads alone): the frozen-BN ResNet-50-FPN backbone torchvision's pretrained v1 builders use,
and the ZooModel base for networks that take a list of CHW [0, 1] images of any size and resize/normalise
themselves (GeneralizedRCNNTransform), returning torchvision-style dicts with boxes in image pixels.
Their .pth checkpoints are read by the core's "pytorch-torchvision-detection" converter (zoo.convert.torchvision_detection)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from zoo.images import load_image
from zoo.model import as_image_list, square_size, with_source
from zoo.ops.resize import ImageMeta
from zoo.tasks.detection import DetectionResult, Detector, results_from_outputs


def r50_fpn_v1_backbone() -> nn.Module:
    """ResNet-50-FPN with frozen BN, three trainable stages: torchvision's pretrained v1 configuration (its builders
    switch to FrozenBatchNorm2d only when weights are requested; we mirror them with weights=None, no download)."""
    from torchvision.models import resnet50
    from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
    from torchvision.ops.misc import FrozenBatchNorm2d

    return _resnet_fpn_extractor(resnet50(weights=None, norm_layer=FrozenBatchNorm2d), 3)


def _to_tensor(arr: np.ndarray, device: torch.device) -> torch.Tensor:
    """HWC uint8 -> CHW float in [0, 1] (what torchvision's detection transforms expect; /255 like its own)."""
    return torch.from_numpy(arr).permute(2, 0, 1).float().div(255).to(device)


class ImageListDetector(Detector):
    """Detectors whose net takes a list of CHW [0, 1] images of any size and resizes/normalises itself
    (GeneralizedRCNNTransform), returning torchvision-style dicts with boxes already in image pixels."""

    def read(self, images: Any) -> tuple[list[np.ndarray], list[torch.Tensor], list[ImageMeta]]:
        """Images -> (RGB arrays, CHW float tensors in [0, 1] on the model's device, metas)."""
        items = as_image_list(images)
        arrays = [load_image(item) for item in items]
        metas = [with_source(ImageMeta(a.shape[:2], a.shape[:2]), item) for a, item in zip(arrays, items)]
        return arrays, [_to_tensor(a, self.device) for a in arrays], metas

    def preprocess(self, images: Any) -> tuple[Any, list[ImageMeta]]:
        """Images -> (list of CHW float tensors in [0, 1], metas); `resize`/`size` do not apply (own transform)."""
        _, tensors, metas = self.read(images)
        return tensors, metas

    def postprocess(self, raw: list[dict[str, torch.Tensor]], metas: list[ImageMeta], conf: float | None = None,
                    mask_threshold: float = 0.5) -> list[DetectionResult]:
        """Keep detections scoring >= conf; Mask R-CNN's soft masks become bool HxW masks (> mask_threshold)."""
        return results_from_outputs(raw, metas, self.spec.categories, self.default_conf if conf is None else conf,
                                    mask_threshold)

    def example_inputs(self, batch_size: int = 1, input_size: int | tuple[int, int] | None = None) -> tuple[Any, ...]:
        """A list of random CHW images (what torchvision's detectors take)."""
        h, w = square_size(input_size) if input_size is not None else self.input_size
        gen = torch.Generator().manual_seed(0)
        return ([torch.rand(3, h, w, generator=gen).to(self.device) for _ in range(batch_size)],)


class TorchvisionDetector(ImageListDetector):
    """Faster / Mask / Keypoint R-CNN: torchvision's networks with the zoo's pre/post-processing around them."""

    # torchvision computes anchors and transform constants in __init__ as plain tensors, not buffers
    supports_meta_init = False
