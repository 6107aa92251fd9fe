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


def letterbox(image: np.ndarray, size: tuple[int, int], fill: float = 127.5, antialias: bool = False,
              mode: str = "bilinear") -> tuple[torch.Tensor, ImageMeta]:
    """Darknet's letterbox_image: fit inside `size` keeping aspect (integer maths), centre on gray."""
    h0, w0 = image.shape[:2]
    h, w = size
    if w / w0 < h / h0:
        new_w, new_h = w, (h0 * w) // w0
    else:
        new_h, new_w = h, (w0 * h) // h0
    resized = _resize(to_float(image), new_h, new_w, antialias, mode)
    top, left = (h - new_h) // 2, (w - new_w) // 2
    out = torch.full((1, 3, h, w), fill, dtype=resized.dtype)
    out[:, :, top:top + new_h, left:left + new_w] = resized
    return out, ImageMeta((h0, w0), (h, w), (new_h / h0, new_w / w0), (float(top), float(left)))


def resize_crop(image: np.ndarray, size: tuple[int, int], resize_size: int, antialias: bool = True,
                mode: str = "bilinear") -> tuple[torch.Tensor, ImageMeta]:
    """Resize the shorter side to `resize_size`, then centre-crop `size` (torchvision's eval transform)."""
    h0, w0 = image.shape[:2]
    if h0 <= w0:
        new_h, new_w = resize_size, int(resize_size * w0 / h0)
    else:
        new_w, new_h = resize_size, int(resize_size * h0 / w0)
    t = _resize(to_float(image), new_h, new_w, antialias, mode)
    h, w = size
    top, left = int(round((new_h - h) / 2.0)), int(round((new_w - w) / 2.0))
    if top < 0 or left < 0:  # image smaller than the crop: pad like torchvision's center_crop
        t = F.pad(t, [max(-left, 0), max(-left, 0) + (w - new_w) % 2 * (left < 0), max(-top, 0), max(-top, 0) + (h - new_h) % 2 * (top < 0)])
        top, left = max(top, 0), max(left, 0)
    t = t[:, :, top:top + h, left:left + w]
    return t, ImageMeta((h0, w0), (h, w), (new_h / h0, new_w / w0), (0.0, 0.0), (float(top), float(left)))


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
