"""Example outputs drawn by each model itself, with its cached weights, on the example photos: detections,
masks, skeletons, faces with landmarks, a generator's grid and interpolation strip, a translation's before/after.
A model whose weights are not cached gets no picture, only the reason (never a random-init drawing)."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.errors import first_line

MAX_SIDE = 720  # px: drawn photos are shrunk to this for the page (the originals stay where they are)
GRID_N = 8  # generators: images in the sample grid (zoo generate's default)
WALK_STEPS = 8  # generators: frames of the interpolation strip
PHOTOS_PER_MODEL = 4  # photos each image model is run on (the first ones of the example folder, sorted)
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
NO_PICTURE_TASKS = {"embedding": "an embedding model outputs a vector per face: there is nothing to draw"}


@dataclass(frozen=True)
class Picture:
    stem: str  # file name part, unique within the model
    data: bytes
    suffix: str  # ".png" or ".jpg"
    caption: str


@dataclass
class Examples:
    pictures: list[Picture] = field(default_factory=list)
    reason: str = ""  # why there are none (or what went wrong), shown instead of a picture
    weights: str = ""  # the weights that drew them ("name.tag")
    seconds: float = 0.0


def example_photos(folder: Path | None) -> list[Path]:
    """The photos of `folder` (sorted), or the zoo's own test photo when no folder is given."""
    if folder is None:
        from zoo.testing.kit import SAMPLE_IMAGE

        folder = SAMPLE_IMAGE.parent
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file())


def cached_tag(spec: Any, is_cached: Callable[[Any, Any], bool]) -> str | None:
    """The tag to draw with: the default weights when cached, else the first cached tag."""
    default = spec.default_weights()
    tags = [w.tag for w in spec.weights if is_cached(spec, w)]
    if default is not None and default.tag in tags:
        return default.tag
    return tags[0] if tags else None


def draw_examples(spec: Any, photos: Sequence[Path], is_cached: Callable[[Any, Any], bool]) -> Examples:
    """Run `spec`'s model with its cached weights and draw what it returns (failures become the reason)."""
    if spec.task in NO_PICTURE_TASKS:
        return Examples(reason=NO_PICTURE_TASKS[spec.task])
    tag = cached_tag(spec, is_cached)
    if tag is None:
        if not spec.weights:
            return Examples(reason="no published weights (random init only): nothing true to draw")
        how = f"zoo download {spec.name}" if spec.pretrained else f"zoo import {spec.name} FILE"
        return Examples(reason=f"weights not cached on this machine; '{how}' and rebuild the report to see its outputs")
    t0 = time.perf_counter()
    try:
        from zoo.api import load

        model = load(f"{spec.name}.{tag}", pretrained=True)
        if getattr(model, "inputs", "images") == "latents":
            pictures = _generated(model)
        elif not photos:
            return Examples(reason="no example photos found", weights=f"{spec.name}.{tag}")
        elif spec.task == "image-translation":
            pictures = _translated(model, photos[:PHOTOS_PER_MODEL])
        else:
            pictures = _drawn(model, photos[:PHOTOS_PER_MODEL])
    except Exception as e:  # one model failing to draw never stops the site
        return Examples(reason=f"drawing failed: {first_line(e, with_type=True)}", weights=f"{spec.name}.{tag}",
                        seconds=time.perf_counter() - t0)
    return Examples(pictures, "", f"{spec.name}.{tag}", time.perf_counter() - t0)


def _drawn(model: Any, photos: Sequence[Path]) -> list[Picture]:
    results = model.predict([str(p) for p in photos])
    out = []
    for photo, result in zip(photos, results):
        caption = f"{photo.name}: {_summary(result)}"
        out.append(Picture(photo.stem, _jpeg(result.draw(str(photo))), ".jpg", caption))
    return out


def _summary(result: Any) -> str:
    """A few words on what the model found (the JSON's first level, counted)."""
    data = result.to_json() if hasattr(result, "to_json") else {}
    for key, what in (("detections", "detection"), ("people", "person"), ("topk", "top-5 label")):
        items = data.get(key) if isinstance(data, dict) else None
        if isinstance(items, list):
            if key == "topk" and items:
                top = items[0]
                return f"top-1 {top.get('label')} ({top.get('score', 0):.2f})"
            return f"{len(items)} {what}{'s' if len(items) != 1 else ''}"
    return "drawn by the model"


def _translated(model: Any, photos: Sequence[Path]) -> list[Picture]:
    from PIL import Image

    out = []
    for photo in photos:
        after = model.predict(str(photo)).draw()
        before = Image.open(photo).convert("RGB").resize(after.size)
        pair = Image.new("RGB", (after.width * 2 + 8, after.height), (255, 255, 255))
        pair.paste(before, (0, 0))
        pair.paste(after, (after.width + 8, 0))
        out.append(Picture(photo.stem, _jpeg(pair), ".jpg", f"{photo.name}: before (left) and after (right)"))
    return out


def _generated(model: Any) -> list[Picture]:
    from zoo.tasks.generation import GenerationRequest, interpolation_request

    grid = model.predict(GenerationRequest(n=GRID_N, seed=0)).grid()
    walk = model.predict(interpolation_request(model, WALK_STEPS, seed=0)).grid(cols=WALK_STEPS)
    return [Picture("grid", _png(grid), ".png", f"{GRID_N} samples, seed 0"),
            Picture("walk", _png(walk), ".png", f"interpolation strip: {WALK_STEPS} steps between two latents (seed 0)")]


def _shrunk(image: Any) -> Any:
    scale = MAX_SIDE / max(image.size)
    if scale >= 1:
        return image.convert("RGB")
    return image.convert("RGB").resize((round(image.width * scale), round(image.height * scale)))


def _jpeg(image: Any) -> bytes:
    buf = io.BytesIO()
    _shrunk(image).save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def _png(image: Any) -> bytes:
    buf = io.BytesIO()
    _shrunk(image).save(buf, format="PNG", optimize=True)
    return buf.getvalue()
