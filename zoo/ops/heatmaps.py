"""Heatmap peaks: max-pool NMS, top-K over classes x positions, and gathering per-pixel features at peaks.

Shared by keypoint-style heads (CornerNet corners, pose keypoints). Written after CornerNet's
models/py_utils/kp_utils.py (`_nms`, `_topk`, `_tranpose_and_gather_feat`), batched and without loops.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F


class Peaks(NamedTuple):
    scores: torch.Tensor  # [N, K] heatmap values at the peaks, best first
    inds: torch.Tensor  # [N, K] flat position y * W + x (long)
    classes: torch.Tensor  # [N, K] channel of each peak (long)
    ys: torch.Tensor  # [N, K] row (float)
    xs: torch.Tensor  # [N, K] column (float)


def heatmap_nms(heat: torch.Tensor, kernel: int = 3) -> torch.Tensor:
    """Zero every value that is not the maximum of its kernel x kernel neighbourhood (ties all survive)."""
    if kernel <= 1:
        return heat
    hmax = F.max_pool2d(heat, kernel, stride=1, padding=(kernel - 1) // 2)
    return heat * (hmax == heat).to(heat.dtype)


def topk_peaks(heat: torch.Tensor, k: int) -> Peaks:
    """The k best values of an [N, C, H, W] heatmap over all classes and positions at once."""
    n, c, h, w = heat.shape
    k = min(k, c * h * w)
    scores, flat = heat.reshape(n, -1).topk(k)
    classes = torch.div(flat, h * w, rounding_mode="floor")
    inds = flat % (h * w)
    ys = torch.div(inds, w, rounding_mode="floor").to(heat.dtype)
    xs = (inds % w).to(heat.dtype)
    return Peaks(scores, inds, classes, ys, xs)


def gather_at(feat: torch.Tensor, inds: torch.Tensor) -> torch.Tensor:
    """[N, D, H, W] features at flat positions [N, K] -> [N, K, D]."""
    n, d = feat.shape[:2]
    flat = feat.reshape(n, d, -1)
    return flat.gather(2, inds.unsqueeze(1).expand(n, d, inds.shape[1])).transpose(1, 2)
