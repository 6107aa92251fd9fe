"""Image resizing for network inputs: stretch, Darknet letterbox, and resize + centre crop."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class ImageMeta:
    """How one image was mapped into the network input, to map outputs back to its pixels."""

    orig_size: tuple[int, int]  # (height, width) of the original image
    input_size: tuple[int, int]  # (height, width) fed to the network
    scale: tuple[float, float] = (1.0, 1.0)  # (sy, sx): input pixels per original pixel
    pad: tuple[float, float] = (0.0, 0.0)  # (top, left) padding in input pixels
    crop: tuple[float, float] = (0.0, 0.0)  # (top, left) crop offset in resized pixels
    source: str | None = None


def to_float(image: np.ndarray) -> torch.Tensor:
    """HWC uint8 -> 1x3xHxW float32 in [0, 255]."""
    return torch.from_numpy(image).permute(2, 0, 1).unsqueeze(0).float()


def _resize(t: torch.Tensor, h: int, w: int, antialias: bool, mode: str = "bilinear") -> torch.Tensor:
    if t.shape[-2:] == (h, w):
        return t
    return F.interpolate(t, size=(h, w), mode=mode, align_corners=False, antialias=antialias and mode in ("bilinear", "bicubic"))


def stretch(image: np.ndarray, size: tuple[int, int], antialias: bool = False, mode: str = "bilinear") -> tuple[torch.Tensor, ImageMeta]:
    """Resize to `size` ignoring aspect ratio (OpenCV DNN blobFromImage with crop=False)."""
    h0, w0 = image.shape[:2]
    h, w = size
    t = _resize(to_float(image), h, w, antialias, mode)
    return t, ImageMeta((h0, w0), (h, w), (h / h0, w / w0))


def letterbox_geometry(h0: int, w0: int, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """Darknet's letterbox geometry: (new_h, new_w, top, left) of an h0 x w0 image fitted into `size`."""
    h, w = size
    if w / w0 < h / h0:
        new_w, new_h = w, (h0 * w) // w0
    else:
        new_h, new_w = h, (w0 * h) // h0
    return new_h, new_w, (h - new_h) // 2, (w - new_w) // 2


def resize_crop_geometry(h0: int, w0: int, size: tuple[int, int], resize_size: int) -> tuple[int, int, int, int]:
    """(new_h, new_w, top, left): the shorter side resized to `resize_size`, then the centre-crop offset
    (negative when the crop is larger than the resized image: torchvision pads)."""
    if h0 <= w0:
        new_h, new_w = resize_size, int(resize_size * w0 / h0)
    else:
        new_w, new_h = resize_size, int(resize_size * h0 / w0)
    h, w = size
    return new_h, new_w, int(round((new_h - h) / 2.0)), int(round((new_w - w) / 2.0))


def letterbox(image: np.ndarray, size: tuple[int, int], fill: float = 127.5, antialias: bool = False,
              mode: str = "bilinear") -> tuple[torch.Tensor, ImageMeta]:
    """Darknet's letterbox_image: fit inside `size` keeping aspect (integer maths), centre on gray."""
    h0, w0 = image.shape[:2]
    h, w = size
    new_h, new_w, top, left = letterbox_geometry(h0, w0, size)
    resized = _resize(to_float(image), new_h, new_w, antialias, mode)
    out = torch.full((1, 3, h, w), fill, dtype=resized.dtype)
    out[:, :, top:top + new_h, left:left + new_w] = resized
    return out, ImageMeta((h0, w0), (h, w), (new_h / h0, new_w / w0), (float(top), float(left)))


def resize_crop(image: np.ndarray, size: tuple[int, int], resize_size: int, antialias: bool = True,
                mode: str = "bilinear") -> tuple[torch.Tensor, ImageMeta]:
    """Resize the shorter side to `resize_size`, then centre-crop `size` (torchvision's eval transform)."""
    h0, w0 = image.shape[:2]
    new_h, new_w, top, left = resize_crop_geometry(h0, w0, size, resize_size)
    t = _resize(to_float(image), new_h, new_w, antialias, mode)
    t, top, left = center_crop(t, size, top, left)
    return t, ImageMeta((h0, w0), size, (new_h / h0, new_w / w0), (0.0, 0.0), (float(top), float(left)))


def center_crop(t: torch.Tensor, size: tuple[int, int], top: int, left: int) -> tuple[torch.Tensor, int, int]:
    """Crop `size` at (top, left) from NCHW `t`; an image smaller than the crop is padded like torchvision's
    center_crop. Returns the crop and the offsets the meta records."""
    h, w = size
    new_h, new_w = t.shape[-2:]
    if top < 0 or left < 0:  # image smaller than the crop: pad like torchvision's center_crop
        t = F.pad(t, [max(-left, 0), max(-left, 0) + (w - new_w) % 2 * (left < 0), max(-top, 0), max(-top, 0) + (h - new_h) % 2 * (top < 0)])
        top, left = max(top, 0), max(left, 0)
    return t[:, :, top:top + h, left:left + w], top, left


def boxes_to_original(boxes: torch.Tensor, meta: ImageMeta) -> torch.Tensor:
    """xyxy boxes in network-input pixels -> original-image pixels, clipped to the image."""
    sy, sx = meta.scale
    top, left = meta.pad
    ctop, cleft = meta.crop
    out = boxes.clone().float()
    out[:, [0, 2]] = (out[:, [0, 2]] - left + cleft) / sx
    out[:, [1, 3]] = (out[:, [1, 3]] - top + ctop) / sy
    h0, w0 = meta.orig_size
    out[:, [0, 2]] = out[:, [0, 2]].clamp(0, w0)
    out[:, [1, 3]] = out[:, [1, 3]].clamp(0, h0)
    return out


def boxes_to_original_batched(boxes: torch.Tensor, image_ids: torch.Tensor, metas: list[ImageMeta]) -> torch.Tensor:
    """boxes_to_original for the boxes of a whole batch (`image_ids`: which meta each box belongs to), on the
    boxes' device: one small copy of the metas' numbers instead of one transfer per image, and the arithmetic
    of boxes_to_original (the same float32 operations in the same order) on whole rows: a few ops per call,
    not per coordinate pair (each op costs ~10 us on the CPU, next to a 10 ms int8 network)."""
    table = torch.tensor([[m.pad[1], m.pad[0]] * 2 + [m.crop[1], m.crop[0]] * 2 + [m.scale[1], m.scale[0]] * 2
                          + [m.orig_size[1], m.orig_size[0]] * 2 for m in metas], dtype=torch.float32)
    pad, crop, scale, size = table.to(boxes.device, non_blocking=True)[image_ids].split(4, dim=1)  # x1 y1 x2 y2
    out = (boxes.float() - pad + crop) / scale
    return torch.minimum(torch.maximum(out, torch.zeros((), device=out.device)), size)
