"""OpenPose's bottom-up grouping (Cao et al. 2017, as in Hzzone/pytorch-openpose src/body.py), vectorised.

1. Parts: peaks of each Gaussian-smoothed (sigma 3) part heatmap above 0.1 that are at least as high as their
   four neighbours; a peak's score is the unsmoothed heatmap value there.
2. Limbs: for every limb type, every (part A, part B) candidate pair at once: the PAF is sampled at 10 points
   on the segment (rounded to pixels), projected on the segment's direction; a pair qualifies when more than
   80 % of the samples exceed 0.05 and the mean plus a distance prior (min(0.5 * image height / length - 1,
   0)) is positive. Pairs are then matched greedily by that score, each part used once per limb type; the
   greedy order is reproduced by repeatedly taking the pairs that are the best of both their row and column.
3. People: limbs are merged into people in the reference's order (sequential by nature, a loop over the
   accepted limbs, tens per image); people with fewer than 4 parts or a mean score under 0.4 are dropped.

Maps come from a `MapSource`: full-resolution arrays (`FullMaps`), or the network's stride-8 maps with the
resize chain folded into matrices (`FactoredMaps`), which never materialises full-resolution PAFs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from zoo.ops.heatmaps import gaussian_matrix, gaussian_smooth, local_peaks, neighbour_points, separable

NUM_PARTS = 18
# limbSeq of the reference (1-based there): part pairs, in the order limbs are connected and assembled
LIMBS = ((1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
         (1, 0), (0, 14), (14, 16), (0, 15), (15, 17), (2, 16), (5, 17))
# mapIdx - 19 of the reference: the (x, y) PAF channels of each limb
PAF_CHANNELS = ((12, 13), (20, 21), (14, 15), (16, 17), (22, 23), (24, 25), (0, 1), (2, 3), (4, 5), (6, 7),
                (8, 9), (10, 11), (28, 29), (30, 31), (34, 35), (32, 33), (36, 37), (18, 19), (26, 27))
SIGMA = 3.0  # Gaussian smoothing of heatmaps before peak finding
PEAK_THRESHOLD = 0.1  # thre1
PAF_THRESHOLD = 0.05  # thre2
PAF_SAMPLES = 10  # mid_num
MIN_PARTS = 4
MIN_MEAN_SCORE = 0.4
NEW_PERSON_LIMBS = 17  # limbs 17 and 18 (ear-shoulder) never start a person
# OpenPose-18 index of each COCO-17 keypoint (nose, l_eye, r_eye, l_ear, r_ear, l_shoulder, r_shoulder, ...)
OPENPOSE_TO_COCO = (0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10)


PEAK_TOLERANCE = 1e-4  # float32 smoothed maps: peak decisions this close are taken again in float64


class MapSource:
    """Heatmaps and PAFs at image resolution, however they are stored."""

    height: int
    width: int
    exact = True  # smoothed_heat is float64; else smoothed_at gives float64 values at points

    def smoothed_heat(self, sigma: float) -> torch.Tensor:  # (18, H, W)
        raise NotImplementedError

    def smoothed_at(self, c: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> np.ndarray:
        raise NotImplementedError

    def heat_at(self, c: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> np.ndarray:
        raise NotImplementedError

    def paf_at(self, c: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> np.ndarray:
        raise NotImplementedError


@dataclass
class FullMaps(MapSource):
    """heat (19, H, W) and paf (38, H, W) at image resolution (what the reference averages over scales)."""

    heat: torch.Tensor
    paf: torch.Tensor

    def __post_init__(self) -> None:
        self.height, self.width = int(self.heat.shape[-2]), int(self.heat.shape[-1])

    def smoothed_heat(self, sigma: float) -> torch.Tensor:
        return gaussian_smooth(self.heat[:NUM_PARTS].double(), sigma)

    def heat_at(self, c: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> np.ndarray:
        return self.heat[c, y, x].double().numpy()

    def paf_at(self, c: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> np.ndarray:
        return self.paf[c, y, x].double().numpy()


@dataclass
class FactoredMaps(MapSource):
    """Image-resolution maps as `sum_s w_s * rows_s @ low_s @ cols_s.T` (one term per scale): low_s are the
    network's maps (C, h, w), rows_s (H, h) and cols_s (W, w) the folded resize chain."""

    heat_low: list[torch.Tensor]
    paf_low: list[torch.Tensor]
    rows: list[torch.Tensor]
    cols: list[torch.Tensor]
    weights: list[float]
    height: int
    width: int
    exact = False  # the full smoothed map is computed in float32 (speed); decisions near ties use smoothed_at

    def smoothed_heat(self, sigma: float) -> torch.Tensor:
        gy, gx = gaussian_matrix(self.height, sigma), gaussian_matrix(self.width, sigma)
        self._smooth = ([gy @ r for r in self.rows], [gx @ c for c in self.cols])
        out = None
        for m, r, c, w in zip(self.heat_low, *self._smooth, self.weights):
            term = separable(m[:NUM_PARTS].float(), r * w, c)
            out = term if out is None else out + term
        assert out is not None
        return out

    def smoothed_at(self, c: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> np.ndarray:
        """Float64 smoothed heatmap values at points (after smoothed_heat)."""
        return self._at(self.heat_low, c, y, x, *self._smooth)

    def _at(self, maps: list[torch.Tensor], ch: torch.Tensor, y: torch.Tensor, x: torch.Tensor,
            rows: list[torch.Tensor] | None = None, cols: list[torch.Tensor] | None = None) -> np.ndarray:
        """Values at points: rows[y] @ map[ch] @ cols[x], one matmul per channel present."""
        rows, cols = rows or self.rows, cols or self.cols
        total = torch.zeros(len(ch), dtype=torch.float64)
        for k in ch.unique().tolist():
            sel = (ch == k).nonzero(as_tuple=True)[0]
            for m, r, c, w in zip(maps, rows, cols, self.weights):
                total[sel] += w * ((r[y[sel]] @ m[k].double()) * c[x[sel]]).sum(1)
        return total.numpy()

    def heat_at(self, c: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> np.ndarray:
        return self._at(self.heat_low, c, y, x)

    def paf_at(self, c: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> np.ndarray:
        return self._at(self.paf_low, c, y, x)


@dataclass
class Peaks:
    """All part candidates: x, y (pixels), score, part index; the row index is the candidate id."""

    x: np.ndarray
    y: np.ndarray
    score: np.ndarray
    part: np.ndarray

    def of(self, part: int) -> np.ndarray:
        return np.flatnonzero(self.part == part)

    def candidate(self) -> np.ndarray:
        """The reference's `candidate` array: rows (x, y, score, id)."""
        n = len(self.x)
        return np.stack([self.x, self.y, self.score, np.arange(n)], 1).astype(np.float64) if n else np.zeros((0, 4))


def find_peaks(maps: MapSource, sigma: float = SIGMA, threshold: float = PEAK_THRESHOLD) -> Peaks:
    smooth = maps.smoothed_heat(sigma)
    if maps.exact:
        c, y, x = local_peaks(smooth, threshold)
    else:  # float32 map: a superset of the peaks, then every decision again from float64 values
        c, y, x = local_peaks(smooth, threshold, PEAK_TOLERANCE)
        if len(c):
            v = maps.smoothed_at(c, y, x)
            nc, ny, nx, inside = neighbour_points(c, y, x, maps.height, maps.width)
            nb = np.where(inside.numpy(), maps.smoothed_at(nc, ny, nx), 0.0).reshape(4, -1)
            keep = torch.from_numpy((v > threshold) & (v >= nb).all(0))
            c, y, x = c[keep], y[keep], x[keep]
    score = maps.heat_at(c, y, x) if len(c) else np.zeros(0)
    return Peaks(x.numpy().astype(np.int64), y.numpy().astype(np.int64), np.asarray(score, np.float64),
                 c.numpy().astype(np.int64))


def _linspace(a: np.ndarray, b: np.ndarray, num: int) -> np.ndarray:
    """np.linspace(a, b, num) for many (a, b) at once, with numpy's exact arithmetic: (n, num)."""
    step = (b - a) / (num - 1)
    out = np.arange(num, dtype=np.float64)[None, :] * step[:, None] + a[:, None]
    out[:, -1] = b
    return out


def score_pairs(maps: MapSource, peaks: Peaks, limb: int, paf_threshold: float = PAF_THRESHOLD,
                samples: int = PAF_SAMPLES) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (A, B) candidate pair of one limb type: (index into A's peaks, into B's, score with distance
    prior) for the pairs passing both criteria, in the reference's (i, j) order."""
    ia, ib = peaks.of(LIMBS[limb][0]), peaks.of(LIMBS[limb][1])
    if not len(ia) or not len(ib):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    i, j = np.meshgrid(np.arange(len(ia)), np.arange(len(ib)), indexing="ij")
    i, j = i.reshape(-1), j.reshape(-1)
    ax, ay = peaks.x[ia[i]].astype(np.float64), peaks.y[ia[i]].astype(np.float64)
    bx, by = peaks.x[ib[j]].astype(np.float64), peaks.y[ib[j]].astype(np.float64)
    vx, vy = bx - ax, by - ay
    norm = np.maximum(0.001, np.sqrt(vx * vx + vy * vy))
    ux, uy = vx / norm, vy / norm
    px = np.rint(_linspace(ax, bx, samples)).astype(np.int64)  # rint: round half to even, like round()
    py = np.rint(_linspace(ay, by, samples)).astype(np.int64)
    cx, cy = PAF_CHANNELS[limb]
    flat_y, flat_x = torch.from_numpy(py.reshape(-1)), torch.from_numpy(px.reshape(-1))
    fx = maps.paf_at(torch.full_like(flat_y, cx), flat_y, flat_x).reshape(px.shape)
    fy = maps.paf_at(torch.full_like(flat_y, cy), flat_y, flat_x).reshape(px.shape)
    mid = fx * ux[:, None] + fy * uy[:, None]
    total = np.zeros(len(mid))
    for t in range(samples):  # left to right, as the reference's sum() adds (numpy's pairwise sum differs in the last bit)
        total = total + mid[:, t]
    prior = total / samples + np.minimum(0.5 * maps.height / norm - 1, 0)
    ok = ((mid > paf_threshold).sum(1) > 0.8 * samples) & (prior > 0)
    return i[ok], j[ok], prior[ok]


def greedy_match(i: np.ndarray, j: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Indices of the pairs a greedy pass in descending score (stable for ties) keeps when each i and each j
    may be used once, in that greedy order. Vectorised: a pair the greedy pass keeps is exactly one that is
    the best remaining pair of both its i and its j, so those are taken in rounds."""
    n = len(s)
    if n == 0:
        return np.zeros(0, np.int64)
    order = np.argsort(-s, kind="stable")
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)  # unique priorities: 0 is taken first
    ni, nj = int(i.max()) + 1, int(j.max()) + 1
    big = n + 1
    table = np.full((ni, nj), big, np.int64)
    table[i, j] = rank
    chosen: list[np.ndarray] = []
    while True:
        row_best = table.min(1)
        col_best = table.min(0)
        take = (table == row_best[:, None]) & (table == col_best[None, :]) & (table < big)
        ri, cj = np.nonzero(take)
        if not len(ri):
            break
        chosen.append(table[ri, cj])
        table[ri, :] = big
        table[:, cj] = big
    ranks = np.sort(np.concatenate(chosen))
    return order[ranks]


def connect(maps: MapSource, peaks: Peaks, paf_threshold: float = PAF_THRESHOLD) -> list[np.ndarray | None]:
    """Per limb type: accepted connections as rows (id A, id B, score, i, j) in greedy order, or None when
    one of its parts has no candidate (the reference's special_k)."""
    out: list[np.ndarray | None] = []
    for k, (a, b) in enumerate(LIMBS):
        ia, ib = peaks.of(a), peaks.of(b)
        if not len(ia) or not len(ib):
            out.append(None)
            continue
        i, j, s = score_pairs(maps, peaks, k, paf_threshold)
        keep = greedy_match(i, j, s)
        i, j, s = i[keep], j[keep], s[keep]
        out.append(np.stack([ia[i], ib[j], s, i, j], 1).astype(np.float64) if len(keep) else np.zeros((0, 5)))
    return out


def assemble(connections: list[np.ndarray | None], candidate: np.ndarray, min_parts: int = MIN_PARTS,
             min_mean_score: float = MIN_MEAN_SCORE) -> np.ndarray:
    """Limbs -> people, the reference's `subset`: rows of 18 candidate ids (-1: missing), total score,
    number of parts. The search for the people a limb touches is one vectorised test per limb."""
    subset = -np.ones((0, NUM_PARTS + 2))
    for k, conn in enumerate(connections):
        if conn is None:
            continue
        a, b = LIMBS[k]
        for row in conn:
            part_a, part_b, score = row[0], row[1], row[2]
            hits = np.flatnonzero((subset[:, a] == part_a) | (subset[:, b] == part_b))[:2]
            if len(hits) == 1 or (len(hits) == 2 and ((subset[hits[0], :-2] >= 0) & (subset[hits[1], :-2] >= 0)).any()):
                j = hits[0]
                if len(hits) == 1 and subset[j, b] == part_b:
                    continue
                subset[j, b] = part_b
                subset[j, -1] += 1
                subset[j, -2] += candidate[int(part_b), 2] + score
            elif len(hits) == 2:  # two disjoint people joined by this limb: merge them
                j1, j2 = hits
                subset[j1, :-2] += subset[j2, :-2] + 1
                subset[j1, -2:] += subset[j2, -2:]
                subset[j1, -2] += score
                subset = np.delete(subset, j2, 0)
            elif k < NEW_PERSON_LIMBS:
                new = -np.ones(NUM_PARTS + 2)
                new[a], new[b] = part_a, part_b
                new[-1] = 2
                new[-2] = candidate[int(part_a), 2] + candidate[int(part_b), 2] + score
                subset = np.vstack([subset, new])
    if not len(subset):
        return subset
    keep = (subset[:, -1] >= min_parts) & (subset[:, -2] / subset[:, -1] >= min_mean_score)
    return subset[keep]


def group(maps: MapSource, peak_threshold: float = PEAK_THRESHOLD, paf_threshold: float = PAF_THRESHOLD,
          min_parts: int = MIN_PARTS, min_mean_score: float = MIN_MEAN_SCORE,
          sigma: float = SIGMA) -> tuple[np.ndarray, np.ndarray]:
    """Maps -> (candidate (N, 4): x, y, score, id; subset (P, 20)), as the reference's Body.__call__ returns."""
    peaks = find_peaks(maps, sigma, peak_threshold)
    candidate = peaks.candidate()
    subset = assemble(connect(maps, peaks, paf_threshold), candidate, min_parts, min_mean_score)
    return candidate, subset


def people_arrays(candidate: np.ndarray, subset: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """-> (points18 (P, 18, 3) with (0, 0, 0) for missing parts, COCO-17 keypoints (P, 17, 3), person score
    (P,): total score / number of parts, the quantity the 0.4 cut applies to)."""
    p = len(subset)
    pts = np.zeros((p, NUM_PARTS, 3), np.float32)
    if p:
        ids = subset[:, :NUM_PARTS].astype(np.int64)
        found = ids >= 0
        pts[found] = candidate[ids[found], :3]
    coco = pts[:, list(OPENPOSE_TO_COCO)]
    score = subset[:, -2] / np.maximum(subset[:, -1], 1) if p else np.zeros(0)
    return pts, coco, score
