"""Heatmap numerics shared by keypoint-style heads (CornerNet corners, pose keypoints): peaks and resampling.

Peaks: max-pool NMS, top-K over classes x positions, gathering per-pixel features at peaks (after CornerNet's
models/py_utils/kp_utils.py `_nms`, `_topk`, `_tranpose_and_gather_feat`, batched and without loops), and
thresholded local maxima (OpenPose).

Resampling: resizing a map with bicubic interpolation and smoothing it with a Gaussian are both linear and
separable: `out = Ry @ map @ Rx.T` with one matrix per axis. Chains of them (upsample by the network stride,
crop the padding, resize to the image, smooth) compose into one pair of skinny matrices, so a full-resolution
smoothed heatmap costs two small matmuls, and a single full-resolution value (e.g. a PAF sample) costs a dot
product. The matrices reproduce OpenCV's `cv2.resize(..., INTER_CUBIC)` and SciPy's `gaussian_filter` (mode
"reflect"), which the reference pose code uses.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

CUBIC_A = -0.75  # OpenCV's bicubic coefficient (INTER_CUBIC); torch's bicubic uses the same


def cubic_resize_matrix(src: int, dst: int, inv_scale: float | None = None) -> torch.Tensor:
    """(dst, src) float64 matrix of `cv2.resize(..., INTER_CUBIC)` along one axis.

    `inv_scale` is source pixels per destination pixel: OpenCV uses 1/fx when a factor fx is given and
    src/dst when a size is given. Sample positions are pixel-centre aligned and border taps are clamped.
    """
    scale = src / dst if inv_scale is None else inv_scale
    d = np.arange(dst, dtype=np.float64)
    f = np.float32((d + 0.5) * scale - 0.5).astype(np.float64)  # OpenCV computes the position in float32
    base = np.floor(f)
    t = f - base
    a = CUBIC_A
    w0 = ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a
    w1 = ((a + 2) * t - (a + 3)) * t * t + 1
    w2 = ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1
    w3 = 1 - w0 - w1 - w2
    out = np.zeros((dst, src), dtype=np.float64)
    rows = np.arange(dst)
    for k, w in enumerate((w0, w1, w2, w3)):
        idx = np.clip(base.astype(np.int64) - 1 + k, 0, src - 1)
        np.add.at(out, (rows, idx), w)
    return torch.from_numpy(out)


def lanczos4_resize_matrix(src: int, dst: int, inv_scale: float | None = None) -> torch.Tensor:
    """(dst, src) float64 matrix of `cv2.resize(..., INTER_LANCZOS4)` along one axis (8 taps, clamped)."""
    scale = src / dst if inv_scale is None else inv_scale
    d = np.arange(dst, dtype=np.float64)
    f = np.float32((d + 0.5) * scale - 0.5).astype(np.float64)
    base = np.floor(f)
    t = np.float32(f - base).astype(np.float64)
    s45 = 0.70710678118654752440084436210485
    cs = ((1, 0), (-s45, -s45), (0, 1), (s45, -s45), (-1, 0), (s45, s45), (0, -1), (-s45, s45))
    y0 = -(t + 3) * np.pi * 0.25
    s0, c0 = np.sin(y0), np.cos(y0)
    coeffs = []
    for i in range(8):
        y = -(t + 3 - i) * np.pi * 0.25
        with np.errstate(divide="ignore", invalid="ignore"):
            coeffs.append(np.float32((cs[i][0] * s0 + cs[i][1] * c0) / (y * y)).astype(np.float64))
    w = np.stack(coeffs, 1)
    with np.errstate(divide="ignore", invalid="ignore"):  # rows on a sample (0/0) are replaced just below
        w = w / w.sum(1, keepdims=True)
    exact = t < np.finfo(np.float32).eps  # OpenCV: on a sample, the sample itself
    w[exact] = 0.0
    w[exact, 3] = 1.0
    out = np.zeros((dst, src), dtype=np.float64)
    rows = np.arange(dst)
    for k in range(8):
        idx = np.clip(base.astype(np.int64) - 3 + k, 0, src - 1)
        np.add.at(out, (rows, idx), w[:, k])
    return torch.from_numpy(out)


def area_resize_matrix(src: int, dst: int) -> torch.Tensor:
    """(dst, src) float64 matrix of `cv2.resize(..., INTER_AREA)` when shrinking: each output pixel is the
    mean of the source pixels its footprint covers, partial pixels weighted by the covered fraction."""
    if dst > src:
        raise ValueError("area_resize_matrix only shrinks (OpenCV's INTER_AREA enlarges bilinearly)")
    scale = src / dst
    lo = np.arange(dst)[:, None] * scale
    hi = lo + scale
    i = np.arange(src)[None, :]
    overlap = np.clip(np.minimum(hi, i + 1) - np.maximum(lo, i), 0, None)
    return torch.from_numpy(overlap / scale)


def crop_matrix(n: int, keep: int) -> torch.Tensor:
    """(keep, n) matrix taking the first `keep` of `n` samples (padding removed at the end)."""
    return torch.eye(n, dtype=torch.float64)[:keep]


def gaussian_matrix(n: int, sigma: float, truncate: float = 4.0) -> torch.Tensor:
    """(n, n) float64 matrix of `scipy.ndimage.gaussian_filter1d(x, sigma, mode="reflect", truncate=4.0)`."""
    radius = int(truncate * float(sigma) + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    w = np.exp(-0.5 / (sigma * sigma) * x * x)
    w /= w.sum()
    i = np.arange(n)[:, None] + np.arange(-radius, radius + 1)[None, :]
    i = np.mod(i, 2 * n)  # "reflect" (half-sample symmetric: d c b a | a b c d) has period 2n
    i = np.where(i >= n, 2 * n - 1 - i, i)
    out = np.zeros((n, n), dtype=np.float64)
    np.add.at(out, (np.repeat(np.arange(n), len(x)), i.reshape(-1)), np.tile(w, n))
    return torch.from_numpy(out)


def separable(maps: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """`rows @ maps @ cols.T` for maps (C, h, w), rows (H, h), cols (W, w) -> (C, H, W)."""
    rows = rows.to(maps.dtype)
    cols = cols.to(maps.dtype)
    return torch.matmul(torch.matmul(rows, maps), cols.T)


def gaussian_smooth(maps: torch.Tensor, sigma: float) -> torch.Tensor:
    """SciPy-compatible 2-D Gaussian smoothing (mode "reflect", truncate 4) of maps (C, H, W)."""
    h, w = maps.shape[-2:]
    return separable(maps, gaussian_matrix(h, sigma), gaussian_matrix(w, sigma))


NEIGHBOURS = ((-1, 0), (1, 0), (0, -1), (0, 1))  # above, below, left, right


def local_peaks(maps: torch.Tensor, threshold: float,
                tolerance: float = 0.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pixels at least as high as their four neighbours (zero beyond the border) and above `threshold`.

    maps (C, H, W) -> (channel, y, x) index tensors, row-major (y, then x) within each channel, as
    `np.nonzero` lists them. Only the pixels above the threshold are compared with their neighbours.
    `tolerance` relaxes every comparison by that much: for maps computed in low precision, a superset of
    the peaks to decide again from exact values (`peaks_at`).
    """
    _, h, w = maps.shape
    c, y, x = (maps > threshold - tolerance).nonzero(as_tuple=True)
    v = maps[c, y, x]
    zero = v.new_zeros(())
    ok = torch.ones_like(v, dtype=torch.bool)
    for dy, dx in NEIGHBOURS:
        ny, nx = (y + dy).clamp(0, h - 1), (x + dx).clamp(0, w - 1)
        edge = (y + dy >= 0) & (y + dy < h) & (x + dx >= 0) & (x + dx < w)
        ok &= v >= torch.where(edge, maps[c, ny, nx], zero) - tolerance
    return c[ok], y[ok], x[ok]


def neighbour_points(c: torch.Tensor, y: torch.Tensor, x: torch.Tensor, h: int,
                     w: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The four neighbours of each point, stacked (4N), clamped into the map, with a mask of those inside."""
    ys = torch.cat([y + dy for dy, _ in NEIGHBOURS])
    xs = torch.cat([x + dx for _, dx in NEIGHBOURS])
    inside = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
    return c.repeat(4), ys.clamp(0, h - 1), xs.clamp(0, w - 1), inside


def gaussian_radius(sigma: float, truncate: float = 4.0) -> int:
    """Half-width of the Gaussian kernel SciPy uses for `sigma`."""
    return int(truncate * float(sigma) + 0.5)


__all__ = ["area_resize_matrix", "cubic_resize_matrix", "lanczos4_resize_matrix", "crop_matrix", "gaussian_matrix", "gaussian_radius", "gaussian_smooth",
           "local_peaks", "separable"]


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
