"""The photos an int8 export is calibrated on (and every reduced precision is guarded on): a folder of images
(`--calibration DIR`), by default the few photos shipped in zoo/data/calibration, each run through the model's
own preprocess into the shape the export takes."""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zoo.errors import ExportError, InputError, first_line

__all__ = ["BUNDLED", "HELD_OUT_VIEWS", "CalibrationSet", "GuardInput", "PhotoError", "calibration_samples",
           "calibration_set", "decoded", "image_leaves"]

BUNDLED = Path(__file__).resolve().parents[1] / "data" / "calibration"  # four public-domain / CC0 photos
MAX_IMAGES = 300  # NNCF's default subset_size: more photos add time, not accuracy


def _centre(image: np.ndarray, keep: float = 0.8) -> np.ndarray:
    h, w = image.shape[:2]
    top, left = int(h * (1 - keep) / 2), int(w * (1 - keep) / 2)
    return image[top:h - top, left:w - left]


# the guard's held-out copies of each calibration photo (zoo.runtimes.guard): the same scene, other pixels
HELD_OUT_VIEWS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"mirrored": lambda image: image[:, ::-1],
                                                                  "centre 80%": _centre}


@dataclass(frozen=True)
class CalibrationSet:
    """Image files, where they came from ("bundled" or the folder given) and a sha256 over their bytes."""

    files: tuple[Path, ...]
    source: str
    sha256: str

    def describe(self) -> dict[str, Any]:
        """What an artefact's metadata and the bench notes say about it."""
        return {"source": self.source, "images": len(self.files), "sha256": self.sha256}

    def guard_inputs(self) -> list[GuardInput]:
        """What a reduced precision is judged on: each photo and its HELD_OUT_VIEWS, decoded when used (a
        300-photo set stays 300 paths). The views are inputs the calibration never saw: an int8 model fitted to
        its four photos kept yolov3-tiny's detections on them and moved 3-5 of 7 on their mirrored and cropped
        copies (docs/runtimes.md)."""
        return [GuardInput(p, view, self.source) for p in self.files for view in (None, *HELD_OUT_VIEWS)]


@dataclass(frozen=True)
class GuardInput:
    """One input of the guard: a calibration photo (`view` None) or a held-out view of it."""

    path: Path
    view: str | None = None
    source: str | None = None  # the --calibration folder it came from, for its errors

    @property
    def name(self) -> str:
        return self.path.name + (f" {self.view}" if self.view else "")

    def load(self) -> np.ndarray:
        """What predict takes: the photo's (or the view's) HxWx3 pixels; a photo that cannot be decoded ->
        PhotoError (a guard that meets one stops with it instead of reporting "not run")."""
        image = decoded(self.path, self.source)
        return image if self.view is None else np.ascontiguousarray(HELD_OUT_VIEWS[self.view](image))


class PhotoError(InputError):
    """A calibration photo that cannot be decoded: the user's input, said in one line wherever it is met."""


def decoded(path: Path, source: str | None = None) -> np.ndarray:
    """A calibration photo's pixels (the decoder predict uses); one that cannot be decoded -> PhotoError naming
    it (`source`: the --calibration folder, said first)."""
    from zoo.images import load_image

    try:
        return load_image(path)
    except InputError as e:
        raise PhotoError(f"--calibration {source}: {e}" if source else str(e)) from None


def calibration_set(folder: str | Path | None = None) -> CalibrationSet:
    """The images of `folder` (None: the bundled photos), sorted, at most MAX_IMAGES; none -> one line."""
    from zoo.images import IMAGE_SUFFIXES

    root = BUNDLED if folder is None else Path(folder).expanduser()
    if not root.is_dir():
        raise InputError(f"--calibration {folder}: not a folder of images")
    files = tuple(sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES))
    if not files:
        raise InputError(f"--calibration {root}: no images in it ({', '.join(sorted(IMAGE_SUFFIXES))})")
    files = files[:MAX_IMAGES]
    h = hashlib.sha256()
    for p in files:  # names and bytes: a renamed or edited photo is another calibration set
        _identify(p, root)
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return CalibrationSet(files, "bundled" if folder is None else str(root.resolve()), h.hexdigest())


def _identify(path: Path, root: Path) -> None:
    """A file named like an image that is none (a saved error page, an empty file) -> one line naming it, before
    any export: PIL reads the header only (a truncated photo is found when it is decoded: calibration_samples)."""
    from PIL import Image

    try:
        with Image.open(path):
            pass
    except Exception as e:
        raise InputError(f"--calibration {root}: {path.name} is not an image ({first_line(e)})") from None


def image_leaves(model: Any, image: Any, leaves: list[torch.Tensor]) -> list[torch.Tensor] | None:
    """A real image through the model's own preprocess, shaped like the export's inputs (None when the
    model does not take images or cannot make that shape)."""
    from zoo.data import SAMPLE_IMAGE

    if getattr(model, "inputs", "images") != "images" or len(leaves) != 1 or leaves[0].ndim != 4:
        return None
    hw = tuple(leaves[0].shape[-2:])
    kwargs = {"size": hw} if "size" in inspect.signature(model.preprocess).parameters else {}
    try:
        with torch.inference_mode():
            batch, _ = model.preprocess(image if image is not None else str(SAMPLE_IMAGE), **kwargs)
    except Exception:
        return None
    if not isinstance(batch, torch.Tensor) or tuple(batch.shape[1:]) != tuple(leaves[0].shape[1:]):
        return None
    return [batch.repeat(leaves[0].shape[0], 1, 1, 1).clone()]


def _shape(t: torch.Tensor) -> str:
    return "x".join(str(d) for d in t.shape)


def _made(model: Any, photo: Path, leaves: list[torch.Tensor]) -> str:
    """What the model's preprocess makes of `photo` at the export's size, in a few words (for the refusal)."""
    kwargs = {"size": tuple(leaves[0].shape[-2:])} if "size" in inspect.signature(model.preprocess).parameters else {}
    try:
        with torch.inference_mode():
            batch, _ = model.preprocess(str(photo), **kwargs)
    except Exception as e:
        return f"an error ({first_line(e, with_type=True)})"
    if isinstance(batch, torch.Tensor):
        return _shape(batch)
    if isinstance(batch, (list, tuple)) and all(isinstance(t, torch.Tensor) for t in batch):
        return f"a list of {len(batch)} ({', '.join(_shape(t) for t in batch[:3])})"
    return type(batch).__name__


def calibration_samples(model: Any, cal: CalibrationSet, leaves: list[torch.Tensor]) -> list[list[torch.Tensor]]:
    """One input (flat tensors shaped like `leaves`) per calibration photo; a network that does not take one
    preprocessed image batch cannot be calibrated on photos: one line saying so."""
    samples = [s for s in (image_leaves(model, decoded(p, cal.source), leaves) for p in cal.files) if s is not None]
    if not samples:
        what = ("takes latents, not images" if getattr(model, "inputs", "images") != "images"
                else "does not take one batch of preprocessed images" if len(leaves) != 1 or leaves[0].ndim != 4
                else f"takes {_shape(leaves[0])} where its preprocess makes {_made(model, cal.files[0], leaves)}")
        raise ExportError(f"{model.spec.name} cannot be quantised to int8: its network {what}, and int8 "
                          "calibration runs photos through the model's preprocess")
    return samples
