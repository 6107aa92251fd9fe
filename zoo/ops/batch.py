"""Batched preprocessing of uint8 images already on the model's device: stretch, letterbox, resize + centre
crop and normalisation as tensor ops, with the geometry (ImageMeta) of the per-image functions in
zoo/ops/resize.py.

The per-image path and this one run the same torch kernels (F.interpolate, bilinear, align_corners=False;
antialias off for stretch/letterbox and on for resize-crop), so on one device the pixels are equal, not just
close: images of one size are stacked and resized in one call, which computes every plane as the single-image
call does. On CUDA the kernels are CUDA's, within float rounding of the CPU's. What this saves on a GPU is the
float conversion, resizing and normalising on the host and a float (4x larger) host-to-device copy: images
travel as uint8 and become floats on the device.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from zoo.errors import InputError
from zoo.ops.resize import ImageMeta, _resize, center_crop, letterbox_geometry, resize_crop_geometry

MODES = ("letterbox", "stretch", "resize-crop", "none")


def group_by_size(images: Sequence[torch.Tensor]) -> dict[tuple[int, int], list[int]]:
    """Indices of the images of each (height, width), in first-seen order: each group is resized in one call."""
    groups: dict[tuple[int, int], list[int]] = {}
    for i, im in enumerate(images):
        groups.setdefault((int(im.shape[-2]), int(im.shape[-1])), []).append(i)
    return groups


def resize_batch(images: Sequence[torch.Tensor], mode: str, size: tuple[int, int], fill: float = 127.5,
                 resize_size: int | None = None, stack: bool | None = None
                 ) -> tuple[torch.Tensor | list[torch.Tensor], list[ImageMeta]]:
    """uint8 (or float) CHW images on one device -> (float NCHW batch in [0, 255], one ImageMeta per image).

    `mode` is the spec's resize mode; `fill` the letterbox border value; `resize_size` the shorter side
    resize-crop resizes to before cropping `size`. Mode "none" keeps each image's size: a list when the sizes
    differ, as ZooModel.preprocess returns.

    On CUDA the images of each size are stacked and resized in one call (kernel launches are the cost there).
    On the CPU each image is converted and resized on its own, as the per-image path does: `.float()` of a
    permuted HxWx3 array keeps its channels-last strides, a single sequential pass (5x faster than copying it
    into an NCHW batch), and a batched interpolate saves nothing there (the kernels loop over planes anyway).
    `stack` forces one or the other (None: by device).
    """
    if mode not in MODES:
        raise InputError(f"unknown resize mode '{mode}' ({', '.join(MODES)})")
    for im in images:
        if im.ndim != 3 or im.shape[0] != 3:
            raise InputError(f"expected 3xHxW image tensors, got shape {tuple(im.shape)}")
    metas: list[ImageMeta | None] = [None] * len(images)
    if mode == "none":
        outs = [im.unsqueeze(0).float() for im in images]
        metas = [ImageMeta(tuple(im.shape[-2:]), tuple(im.shape[-2:])) for im in images]  # type: ignore[misc]
        if len({o.shape for o in outs}) == 1:
            return torch.cat(outs), metas  # type: ignore[return-value]
        return outs, metas  # type: ignore[return-value]
    if mode == "resize-crop" and resize_size is None:
        raise InputError("resize-crop needs the size of the shorter side before the crop")
    h, w = size
    dev = images[0].device
    if not (dev.type != "cpu" if stack is None else stack):
        groups = [((int(im.shape[-2]), int(im.shape[-1])), [i]) for i, im in enumerate(images)]
    else:
        groups = list(group_by_size(images).items())
    canvas = torch.full((len(images), 3, h, w), fill, dtype=torch.float32, device=dev) if mode == "letterbox" else None
    parts: list[tuple[list[int], torch.Tensor]] = []
    for (h0, w0), idx in groups:
        x = images[idx[0]].unsqueeze(0).float() if len(idx) == 1 else torch.stack([images[i] for i in idx]).float()
        if mode == "stretch":
            parts.append((idx, _resize(x, h, w, antialias=False)))
            meta = ImageMeta((h0, w0), (h, w), (h / h0, w / w0))
        elif mode == "letterbox":
            new_h, new_w, top, left = letterbox_geometry(h0, w0, size)
            resized = _resize(x, new_h, new_w, antialias=False)
            for k, i in enumerate(idx):
                canvas[i, :, top:top + new_h, left:left + new_w] = resized[k]  # type: ignore[index]
            meta = ImageMeta((h0, w0), (h, w), (new_h / h0, new_w / w0), (float(top), float(left)))
        else:
            new_h, new_w, top, left = resize_crop_geometry(h0, w0, size, resize_size)  # type: ignore[arg-type]
            crop, top, left = center_crop(_resize(x, new_h, new_w, antialias=True), size, top, left)
            parts.append((idx, crop))
            meta = ImageMeta((h0, w0), size, (new_h / h0, new_w / w0), (0.0, 0.0), (float(top), float(left)))
        for i in idx:
            metas[i] = meta
    if canvas is not None:
        return canvas, metas  # type: ignore[return-value]
    if len(parts) == 1:
        return parts[0][1], metas  # type: ignore[return-value]
    if all(len(idx) == 1 for idx, _ in parts):  # one image per part, in input order: cat, as the per-image path
        return torch.cat([t for _, t in parts]), metas  # type: ignore[return-value]
    out = torch.empty((len(images), 3, h, w), dtype=torch.float32, device=dev)
    for idx, t in parts:
        out[idx] = t
    return out, metas  # type: ignore[return-value]


def normalize_(batch: torch.Tensor, scale: float, mean: Sequence[float] | None = None,
               std: Sequence[float] | None = None) -> torch.Tensor:
    """In place, on the batch's device: batch * scale, then (batch - mean) / std per channel (the order and
    dtype of ZooModel.normalize, so the values are the same)."""
    batch.mul_(scale)
    if mean is not None and std is not None:
        m = torch.tensor(mean, dtype=batch.dtype).view(1, -1, 1, 1).to(batch.device, non_blocking=True)
        s = torch.tensor(std, dtype=batch.dtype).view(1, -1, 1, 1).to(batch.device, non_blocking=True)
        batch.sub_(m).div_(s)
    return batch
