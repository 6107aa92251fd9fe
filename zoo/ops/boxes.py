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


def rank_within(group_ids: torch.Tensor, limit: int) -> torch.Tensor:
    """Positions (into `group_ids`) of the first `limit` entries of each group, grouped by ascending id and in
    their given order inside a group (a stable sort: pass entries best first to keep each group's best)."""
    order = group_ids.argsort(stable=True)
    ids = group_ids[order]
    counts = torch.bincount(ids)
    starts = counts.cumsum(0) - counts
    rank = torch.arange(ids.numel(), device=ids.device) - starts[ids]
    return order[rank < limit]


def batched_classwise_nms(boxes: torch.Tensor, scores: torch.Tensor, class_ids: torch.Tensor,
                          image_ids: torch.Tensor, iou: float, max_det: int = 300,
                          pre_nms_topk: int | None = None) -> torch.Tensor:
    """classwise_nms for the candidates of a whole batch in one `batched_nms` call on their device.

    Returns the kept indices grouped by image (ascending), best first inside each image, at most `max_det` per
    image; `pre_nms_topk` applies per image, as classwise_nms does for one. Images and classes are separated
    by batched_nms's per-group coordinate offsets, computed in float64: with a batch of images times 80
    classes the offsets reach millions of pixels, where float32 would round box corners by a tenth of a pixel
    (float64 keeps them to 1e-9 px, so each image's IoUs are what its own float32 NMS computes, to rounding).
    """
    if boxes.numel() == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    cand = None
    if pre_nms_topk is not None and scores.numel() > pre_nms_topk:
        best = scores.float().argsort(descending=True, stable=True)
        cand = best[rank_within(image_ids[best], pre_nms_topk)]
        boxes, scores, class_ids, image_ids = boxes[cand], scores[cand], class_ids[cand], image_ids[cand]
    groups = image_ids.long() * (int(class_ids.max()) + 1) + class_ids.long()
    keep = batched_nms(boxes.double(), scores.double(), groups, iou)  # best first over the batch
    keep = keep[rank_within(image_ids[keep], max_det)]
    return cand[keep] if cand is not None else keep
