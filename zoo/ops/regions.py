"""Region-based detection numerics shared by the R-CNN line (and any family scoring boxes per region).

- `encode_boxes` / `decode_boxes`: the R-CNN box parametrisation (dx, dy, dw, dh), with the per-coordinate
  weights Fast/Faster R-CNN use (10, 10, 5, 5) or R-CNN's plain (1, 1, 1, 1).
- `warp_crops`: R-CNN's warped region crops with context padding, as one batched bilinear sampling.
- `fpn_levels` / `roi_pool_levels`: RoIPool over a feature pyramid, each box on the level its size picks.
- `per_class_detections`: softmax scores + class-specific boxes -> thresholded, per-class NMS'd detections.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torchvision.ops import roi_align, roi_pool

from zoo.ops.boxes import classwise_nms

BBOX_XFORM_CLIP = math.log(1000.0 / 16)  # largest dw/dh applied when decoding (Detectron, torchvision)


def encode_boxes(targets: torch.Tensor, proposals: torch.Tensor,
                 weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)) -> torch.Tensor:
    """Regression targets (dx, dy, dw, dh) that move `proposals` onto `targets` (both xyxy, [N, 4])."""
    wx, wy, ww, wh = weights
    pw = proposals[:, 2] - proposals[:, 0]
    ph = proposals[:, 3] - proposals[:, 1]
    px = proposals[:, 0] + 0.5 * pw
    py = proposals[:, 1] + 0.5 * ph
    gw = targets[:, 2] - targets[:, 0]
    gh = targets[:, 3] - targets[:, 1]
    gx = targets[:, 0] + 0.5 * gw
    gy = targets[:, 1] + 0.5 * gh
    return torch.stack([wx * (gx - px) / pw, wy * (gy - py) / ph, ww * torch.log(gw / pw), wh * torch.log(gh / ph)], 1)


def decode_boxes(deltas: torch.Tensor, proposals: torch.Tensor,
                 weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)) -> torch.Tensor:
    """Apply deltas [N, 4k] to proposals [N, 4] -> boxes [N, k, 4] (xyxy), torchvision's BoxCoder maths."""
    wx, wy, ww, wh = weights
    proposals = proposals.to(deltas.dtype)
    widths = proposals[:, 2] - proposals[:, 0]
    heights = proposals[:, 3] - proposals[:, 1]
    ctr_x = proposals[:, 0] + 0.5 * widths
    ctr_y = proposals[:, 1] + 0.5 * heights
    d = deltas.reshape(deltas.shape[0], deltas.shape[-1] // 4, 4)
    dx = d[..., 0] / wx
    dy = d[..., 1] / wy
    dw = (d[..., 2] / ww).clamp(max=BBOX_XFORM_CLIP)
    dh = (d[..., 3] / wh).clamp(max=BBOX_XFORM_CLIP)
    pred_ctr_x = dx * widths[:, None] + ctr_x[:, None]
    pred_ctr_y = dy * heights[:, None] + ctr_y[:, None]
    pred_w = torch.exp(dw) * widths[:, None]
    pred_h = torch.exp(dh) * heights[:, None]
    c_to_c_h = torch.tensor(0.5, dtype=pred_ctr_y.dtype, device=pred_h.device) * pred_h
    c_to_c_w = torch.tensor(0.5, dtype=pred_ctr_x.dtype, device=pred_w.device) * pred_w
    return torch.stack([pred_ctr_x - c_to_c_w, pred_ctr_y - c_to_c_h, pred_ctr_x + c_to_c_w, pred_ctr_y + c_to_c_h], -1)


def clip_boxes(boxes: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Clip xyxy boxes (any leading shape) to an image of (height, width)."""
    h, w = int(size[0]), int(size[1])
    x = boxes[..., 0::2].clamp(0, w)
    y = boxes[..., 1::2].clamp(0, h)
    return torch.stack([x[..., 0], y[..., 0], x[..., 1], y[..., 1]], -1)


def rois_with_index(boxes: Sequence[torch.Tensor]) -> torch.Tensor:
    """Per-image box lists -> one [K, 5] tensor of (image index, x1, y1, x2, y2), as torchvision.ops wants."""
    parts = [torch.cat([torch.full((b.shape[0], 1), i, dtype=b.dtype, device=b.device), b], 1) for i, b in enumerate(boxes)]
    if not parts:
        return torch.zeros(0, 5)
    return torch.cat(parts, 0)


def warp_crops(image: torch.Tensor, boxes: torch.Tensor, size: int = 227, context: int = 16) -> torch.Tensor:
    """R-CNN's region warp: each box dilated so that `context` pixels of surrounding image remain at the
    warped `size`, then warped anisotropically to size x size with bilinear sampling (outside the image: 0,
    i.e. the mean once the image is normalised). image: [1, C, H, W]; boxes [N, 4] xyxy -> [N, C, size, size]."""
    if boxes.numel() == 0:
        return image.new_zeros((0, image.shape[1], size, size))
    scale = size / (size - 2 * context)
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    hw = (boxes[:, 2] - boxes[:, 0]) * scale / 2
    hh = (boxes[:, 3] - boxes[:, 1]) * scale / 2
    big = torch.stack([cx - hw, cy - hh, cx + hw, cy + hh], 1).to(image.dtype)
    rois = torch.cat([torch.zeros(len(big), 1, dtype=image.dtype, device=image.device), big], 1)
    return roi_align(image, rois, output_size=(size, size), spatial_scale=1.0, sampling_ratio=1, aligned=True)


def fpn_levels(boxes: torch.Tensor, k_min: int = 2, k_max: int = 5, canonical_scale: float = 224.0,
               canonical_level: int = 4) -> torch.Tensor:
    """FPN paper eq. 1: level k = floor(k0 + log2(sqrt(wh) / 224)), clamped; returned as 0-based index from k_min."""
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    k = torch.floor(canonical_level + torch.log2(area.clamp(min=1e-6).sqrt() / canonical_scale) + 1e-6)
    return (k.clamp(min=k_min, max=k_max) - k_min).to(torch.int64)


def roi_pool_levels(features: Sequence[torch.Tensor], scales: Sequence[float], boxes: Sequence[torch.Tensor],
                    output_size: int = 7) -> torch.Tensor:
    """RoIPool (max) of per-image boxes over one feature map, or over a pyramid with FPN level assignment."""
    rois = rois_with_index(boxes)
    if len(features) == 1:
        return roi_pool(features[0], rois, output_size, scales[0])
    k_min = int(round(-math.log2(scales[0])))
    levels = fpn_levels(rois[:, 1:], k_min=k_min, k_max=k_min + len(features) - 1)
    out = features[0].new_zeros((rois.shape[0], features[0].shape[1], output_size, output_size))
    for lvl, (feat, scale) in enumerate(zip(features, scales)):
        idx = torch.where(levels == lvl)[0]
        if idx.numel():
            out[idx] = roi_pool(feat, rois[idx], output_size, scale).to(out.dtype)
    return out


def per_class_detections(proposals: torch.Tensor, class_logits: torch.Tensor, box_deltas: torch.Tensor,
                         image_size: Sequence[int], weights: tuple[float, float, float, float] = (10.0, 10.0, 5.0, 5.0),
                         score_thresh: float = 0.05, nms_thresh: float = 0.5, max_det: int = 100,
                         min_size: float = 1e-2) -> dict[str, torch.Tensor]:
    """One image's region scores -> detections: softmax over classes (column 0 is background), the
    class-specific box of each class, score threshold, per-class NMS, best `max_det` (torchvision's
    RoIHeads.postprocess_detections, usable by any region classifier)."""
    num_classes = class_logits.shape[-1]
    boxes = clip_boxes(decode_boxes(box_deltas, proposals, weights), image_size)  # [N, C, 4]
    scores = torch.softmax(class_logits.float(), -1)
    labels = torch.arange(num_classes, device=scores.device).view(1, -1).expand_as(scores)
    boxes, scores, labels = boxes[:, 1:].reshape(-1, 4), scores[:, 1:].reshape(-1), labels[:, 1:].reshape(-1)
    keep = torch.where(scores > score_thresh)[0]
    boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
    wh = boxes[:, 2:] - boxes[:, :2]
    keep = torch.where((wh[:, 0] >= min_size) & (wh[:, 1] >= min_size))[0]
    boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
    keep = classwise_nms(boxes, scores, labels, nms_thresh, max_det)
    return {"boxes": boxes[keep], "scores": scores[keep], "labels": labels[keep]}
