"""OpenPose body (CMU COCO-18) as a ZooModel: the reference's pre-processing, the network, and grouping.

Pre-processing (Hzzone/pytorch-openpose src/body.py): BGR, each scale s resizes the image by s * 368 / height
(OpenCV bicubic), pads right and bottom to a multiple of the stride 8 with 128, and feeds x / 256 - 0.5.
The reference then upsamples every map by 8 (bicubic), crops the padding, resizes to the image (bicubic),
averages over scales and Gaussian-smooths the heatmaps at full resolution. Here that chain is folded into one
matrix per axis (zoo.ops.heatmaps): the smoothed heatmaps cost two skinny matmuls and the PAF is evaluated
only at the points the line integral samples, with the same values up to float rounding.

Differences from the reference, on purpose: several scales are averaged (the reference's
`heatmap_avg += heatmap_avg + heatmap / n` doubles the running sum; with one scale, its default, both agree).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from zoo.errors import InputError
from zoo.images import load_image
from zoo.model import as_image_list, square_size, with_source
from zoo.ops.heatmaps import area_resize_matrix, crop_matrix, cubic_resize_matrix, lanczos4_resize_matrix
from zoo.ops.resize import ImageMeta
from zoo.tasks.keypoints import KeypointModel, KeypointResult, Person
from zoo.taskspec import TaskOption
from zoo_pose import grouping

BOX_SIZE = 368  # boxsize: the scale-1 image height fed to the network
STRIDE = 8
PAD_VALUE = 128
SCALES = (0.5,)  # the reference's active scale_search (the commented-out CMU one is 0.5, 1.0, 1.5, 2.0)
# How images and maps are resampled: "cubic" as Hzzone/pytorch-openpose (OpenCV bicubic throughout);
# "area-lanczos" as controlnet_aux's copy of it (INTER_AREA to shrink, INTER_LANCZOS4 to enlarge).
RESAMPLE = ("cubic", "area-lanczos")

# The grouping's knobs as API options, range-checked like the task's --conf: heatmap peaks and PAF scores lie in
# [0, 1]; a person has 1 to 18 parts.
GROUPING_OPTIONS = (TaskOption("peak_threshold", "float", low=0.0, high=1.0),
                    TaskOption("paf_threshold", "float", low=0.0, high=1.0),
                    TaskOption("min_parts", "int", low=1, high=18),
                    TaskOption("min_mean_score", "float", low=0.0))


@dataclass(frozen=True)
class OpenPoseMeta(ImageMeta):
    """One image's geometry per scale: (resized height, width) before padding and (padded height, width)."""

    scaled: tuple[tuple[int, int], ...] = ()
    padded: tuple[tuple[int, int], ...] = ()
    resample: str = "cubic"


def prepare(bgr: np.ndarray, scale: float, box_size: int = BOX_SIZE,
            resample: str = "cubic") -> tuple[torch.Tensor, tuple[int, int]]:
    """One BGR uint8 image at one scale -> (1x3xHpxWp network input, (resized h, w)), as the reference does."""
    import cv2

    m = scale * box_size / bgr.shape[0]
    if resample == "cubic":
        im = cv2.resize(bgr, (0, 0), fx=m, fy=m, interpolation=cv2.INTER_CUBIC)
    else:  # controlnet_aux's smart_resize_k: truncated size, area when shrinking, Lanczos-4 when enlarging
        size = (int(bgr.shape[1] * m), int(bgr.shape[0] * m))
        im = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA if m < 1 else cv2.INTER_LANCZOS4)
    h, w = im.shape[:2]
    ph, pw = (-h) % STRIDE, (-w) % STRIDE
    if ph or pw:
        im = cv2.copyMakeBorder(im, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    t = torch.from_numpy(np.ascontiguousarray(im.transpose(2, 0, 1))).float().unsqueeze(0) / 256 - 0.5
    return t, (h, w)


@functools.lru_cache(maxsize=64)
def chain_matrix(low: int, padded: int, scaled: int, full: int, resample: str = "cubic",
                 shrink: bool = False) -> torch.Tensor:
    """(full, low): upsample the stride-8 map by 8, drop the padding, resize to the image. `shrink`: the
    last resize makes the map smaller (controlnet_aux then uses INTER_AREA; it decides on both axes at once)."""
    if resample == "cubic":
        up = cubic_resize_matrix(low, padded, 1.0 / STRIDE)
        last = cubic_resize_matrix(scaled, full)
    else:
        up = lanczos4_resize_matrix(low, padded, 1.0 / STRIDE)
        last = area_resize_matrix(scaled, full) if shrink else lanczos4_resize_matrix(scaled, full)
    return last @ crop_matrix(padded, scaled) @ up


def prepare_images(images: Any, scales: tuple[float, ...] | list[float] | None = None,
                   box_size: int = BOX_SIZE, resample: str = "cubic") -> tuple[list[torch.Tensor], list[OpenPoseMeta]]:
    """Images -> (one CPU network input per image and scale, in that order; metas)."""
    if resample not in RESAMPLE:
        raise InputError(f"resample must be one of {', '.join(RESAMPLE)}, got '{resample}'")
    scales = tuple(SCALES if scales is None else scales)
    if not scales or any(s <= 0 for s in scales):
        raise InputError(f"scales must be positive numbers, got {scales}")
    tensors, metas = [], []
    for item in as_image_list(images):
        rgb = load_image(item)
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        scaled, padded = [], []
        for s in scales:
            t, hw = prepare(bgr, s, box_size, resample)
            tensors.append(t)
            scaled.append(hw)
            padded.append((int(t.shape[2]), int(t.shape[3])))
        meta = OpenPoseMeta(rgb.shape[:2], padded[0], scaled=tuple(scaled), padded=tuple(padded), resample=resample)
        metas.append(with_source(meta, item))
    return tensors, metas


def image_maps(raw: list[Any], meta: OpenPoseMeta, offset: int = 0) -> grouping.FactoredMaps:
    """One image's network outputs (one (pafs, heatmaps) per scale, from `offset`) -> its maps at image
    resolution, averaged over scales."""
    H, W = meta.orig_size
    n = len(meta.scaled)
    heat, paf, rows, cols = [], [], [], []
    for k in range(n):
        p, h = raw[offset + k]
        heat.append(h[0].detach().float().cpu())
        paf.append(p[0].detach().float().cpu())
        (sh, sw), (ph, pw) = meta.scaled[k], meta.padded[k]
        shrink = (H + W) < (sh + sw)
        rows.append(chain_matrix(int(h.shape[2]), ph, sh, H, meta.resample, shrink))
        cols.append(chain_matrix(int(h.shape[3]), pw, sw, W, meta.resample, shrink))
    return grouping.FactoredMaps(heat, paf, rows, cols, [1.0 / n] * n, H, W)


class OpenPoseModel(KeypointModel):
    """Bottom-up pose: the network's part heatmaps and PAFs grouped into people (no person boxes)."""

    joint_threshold = 0.0  # missing joints have score 0; found ones carry their heatmap value

    def preprocess(self, images: Any, scales: tuple[float, ...] | list[float] | None = None,
                   box_size: int | None = None, size: int | tuple[int, int] | None = None,
                   resample: str = "cubic") -> tuple[list[torch.Tensor], list[OpenPoseMeta]]:
        """Images -> (one network input per image and scale, metas). `scales`: the scale search; `box_size`
        (or `size`, the CLI's --size): the network height at scale 1 (368); `resample`: "cubic" (the PyTorch
        port) or "area-lanczos" (controlnet_aux's copy of it)."""
        if isinstance(size, (tuple, list)):
            size = size[0]  # (height, width): the box size is a height
        box = box_size or size or BOX_SIZE
        if box <= 0:
            raise InputError(f"box size must be positive, got {box}")
        tensors, metas = prepare_images(images, scales, int(box), resample)
        return [t.to(self.device) for t in tensors], metas

    def forward(self, batch: Any) -> Any:
        """A tensor -> (pafs, heatmaps); a list of tensors (any sizes) -> a list of (pafs, heatmaps), running
        equal-sized inputs together."""
        if isinstance(batch, torch.Tensor):
            return self.net(batch)
        out: list[Any] = [None] * len(batch)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, t in enumerate(batch):
            groups.setdefault(tuple(t.shape[1:]), []).append(i)
        for idx in groups.values():
            paf, heat = self.net(torch.cat([batch[i] for i in idx]))
            for n, i in enumerate(idx):
                out[i] = (paf[n:n + 1], heat[n:n + 1])
        return out

    def split_options(self, opts: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """As ZooModel's, and the grouping's values range-checked before any work (peak_threshold=5 would
        silently find no joint: heatmaps lie in [0, 1])."""
        pre, post = super().split_options(opts)
        for opt in GROUPING_OPTIONS:
            if opt.name in post:
                opt.check(post[opt.name])
        return pre, post

    def postprocess(self, raw: Any, metas: list[OpenPoseMeta], conf: float | None = None,
                    peak_threshold: float = grouping.PEAK_THRESHOLD, paf_threshold: float = grouping.PAF_THRESHOLD,
                    min_parts: int = grouping.MIN_PARTS, min_mean_score: float = grouping.MIN_MEAN_SCORE) -> list[KeypointResult]:
        """Group each image's maps into people; `conf` drops people whose score (total / parts) is lower."""
        if isinstance(raw, tuple):  # forward on one batched tensor (all images one size, one scale)
            raw = [(raw[0][i:i + 1], raw[1][i:i + 1]) for i in range(raw[0].shape[0])]
        results, offset = [], 0
        for meta in metas:
            maps = image_maps(raw, meta, offset)
            offset += len(meta.scaled)
            candidate, subset = grouping.group(maps, peak_threshold, paf_threshold, min_parts, min_mean_score)
            pts18, coco, score = grouping.people_arrays(candidate, subset)
            people = [Person(coco[i], float(score[i]), None, extra={"openpose18": pts18[i].round(3).tolist()})
                      for i in range(len(score)) if conf is None or score[i] >= conf]
            results.append(KeypointResult(meta.source, meta.orig_size, people, self.joint_threshold))
        return results

    def example_inputs(self, batch_size: int = 1, input_size: int | tuple[int, int] | None = None) -> tuple[Any, ...]:
        h, w = square_size(input_size) if input_size is not None else self.input_size
        return (torch.rand(batch_size, 3, h, w, device=self.device) - 0.5,)
