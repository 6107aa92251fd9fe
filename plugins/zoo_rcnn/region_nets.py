"""R-CNN and Fast R-CNN as their papers describe them, from shared parts (zoo.ops.regions, zoo.ops.proposals).

R-CNN (Girshick et al. 2014): each selective-search proposal is dilated so that 16 pixels of context
surround it at the warped size, warped to 227x227 (224 for VGG16), and run through the whole CNN; fc7
features give per-class scores and pool5 features give class-specific box regression. The paper scored
fc7 features with per-class linear SVMs; we use a softmax layer over fc7 instead (what Fast R-CNN showed
works as well, and what the R-CNN code base later shipped), so both models share one scoring path.

Fast R-CNN (Girshick 2015): one CNN pass over the whole image, RoIPool 7x7 of each proposal from the
feature map, fc6/fc7, then sibling softmax and class-specific box-regression layers, per-class NMS.
Two backbones: "vgg16" (the paper's: conv5_3 at stride 16, fc6/fc7 from ImageNet VGG16, shorter side 600)
and "r50-fpn" (torchvision Faster R-CNN's ResNet-50-FPN body and TwoMLPHead, RoIPool on the FPN level
each box's size selects), so that Fast vs Faster R-CNN differ only in where the proposals come from.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import alexnet, vgg16
from torchvision.models.detection._utils import overwrite_eps
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.transform import GeneralizedRCNNTransform, resize_boxes

from zoo.errors import SpecError
from zoo.ops.regions import per_class_detections, roi_pool_levels, warp_crops

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class FastRCNNNet(nn.Module):
    """Fast R-CNN: forward({"images": [CHW in [0,1]], "proposals": [[N,4] xyxy image pixels]}) -> per-image
    dicts of boxes (image pixels), scores and labels."""

    def __init__(self, backbone: str = "r50-fpn", num_classes: int = 91, min_size: int | None = None,
                 max_size: int | None = None, score_thresh: float = 0.05, nms_thresh: float = 0.3,
                 max_det: int = 100):
        super().__init__()
        self.backbone_name = backbone
        if backbone == "r50-fpn":
            from zoo.tasks.torchvision_detection import r50_fpn_v1_backbone

            self.backbone = r50_fpn_v1_backbone()
            overwrite_eps(self.backbone, 0.0)  # the eps the faster-rcnn-r50-fpn COCO weights need
            self.levels = ("0", "1", "2", "3")
            self.scales = (1 / 4, 1 / 8, 1 / 16, 1 / 32)
            self.box_head = TwoMLPHead(256 * 7 * 7, 1024)
            self.box_predictor = FastRCNNPredictor(1024, num_classes)
            sizes = (800, 1333)
        elif backbone == "vgg16":
            self.backbone = vgg16(weights=None).features[:30]  # conv5_3 + ReLU; the last max-pool is RoIPool's job
            self.levels = ()
            self.scales = (1 / 16,)
            self.box_head = TwoMLPHead(512 * 7 * 7, 4096)  # fc6, fc7: VGG16's classifier.0 and .3
            self.box_predictor = FastRCNNPredictor(4096, num_classes)
            sizes = (600, 1000)
        else:
            raise SpecError(f"fast-rcnn backbone must be 'r50-fpn' or 'vgg16', got '{backbone}'")
        self.transform = GeneralizedRCNNTransform(min_size or sizes[0], max_size or sizes[1], IMAGENET_MEAN, IMAGENET_STD)
        self.score_thresh, self.nms_thresh, self.max_det = score_thresh, nms_thresh, max_det

    def forward(self, batch: dict[str, list[torch.Tensor]]) -> list[dict[str, torch.Tensor]]:
        images, proposals = list(batch["images"]), batch["proposals"]
        orig = [(int(im.shape[-2]), int(im.shape[-1])) for im in images]
        image_list, _ = self.transform(images)
        props = [resize_boxes(p.to(image_list.tensors.dtype), o, n) for p, o, n in zip(proposals, orig, image_list.image_sizes)]
        feats = self.backbone(image_list.tensors)
        maps = [feats[k] for k in self.levels] if isinstance(feats, dict) else [feats]
        pooled = roi_pool_levels(maps, self.scales, props, 7)
        logits, deltas = self.box_predictor(self.box_head(pooled))
        counts = [len(p) for p in props]
        dets = [per_class_detections(p, lg, dl, size, (10.0, 10.0, 5.0, 5.0), self.score_thresh, self.nms_thresh, self.max_det)
                for p, lg, dl, size in zip(props, logits.split(counts), deltas.split(counts), image_list.image_sizes)]
        return self.transform.postprocess(dets, image_list.image_sizes, orig)


class RCNNNet(nn.Module):
    """R-CNN: warped crops through the whole CNN, one batch of `chunk` regions at a time. Same call and
    output as FastRCNNNet (boxes in image pixels, no resizing)."""

    def __init__(self, backbone: str = "alexnet", num_classes: int = 91, crop_size: int | None = None,
                 context: int = 16, chunk: int = 128, score_thresh: float = 0.05, nms_thresh: float = 0.3,
                 max_det: int = 100):
        super().__init__()
        self.backbone_name = backbone
        if backbone == "alexnet":
            self.features = alexnet(weights=None).features  # pool5: 256 x 6 x 6 at a 227 crop
            pool5, default_crop = 256 * 6 * 6, 227
        elif backbone == "vgg16":
            self.features = vgg16(weights=None).features  # pool5: 512 x 7 x 7 at a 224 crop
            pool5, default_crop = 512 * 7 * 7, 224
        else:
            raise SpecError(f"rcnn backbone must be 'alexnet' or 'vgg16', got '{backbone}'")
        self.fc6 = nn.Linear(pool5, 4096)
        self.fc7 = nn.Linear(4096, 4096)
        self.cls_score = nn.Linear(4096, num_classes)  # softmax over fc7 (the paper: one linear SVM per class)
        self.bbox_pred = nn.Linear(pool5, num_classes * 4)  # class-specific regression from pool5, as in the paper
        for layer in (self.cls_score, self.bbox_pred):
            nn.init.normal_(layer.weight, std=0.01 if layer is self.cls_score else 0.001)
            nn.init.zeros_(layer.bias)
        self.crop_size, self.context, self.chunk = crop_size or default_crop, context, chunk
        self.score_thresh, self.nms_thresh, self.max_det = score_thresh, nms_thresh, max_det

    def forward(self, batch: dict[str, list[torch.Tensor]]) -> list[dict[str, torch.Tensor]]:
        out = []
        for image, props in zip(batch["images"], batch["proposals"]):
            mean = torch.tensor(IMAGENET_MEAN, dtype=image.dtype, device=image.device).view(3, 1, 1)
            std = torch.tensor(IMAGENET_STD, dtype=image.dtype, device=image.device).view(3, 1, 1)
            x = ((image - mean) / std)[None]
            props = props.to(image.dtype)
            scores, deltas = [], []
            for part in props.split(self.chunk):
                crops = warp_crops(x, part, self.crop_size, self.context)
                pool5 = torch.flatten(self.features(crops), 1)
                h = torch.relu(self.fc7(torch.relu(self.fc6(pool5))))
                scores.append(self.cls_score(h))
                deltas.append(self.bbox_pred(pool5))
            n_cls = self.cls_score.out_features
            logits = torch.cat(scores) if scores else image.new_zeros((0, n_cls))
            regs = torch.cat(deltas) if deltas else image.new_zeros((0, 4 * n_cls))
            out.append(per_class_detections(props, logits, regs, image.shape[-2:], (1.0, 1.0, 1.0, 1.0),
                                            self.score_thresh, self.nms_thresh, self.max_det))
        return out
