"""The torchvision-backed detectors, built exactly as torchvision builds them for its COCO weights.

torchvision's builders switch the backbone to FrozenBatchNorm2d (and, for the v1 ResNet-50 weights, set its
eps to 0) only when pretrained weights are requested, which would download them. We mirror those builders
with `weights=None` so the network - its modules, its state_dict keys and its arithmetic - is the one the
published COCO checkpoints were made for, with no download. The zoo's weights layout is torchvision's
state_dict layout (tests/plugins/rcnn/test_rcnn_parity.py checks this against torchvision's own builders).
"""

from __future__ import annotations

from typing import Any

from torch import nn
from torchvision.models import mobilenet_v3_large, resnet50
from torchvision.models.detection import FasterRCNN, MaskRCNN
from torchvision.models.detection._utils import overwrite_eps
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import _mobilenet_extractor, _resnet_fpn_extractor
from torchvision.models.detection.faster_rcnn import FastRCNNConvFCHead, RPNHead, _default_anchorgen
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads
from torchvision.ops.misc import FrozenBatchNorm2d

from zoo.errors import SpecError
from zoo.tasks.torchvision_detection import r50_fpn_v1_backbone

NUM_CLASSES = 91  # COCO's 90 category ids + background: the `coco91` label set


def _v2_parts(mask: bool) -> dict[str, Any]:
    backbone = _resnet_fpn_extractor(resnet50(weights=None), 3, norm_layer=nn.BatchNorm2d)
    anchors = _default_anchorgen()
    parts: dict[str, Any] = {
        "backbone": backbone,
        "rpn_anchor_generator": anchors,
        "rpn_head": RPNHead(backbone.out_channels, anchors.num_anchors_per_location()[0], conv_depth=2),
        "box_head": FastRCNNConvFCHead((backbone.out_channels, 7, 7), [256, 256, 256, 256], [1024],
                                       norm_layer=nn.BatchNorm2d),
    }
    if mask:
        parts["mask_head"] = MaskRCNNHeads(backbone.out_channels, [256, 256, 256, 256], 1, norm_layer=nn.BatchNorm2d)
    return parts


def make_net(arch: str, num_classes: int = NUM_CLASSES, **kwargs: Any) -> nn.Module:
    """The bare torchvision detector for `arch` (random init); kwargs go to FasterRCNN / MaskRCNN
    (min_size, max_size, box_score_thresh, box_nms_thresh, box_detections_per_img, rpn_* ...)."""
    if arch == "faster-rcnn-r50-fpn":
        net = FasterRCNN(r50_fpn_v1_backbone(), num_classes=num_classes, **kwargs)
        overwrite_eps(net, 0.0)  # torchvision does this for FasterRCNN_ResNet50_FPN_Weights.COCO_V1
        return net
    if arch == "mask-rcnn-r50-fpn":
        net = MaskRCNN(r50_fpn_v1_backbone(), num_classes=num_classes, **kwargs)
        overwrite_eps(net, 0.0)  # ... and for MaskRCNN_ResNet50_FPN_Weights.COCO_V1
        return net
    if arch == "faster-rcnn-r50-fpn-v2":
        parts = _v2_parts(mask=False)
        return FasterRCNN(parts.pop("backbone"), num_classes=num_classes, **parts, **kwargs)
    if arch == "mask-rcnn-r50-fpn-v2":
        parts = _v2_parts(mask=True)
        return MaskRCNN(parts.pop("backbone"), num_classes=num_classes, **parts, **kwargs)
    if arch == "faster-rcnn-mobilenet-v3-fpn":
        body = mobilenet_v3_large(weights=None, norm_layer=FrozenBatchNorm2d)
        backbone = _mobilenet_extractor(body, True, 3)
        anchor_sizes = ((32, 64, 128, 256, 512),) * 3
        anchors = AnchorGenerator(anchor_sizes, ((0.5, 1.0, 2.0),) * len(anchor_sizes))
        kwargs = {"rpn_score_thresh": 0.05, **kwargs}  # torchvision's default for this builder
        return FasterRCNN(backbone, num_classes, rpn_anchor_generator=anchors, **kwargs)
    raise SpecError(f"zoo_rcnn has no torchvision architecture '{arch}'")


# torchvision's own builder for each arch, for parity tests and benchmarks against "torchvision called directly"
TORCHVISION_BUILDERS = {
    "faster-rcnn-r50-fpn": ("fasterrcnn_resnet50_fpn", "FasterRCNN_ResNet50_FPN_Weights"),
    "faster-rcnn-r50-fpn-v2": ("fasterrcnn_resnet50_fpn_v2", "FasterRCNN_ResNet50_FPN_V2_Weights"),
    "faster-rcnn-mobilenet-v3-fpn": ("fasterrcnn_mobilenet_v3_large_fpn", "FasterRCNN_MobileNet_V3_Large_FPN_Weights"),
    "mask-rcnn-r50-fpn": ("maskrcnn_resnet50_fpn", "MaskRCNN_ResNet50_FPN_Weights"),
    "mask-rcnn-r50-fpn-v2": ("maskrcnn_resnet50_fpn_v2", "MaskRCNN_ResNet50_FPN_V2_Weights"),
}
