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


def stack_float(images: Sequence[torch.Tensor]) -> torch.Tensor:
    """Same-size CHW images -> one contiguous NCHW float32 tensor, converted while copied (one pass over the
    pixels, whatever the images' strides: a permuted HWC array is read in place)."""
    first = images[0]
    out = torch.empty((len(images), *first.shape), dtype=torch.float32, device=first.device)
    for k, im in enumerate(images):
        out[k].copy_(im)
    return out


def resize_batch(images: Sequence[torch.Tensor], mode: str, size: tuple[int, int], fill: float = 127.5,
                 resize_size: int | None = None) -> tuple[torch.Tensor | list[torch.Tensor], list[ImageMeta]]:
    """uint8 (or float) CHW images on one device -> (float NCHW batch in [0, 255], one ImageMeta per image).

    `mode` is the spec's resize mode; `fill` the letterbox border value; `resize_size` the shorter side
    resize-crop resizes to before cropping `size`. Mode "none" keeps each image's size: a list when the sizes
    differ, as ZooModel.preprocess returns.
    """
    if mode not in MODES:
        raise InputError(f"unknown resize mode '{mode}' ({', '.join(MODES)})")
    for im in images:
        if im.ndim != 3 or im.shape[0] != 3:
            raise InputError(f"expected 3xHxW image tensors, got shape {tuple(im.shape)}")
    groups = group_by_size(images)
    metas: list[ImageMeta | None] = [None] * len(images)
    if mode == "none":
        outs: list[torch.Tensor | None] = [None] * len(images)
        for (h0, w0), idx in groups.items():
            for i in idx:
                outs[i] = images[i].unsqueeze(0).float()
                metas[i] = ImageMeta((h0, w0), (h0, w0))
        if len(groups) == 1:
            return torch.cat(outs), metas  # type: ignore[arg-type,return-value]
        return outs, metas  # type: ignore[return-value]
    h, w = size
    dev = images[0].device
    if mode == "letterbox":
        out = torch.full((len(images), 3, h, w), fill, dtype=torch.float32, device=dev)
    else:
        out = torch.empty((len(images), 3, h, w), dtype=torch.float32, device=dev)
    for (h0, w0), idx in groups.items():
        x = stack_float([images[i] for i in idx])
        if mode == "stretch":
            out[idx] = _resize(x, h, w, antialias=False)
            meta = ImageMeta((h0, w0), (h, w), (h / h0, w / w0))
        elif mode == "letterbox":
            new_h, new_w, top, left = letterbox_geometry(h0, w0, size)
            resized = _resize(x, new_h, new_w, antialias=False)
            for k, i in enumerate(idx):
                out[i, :, top:top + new_h, left:left + new_w] = resized[k]
            meta = ImageMeta((h0, w0), (h, w), (new_h / h0, new_w / w0), (float(top), float(left)))
        else:
            if resize_size is None:
                raise InputError("resize-crop needs the size of the shorter side before the crop")
            new_h, new_w, top, left = resize_crop_geometry(h0, w0, size, resize_size)
            crop, top, left = center_crop(_resize(x, new_h, new_w, antialias=True), size, top, left)
            out[idx] = crop
            meta = ImageMeta((h0, w0), size, (new_h / h0, new_w / w0), (0.0, 0.0), (float(top), float(left)))
        for i in idx:
            metas[i] = meta
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
