"""CornerNet decoding: corner heatmaps, embeddings and offsets -> boxes; flip-test merging and Soft-NMS.

`decode_corners` is the reference's `_decode` (CornerNet models/py_utils/kp_utils.py; CornerNet-Lite
core/models/py_utils/utils.py) batched: sigmoid, 3x3 max-pool NMS, the top K corners of each type over all
classes, offsets added, every top-left x bottom-right pair scored by the mean of the two corner scores, and a
pair rejected (score -1) when its classes differ, its embeddings are further apart than `ae_threshold`, or the
box is inverted. `soft_nms` is the Cython soft_nms of the reference's external/nms.pyx, same arithmetic
(areas with +1, the `threshold` drop applied only to boxes that overlapped), with the inner loop vectorised.
"""

from __future__ import annotations

import math

import torch

from zoo.ops.heatmaps import gather_at, heatmap_nms, topk_peaks
from zoo_cornernet.hourglass import CornerMaps

REJECTED = -1.0  # the reference's score for rejected pairs
NMS_METHODS = {"hard": 0, "soft-linear": 1, "soft-gaussian": 2}  # external/nms.pyx `method`; "none" skips NMS


def decode_corners(maps: CornerMaps, top_k: int = 100, kernel: int = 3, ae_threshold: float = 0.5,
                   num_dets: int = 1000) -> torch.Tensor:
    """[N, num_dets, 8] rows (x1, y1, x2, y2, score, tl_score, br_score, class) in output-map pixels, best
    first; rejected pairs score -1 (the reference's `_decode` output)."""
    tl_heat, br_heat = torch.sigmoid(maps.tl_heatmap.float()), torch.sigmoid(maps.br_heatmap.float())
    n = tl_heat.shape[0]
    tl = topk_peaks(heatmap_nms(tl_heat, kernel), top_k)
    br = topk_peaks(heatmap_nms(br_heat, kernel), top_k)
    k = tl.scores.shape[1]
    tl_off, br_off = gather_at(maps.tl_offset.float(), tl.inds), gather_at(maps.br_offset.float(), br.inds)
    tl_xs = (tl.xs + tl_off[..., 0]).view(n, k, 1).expand(n, k, k)
    tl_ys = (tl.ys + tl_off[..., 1]).view(n, k, 1).expand(n, k, k)
    br_xs = (br.xs + br_off[..., 0]).view(n, 1, k).expand(n, k, k)
    br_ys = (br.ys + br_off[..., 1]).view(n, 1, k).expand(n, k, k)
    boxes = torch.stack((tl_xs, tl_ys, br_xs, br_ys), dim=3)

    tl_emb = gather_at(maps.tl_embedding.float(), tl.inds).view(n, k, 1)
    br_emb = gather_at(maps.br_embedding.float(), br.inds).view(n, 1, k)
    tl_scores = tl.scores.view(n, k, 1).expand(n, k, k)
    br_scores = br.scores.view(n, 1, k).expand(n, k, k)
    scores = (tl_scores + br_scores) / 2
    tl_cls = tl.classes.view(n, k, 1).expand(n, k, k)
    reject = ((tl_cls != br.classes.view(n, 1, k)) | ((tl_emb - br_emb).abs() > ae_threshold)
              | (br_xs < tl_xs) | (br_ys < tl_ys))
    scores = scores.masked_fill(reject, REJECTED)

    scores, inds = scores.reshape(n, -1).topk(min(num_dets, k * k))
    take = inds.unsqueeze(2)
    boxes = boxes.reshape(n, -1, 4).gather(1, take.expand(-1, -1, 4))
    cols = [g.reshape(n, -1).gather(1, inds).unsqueeze(2).float() for g in (tl_scores, br_scores, tl_cls)]
    return torch.cat([boxes, scores.unsqueeze(2), *cols], dim=2)


def merge_flipped(dets: torch.Tensor, flipped: torch.Tensor, out_width: int) -> torch.Tensor:
    """Detections of an image and of its horizontal mirror -> one list (the reference's test code:
    `dets[1, :, [0, 2]] = out_width - dets[1, :, [2, 0]]`, then both halves concatenated)."""
    back = flipped.clone()
    back[:, 0], back[:, 2] = out_width - flipped[:, 2], out_width - flipped[:, 0]
    return torch.cat([dets, back])


def soft_nms(boxes: torch.Tensor, scores: torch.Tensor, method: str = "soft-gaussian", iou: float = 0.5,
             sigma: float = 0.5, threshold: float = 0.001) -> tuple[torch.Tensor, torch.Tensor]:
    """(kept indices in selection order, their final scores): external/nms.pyx `soft_nms`.

    Each step takes the best remaining box and rescales the others that overlap it: exp(-iou^2 / sigma)
    (gaussian), 1 - iou above `iou` (linear) or 0 above `iou` (hard); an overlapping box whose score falls
    below `threshold` is dropped. Boxes use the reference's pixel convention (width = x2 - x1 + 1).
    """
    if method not in NMS_METHODS:
        raise ValueError(f"unknown NMS method '{method}' ({', '.join(NMS_METHODS)}, none)")
    scores = scores.clone().float()
    b = boxes.float()
    areas = (b[:, 2] - b[:, 0] + 1) * (b[:, 3] - b[:, 1] + 1)
    alive = torch.ones(len(b), dtype=torch.bool)
    keep: list[int] = []
    neg_inf = torch.tensor(-math.inf)
    for _ in range(len(b)):
        if not alive.any():
            break
        i = int(torch.where(alive, scores, neg_inf).argmax())
        keep.append(i)
        alive[i] = False
        iw = torch.minimum(b[i, 2], b[:, 2]) - torch.maximum(b[i, 0], b[:, 0]) + 1
        ih = torch.minimum(b[i, 3], b[:, 3]) - torch.maximum(b[i, 1], b[:, 1]) + 1
        touched = alive & (iw > 0) & (ih > 0)
        ov = iw * ih / (areas[i] + areas - iw * ih)
        if method == "soft-gaussian":
            weight = torch.exp(-(ov * ov) / sigma)
        elif method == "soft-linear":
            weight = torch.where(ov > iou, 1 - ov, torch.ones_like(ov))
        else:
            weight = torch.where(ov > iou, torch.zeros_like(ov), torch.ones_like(ov))
        scores = torch.where(touched, scores * weight, scores)
        alive &= ~(touched & (scores < threshold))
    idx = torch.tensor(keep, dtype=torch.long)
    return idx, scores[idx]


def classwise_soft_nms(boxes: torch.Tensor, scores: torch.Tensor, classes: torch.Tensor, method: str,
                       iou: float) -> tuple[torch.Tensor, torch.Tensor]:
    """soft_nms run per class (the reference's loop over categories) -> (kept indices, rescored scores)."""
    kept, rescored = [], []
    for c in classes.unique().tolist():
        members = (classes == c).nonzero().flatten()
        idx, s = soft_nms(boxes[members], scores[members], method, iou)
        kept.append(members[idx])
        rescored.append(s)
    if not kept:
        return torch.zeros(0, dtype=torch.long), torch.zeros(0)
    return torch.cat(kept), torch.cat(rescored)


def limit_per_image(scores: torch.Tensor, max_det: int) -> torch.Tensor:
    """The reference's max_per_image cut: keep scores >= the max_det-th best (ties at the cut all stay)."""
    if len(scores) <= max_det:
        return torch.ones_like(scores, dtype=torch.bool)
    thresh = scores.sort(descending=True).values[max_det - 1]
    return scores >= thresh
