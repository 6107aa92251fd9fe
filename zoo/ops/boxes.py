"""Box formats and class-wise NMS shared by detector families."""

from __future__ import annotations

import torch
from torchvision.ops import batched_nms, box_iou  # noqa: F401  (re-exported for families)


def cxcywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)


def classwise_nms(boxes: torch.Tensor, scores: torch.Tensor, class_ids: torch.Tensor, iou: float,
                  max_det: int = 300, pre_nms_topk: int | None = None) -> torch.Tensor:
    """Indices kept by NMS run separately per class, best first, at most `max_det`.

    `pre_nms_topk` keeps only that many best-scoring candidates before NMS: a guard for degenerate
    outputs (random weights can pass 500k candidates, and NMS time grows with their square).
    """
    if boxes.numel() == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    if pre_nms_topk is not None and scores.numel() > pre_nms_topk:
        top = scores.float().topk(pre_nms_topk).indices
        keep = batched_nms(boxes[top].float(), scores[top].float(), class_ids[top], iou)
        return top[keep[:max_det]]
    keep = batched_nms(boxes.float(), scores.float(), class_ids, iou)
    return keep[:max_det]
