"""Reading user images into RGB uint8 arrays, with one-line errors for anything unusable."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import InputError, first_line

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}


def load_image(image: Any) -> np.ndarray:
    """A path, PIL image, HWC ndarray or CHW tensor -> HWC uint8 RGB ndarray."""
    if isinstance(image, (str, os.PathLike)):
        return _read_file(Path(image))
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow is a dependency
        Image = None
    if Image is not None and isinstance(image, Image.Image):
        return pil_to_rgb(image)
    if isinstance(image, np.ndarray):
        return _from_array(image, "array")
    if type(image).__module__.startswith("torch"):
        t = image.detach().cpu()
        if t.ndim == 3 and t.shape[0] in (1, 3, 4):
            t = t.permute(1, 2, 0)
        arr = t.numpy()
        if arr.dtype != np.uint8:
            if arr.min() < 0 or arr.max() > 1:
                raise InputError("float image tensors must hold values in [0, 1]")
            arr = np.round(arr * 255).astype(np.uint8)
        return _from_array(arr, "tensor")
    raise InputError(f"cannot use an object of type {type(image).__name__} as an image")


def _from_array(arr: np.ndarray, what: str) -> np.ndarray:
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise InputError(f"image {what} must be HxW, HxWx1, HxWx3 or HxWx4, got shape {tuple(arr.shape)}")
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    if arr.shape[2] == 4:
        arr = arr[:, :, :3]
    if arr.dtype != np.uint8:
        if np.issubdtype(arr.dtype, np.floating) and arr.size and 0 <= arr.min() and arr.max() <= 1:
            arr = np.round(arr * 255)
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise InputError(f"image {what} is empty")
    return np.ascontiguousarray(arr)


def pil_to_rgb(im: Any) -> np.ndarray:
    """A PIL image of any mode -> HxWx3 uint8 RGB, keeping what each mode means.

    PIL's own convert("RGB") clips 16- and 32-bit grayscale to 255 (a 16-bit PNG comes out nearly all
    white), so those are scaled: 16-bit by 255/65535 (exactly (v + 128) // 257), 32-bit integers the
    same when they fit 16 bits, floats by 255 when they lie in [0, 1]. Alpha is dropped, as OpenCV's
    imread and torchvision's loaders do; palette images with transparency go through RGBA first so
    PIL does not warn.
    """
    mode = im.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        arr = np.asarray(im)
        if mode == "F":
            arr = arr.astype(np.float64)
            finite = arr[np.isfinite(arr)]
            if finite.size and finite.min() >= 0 and finite.max() <= 1:
                arr = arr * 255.0
            gray = np.clip(np.nan_to_num(np.round(arr)), 0, 255).astype(np.uint8)
        else:
            arr = arr.astype(np.int64)
            if mode == "I" and arr.size and (arr.min() < 0 or arr.max() > 65535):
                raise InputError(f"{mode} image holds values outside 0..65535 ({arr.min()}..{arr.max()}): "
                                 "not a 16-bit image; convert it to 8 bits first")
            gray = ((np.clip(arr, 0, 65535) + 128) // 257).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    if mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    return np.asarray(im.convert("RGB")).copy()


def _read_file(path: Path) -> np.ndarray:
    """Read an image file: EXIF orientation applied (a phone photo is predicted and drawn upright), every
    PIL mode converted by pil_to_rgb, and files over PIL's decompression-bomb limit refused before
    their pixels are decoded. Every failure is one InputError naming the file."""
    import warnings

    from PIL import Image, ImageOps, UnidentifiedImageError

    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; pass image files (or a glob)")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file (0 bytes)")
    limit = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            # PIL warns (on stderr) about corrupt metadata and near-limit sizes; the checks here say what matters
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                w, h = im.size
                if limit is not None and w * h > limit:
                    raise InputError(f"{path}: {w}x{h} pixels is over the decompression-bomb limit of {limit} "
                                     "pixels (PIL.Image.MAX_IMAGE_PIXELS); not read")
                im.load()
                im = ImageOps.exif_transpose(im)
                return pil_to_rgb(im)
    except Image.DecompressionBombError as e:
        raise InputError(f"{path}: over the decompression-bomb limit ({e})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as e:
        raise InputError(f"{path}: not a readable image ({first_line(e)})") from None


def expand_inputs(items: list[str]) -> list[Path]:
    """CLI inputs: files as given, folders expanded to their image files (sorted)."""
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise InputError(f"{p}: folder holds no images")
            out.extend(found)
        else:
            out.append(p)
    return out


VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"}


def is_video(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def read_video(path: str | os.PathLike[str], every: int = 1) -> tuple[float, Any]:
    """(frames per second, iterator of (frame index, HxWx3 uint8 RGB frame)), every `every`-th frame."""
    import cv2

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg's own stderr lines would break the one-line error
    cap = cv2.VideoCapture(str(path))
    ok, first = cap.read() if cap.isOpened() else (False, None)
    if not ok:
        cap.release()
        raise InputError(f"{path}: not a readable video")
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0) or 25.0

    def frames() -> Any:
        index, frame = 0, first
        try:
            while frame is not None:
                if index % max(1, every) == 0:
                    yield index, np.ascontiguousarray(frame[:, :, ::-1])
                ok, frame = cap.read()
                frame = frame if ok else None
                index += 1
        finally:
            cap.release()

    return fps, frames()
