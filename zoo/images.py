"""Reading user images into RGB uint8 arrays, with one-line errors for anything unusable."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import InputError, first_line

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}


def load_image(image: Any) -> np.ndarray:
    """A path, PIL image, HWC ndarray or CHW tensor -> HWC uint8 RGB ndarray."""
    if isinstance(image, str) and is_url(image):
        return _decode(fetch_url(image), image)
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
        if t.numel() == 0:
            raise InputError(f"image tensor is empty (shape {tuple(t.shape)})")
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
    if arr.size == 0:
        raise InputError(f"image {what} is empty (shape {tuple(arr.shape)})")
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
    """Read an image file (an empty file, a folder or a missing path is one InputError naming it)."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; pass image files (or a glob)")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file (0 bytes)")
    return _decode(path, str(path))


def _decode(source: Path | bytes, name: str) -> np.ndarray:
    """Decode an image file or downloaded bytes, one way for both: EXIF orientation applied (a phone photo is
    predicted and drawn upright), every PIL mode converted by pil_to_rgb, and images over PIL's
    decompression-bomb limit refused before their pixels are decoded. Every failure is one InputError
    naming `name`."""
    import io
    import warnings

    from PIL import Image, ImageOps, UnidentifiedImageError

    limit = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            # PIL warns (on stderr) about corrupt metadata and near-limit sizes; the checks here say what matters
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as im:
                w, h = im.size
                if limit is not None and w * h > limit:
                    raise InputError(f"{name}: {w}x{h} pixels is over the decompression-bomb limit of {limit} "
                                     "pixels (PIL.Image.MAX_IMAGE_PIXELS); not read")
                im.load()
                im = ImageOps.exif_transpose(im)
                return pil_to_rgb(im)
    except Image.DecompressionBombError as e:
        raise InputError(f"{name}: over the decompression-bomb limit ({e})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as e:
        raise InputError(f"{name}: not a readable image ({first_line(e)})") from None


URL_TIMEOUT_S = 20.0


def is_url(text: str) -> bool:
    return text.lower().startswith(("http://", "https://"))


def fetch_url(url: str, timeout: float = URL_TIMEOUT_S) -> bytes:
    """The bytes at an http(s) URL (images only: no cache, no retries); offline or unreachable is one line."""
    import urllib.error
    import urllib.request

    from zoo.settings import is_offline

    if is_offline():
        raise InputError(f"{url}: cannot download while the zoo is offline (ZOO_OFFLINE / HF_HUB_OFFLINE set); "
                         "download the image and pass the file")
    req = urllib.request.Request(url, headers={"User-Agent": "cvzoo"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - http(s) only, checked above
            return resp.read()
    except urllib.error.HTTPError as e:
        raise InputError(f"{url}: download failed (HTTP {e.code} {e.reason})") from None
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or e
        raise InputError(f"{url}: download failed ({reason}; no network?)") from None


GLOB_CHARS = set("*?[")


@dataclass
class InputFile:
    """One CLI input: the local file to read, what the user called it, and where its outputs go below --out
    (`rel`: the path below the inputs' common folder, extension kept, so outputs never collide)."""

    path: Path
    source: str
    rel: Path


def collect_inputs(items: list[str], recursive: bool = False, tmp: Path | None = None,
                   stdin: Any = None) -> list[InputFile]:
    """CLI inputs -> files: paths as given, folders (with `recursive`, their sub-folders too) expanded to their
    image files, quoted globs expanded, `-` read from stdin and http(s) URLs downloaded into `tmp`."""
    import glob
    import sys

    check_paths(items)
    local: list[tuple[Path, str]] = []
    fetched: list[InputFile] = []
    for item in items:
        if item == "-" or is_url(item):
            if tmp is None:
                raise InputError(f"{item}: stdin and URLs need a scratch folder")
            if item == "-":
                data = (stdin or sys.stdin.buffer).read()
                if not data:
                    raise InputError("-: stdin is empty (pipe an image in, e.g. 'cat a.jpg | zoo predict NAME -')")
                name = "stdin" + _suffix_of(data)
            else:
                data = fetch_url(item)
                name = Path(item.split("?", 1)[0].split("#", 1)[0].rstrip("/")).name or "download"
                if Path(name).suffix.lower() not in IMAGE_SUFFIXES | VIDEO_SUFFIXES:
                    name += _suffix_of(data)
            dst = tmp / str(len(fetched)) / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(data)
            fetched.append(InputFile(dst, item, Path(name)))
            continue
        p = Path(item)
        if p.is_dir():
            found = sorted(q for q in (p.rglob("*") if recursive else p.iterdir())
                           if q.is_file() and q.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                deeper = not recursive and any(q.suffix.lower() in IMAGE_SUFFIXES for q in p.rglob("*"))
                raise InputError(f"{p}: folder holds no images" + (" (its sub-folders do: add --recursive)" if deeper else ""))
            local.extend((q, str(q)) for q in found)
        elif not p.exists() and GLOB_CHARS & set(item):
            found = sorted(Path(m) for m in glob.glob(item, recursive=recursive) if Path(m).is_file())
            if not found:
                raise InputError(f"{item}: no files match")
            local.extend((q, str(q)) for q in found)
        else:
            local.append((p, item))
    base = _common_folder([q for q, _ in local])
    out = [InputFile(q, shown, _relative(q, base)) for q, shown in local] + fetched
    _dedupe(out)
    return out


def check_paths(items: list[str]) -> None:
    """Local inputs that name nothing (a typo'd path) or that this user cannot read: one line for all of them,
    before any download, decode or model load (globs and folders are checked when expanded)."""
    missing, unreadable = [], []
    for item in items:
        if item == "-" or is_url(item):
            continue
        p = Path(item)
        if p.exists():
            if not os.access(p, os.R_OK | (os.X_OK if p.is_dir() else 0)):
                unreadable.append(item)
        elif not GLOB_CHARS & set(item):
            missing.append(item)
    problems = [f"{', '.join(names)}: {what}" for names, what in
                ((missing, "no such file" + ("s" if len(missing) > 1 else "")),
                 (unreadable, "permission denied (cannot read it)")) if names]
    if problems:
        raise InputError("; ".join(problems))


def expand_inputs(items: list[str], recursive: bool = False) -> list[Path]:
    """CLI inputs: files as given, folders expanded to their image files (sorted)."""
    return [f.path for f in collect_inputs(items, recursive)]


def _suffix_of(data: bytes) -> str:
    """A file suffix for downloaded or piped bytes, from their signature."""
    for magic, suffix in ((b"\xff\xd8\xff", ".jpg"), (b"\x89PNG", ".png"), (b"GIF8", ".gif"), (b"BM", ".bmp"),
                          (b"II*\x00", ".tif"), (b"MM\x00*", ".tif")):
        if data.startswith(magic):
            return suffix
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    return ".img"


def _common_folder(paths: list[Path]) -> Path | None:
    if not paths:
        return None
    try:
        return Path(os.path.commonpath([os.path.abspath(q.parent) for q in paths]))
    except ValueError:  # different drives
        return None


def _relative(path: Path, base: Path | None) -> Path:
    if base is None:
        return Path(path.name)
    return Path(os.path.relpath(os.path.abspath(path), base))


def _dedupe(files: list[InputFile]) -> None:
    """Give colliding output names of different inputs a -2, -3, ... suffix (a URL and a file of one name); the
    same file given twice keeps one name."""
    for f, rel in zip(files, distinct_rels(files)):
        f.rel = rel


def distinct_rels(files: list[InputFile], name: Callable[[Path], Path] | None = None) -> list[Path]:
    """Per file, its `rel`, or where the name made from it (`name(rel)`, e.g. a drawn output's path; default:
    rel itself) is already another input file's, rel with a -2, -3, ... stem suffix: the first input keeps its
    name, the next ones get predictable ones. Names compare case-insensitively (one file on macOS and Windows);
    the same file given twice keeps one name."""
    name = name or (lambda rel: rel)
    taken: dict[str, str] = {}  # name -> the input file holding it
    out = []
    for f in files:
        me = os.path.abspath(f.path)
        rel, n = f.rel, 1
        while taken.get(str(name(rel)).lower(), me) != me:
            n += 1
            rel = f.rel.with_name(f"{f.rel.stem}-{n}{f.rel.suffix}")
        taken[str(name(rel)).lower()] = me
        out.append(rel)
    return out


VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"}


def is_video(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def read_video(path: str | os.PathLike[str], every: int = 1) -> tuple[float, Any]:
    """(frames per second, iterator of (frame index, HxWx3 uint8 RGB frame)), every `every`-th frame."""
    import cv2

    path = Path(path)
    if every < 1:
        raise InputError(f"every must be at least 1 (every N-th frame), got {every}")
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
                if index % every == 0:
                    yield index, np.ascontiguousarray(frame[:, :, ::-1])
                ok, frame = cap.read()
                frame = frame if ok else None
                index += 1
        finally:
            cap.release()

    return fps, frames()


class VideoOut:
    """An mp4 written frame by frame (RGB HxWx3 uint8, its size from the first frame) into a temp file beside
    `dst`, which becomes `dst` on close(keep=True): a failed run leaves no half video and never a torn one."""

    def __init__(self, dst: str | os.PathLike[str], fps: float):
        import contextlib

        self.dst, self.fps, self.writer = Path(dst), fps, None
        self._file = contextlib.ExitStack()

    def write(self, frame: Any) -> None:
        """One frame: an HxWx3 uint8 RGB array or a PIL image."""
        import cv2

        from zoo.fsutil import atomic_path

        frame = np.asarray(frame)
        if self.writer is None:
            tmp = self._file.enter_context(atomic_path(self.dst))
            h, w = frame.shape[:2]
            self.writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (w, h))
        self.writer.write(np.ascontiguousarray(frame[:, :, ::-1]))

    def close(self, keep: bool = True) -> None:
        """The video takes its place (`keep`), or its temp file is removed."""
        if self.writer is not None:
            self.writer.release()
        if keep:
            self._file.close()
        else:
            self._file.__exit__(InterruptedError, InterruptedError("run failed"), None)


def check_image_out(path: str | os.PathLike[str], flag: str = "--out") -> Path:
    """An output image path Pillow can write (its extension names a format Pillow saves), in an existing
    folder: checked before minutes of work, not after them."""
    from PIL import Image

    from zoo.fsutil import check_out_file

    path = check_out_file(path, flag)
    Image.init()
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None or fmt not in Image.SAVE:
        raise InputError(f"{flag} {path}: cannot write a '{path.suffix or '(no extension)'}' image "
                         "(use .png, .jpg, .webp, .bmp or .tif)")
    return path
