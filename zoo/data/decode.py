"""Images -> uint8 3xHxW tensors on the model's device; plain JPEG files decoded by torchvision (nvJPEG on CUDA).

Plain JPEG files (baseline or progressive, RGB or gray, no EXIF rotation: `plain_jpeg`) are read as bytes and
decoded by torchvision: on CUDA together by nvJPEG (`torchvision.io.decode_jpeg(list, device="cuda")`), on the
CPU by torchvision's libjpeg-turbo straight into a tensor. Everything else is decoded on the host by
zoo.images.load_image (EXIF orientation, 16-bit PNGs, palettes, ...) and copied to the device from pinned
memory with `non_blocking=True`, as uint8 (a quarter of the bytes of the float batch).

On the CPU torchvision's libjpeg-turbo and PIL's give the same pixels (the same ISLOW IDCT and fancy chroma
upsampling; tests/test_device_pipeline.py checks every subsampling, progressive, gray and odd sizes bit for
bit), and skipping PIL's image object and its two copies decodes a 512x600 photo in 1.0 ms instead of 1.6 ms
(0.5 ms of yolov3-tiny's 13-14 ms int8 predict). nvJPEG uses a different IDCT and chroma upsampling, so a JPEG
decoded on the GPU differs from the host decode by a few levels in some pixels (mean well under one level);
`ZOO_GPU_DECODE=0` turns the device decode off when bit-equal inputs matter.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zoo.images import is_url, load_image

JPEG_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif")
EXIF_ORIENTATION = 0x0112


def gpu_decode_enabled(device: torch.device) -> bool:
    """Whether JPEG files are decoded on `device` (CUDA, and not switched off by ZOO_GPU_DECODE=0)."""
    return device.type == "cuda" and os.environ.get("ZOO_GPU_DECODE", "1") != "0"


def plain_jpeg(path: str | os.PathLike[str]) -> bool:
    """A JPEG that torchvision decodes to what load_image gives (bit for bit on the CPU, up to the decoders'
    rounding with nvJPEG): RGB or gray, no EXIF rotation, within PIL's decompression-bomb limit. Reads the
    header only (0.04 ms)."""
    import warnings

    from PIL import Image

    if Path(path).suffix.lower() not in JPEG_SUFFIXES:
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                w, h = im.size
                limit = Image.MAX_IMAGE_PIXELS
                return (im.format == "JPEG" and im.mode in ("RGB", "L") and (limit is None or w * h <= limit)
                        and im.getexif().get(EXIF_ORIENTATION, 1) == 1)
    except Exception:  # noqa: BLE001 - anything odd goes to load_image, which says what is wrong in one line
        return False


def read_bytes(path: str | os.PathLike[str]) -> torch.Tensor:
    """A file's bytes as a 1-D uint8 tensor (what decode_jpeg takes)."""
    return torch.frombuffer(bytearray(Path(path).read_bytes()), dtype=torch.uint8)


def decode_jpegs(data: Sequence[torch.Tensor], device: torch.device) -> list[torch.Tensor | None]:
    """JPEG byte tensors -> 3xHxW uint8 RGB on `device` (on CUDA in one nvJPEG call; on the CPU channels-last
    views, as host_to_device gives); an entry the decoder refuses (a truncated or corrupt file) is None: the
    caller decodes that file with load_image, which says in one line what is wrong."""
    import warnings

    from torchvision.io import ImageReadMode, decode_jpeg

    if not data:
        return []
    with warnings.catch_warnings():
        # torchvision 0.29 deprecates its image codecs for TorchCodec; the pinned 0.29 has them, and OpenCV's
        # decoder (the other bit-equal one) returns a truncated JPEG's missing rows as gray instead of failing
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return list(decode_jpeg(list(data), mode=ImageReadMode.RGB, device=device))
        except RuntimeError:  # one bad file fails the batch: decode one by one, keep what works
            out: list[torch.Tensor | None] = []
            for d in data:
                try:
                    out.append(decode_jpeg(d, mode=ImageReadMode.RGB, device=device))
                except RuntimeError:
                    out.append(None)
            return out


def decode_file(path: str | os.PathLike[str]) -> torch.Tensor:
    """An image file -> uint8 3xHxW on the host, as load_images decodes it on the CPU: a plain JPEG by
    torchvision's libjpeg-turbo (a channels-last view), anything else (or a JPEG it refuses) by load_image."""
    if plain_jpeg(path):
        image = decode_jpegs([read_bytes(path)], torch.device("cpu"))[0]
        if image is not None:
            return image
    return torch.from_numpy(load_image(path)).permute(2, 0, 1)


def host_to_device(arr: np.ndarray, device: torch.device) -> torch.Tensor:
    """HxWx3 uint8 array -> 3xHxW uint8 tensor on `device`: pinned host memory and an asynchronous copy on
    CUDA (the copy overlaps the next image's decode), a zero-copy view on the CPU."""
    t = torch.from_numpy(arr)
    if device.type == "cuda":
        t = t.pin_memory().to(device, non_blocking=True)
    elif device.type != "cpu":
        t = t.to(device)
    return t.permute(2, 0, 1)


def is_device_image(item: Any) -> bool:
    """A uint8 3xHxW tensor: used as it is (moved to the device when elsewhere), no host round trip."""
    return isinstance(item, torch.Tensor) and item.dtype == torch.uint8 and item.ndim == 3 and item.shape[0] == 3


def to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A tensor onto `device`; from CPU memory to CUDA asynchronously (pinned first unless it already is)."""
    if t.device == device:
        return t
    if device.type == "cuda" and t.device.type == "cpu":
        return (t if t.is_pinned() else t.pin_memory()).to(device, non_blocking=True)
    return t.to(device)


def load_images(items: Sequence[Any], device: torch.device) -> list[torch.Tensor]:
    """Paths, arrays, PIL images or tensors -> uint8 3xHxW tensors on `device`, in order.

    load_image decides what every input means (its errors are the one-line InputErrors users see); plain JPEG
    files go to torchvision's decoder instead: nvJPEG on CUDA (unless ZOO_GPU_DECODE=0), libjpeg-turbo on the
    CPU."""
    out: list[torch.Tensor | None] = [None] * len(items)
    jpegs: list[int] = []
    torchvision_decode = gpu_decode_enabled(device) or device.type == "cpu"
    for i, item in enumerate(items):
        if is_device_image(item):
            out[i] = to_device(item, device)
        elif torchvision_decode and isinstance(item, (str, os.PathLike)) \
                and not (isinstance(item, str) and is_url(item)) and plain_jpeg(item):
            jpegs.append(i)
        else:
            out[i] = host_to_device(load_image(item), device)
    if jpegs:
        for i, t in zip(jpegs, decode_jpegs([read_bytes(items[i]) for i in jpegs], device)):
            out[i] = t if t is not None else host_to_device(load_image(items[i]), device)
    return out  # type: ignore[return-value]
