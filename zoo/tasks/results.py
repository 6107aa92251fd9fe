"""The base of every result type: JSON form and drawing onto the source image."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PALETTE = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
           (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128), (170, 110, 40)]


def color(i: int) -> tuple[int, int, int]:
    return PALETTE[i % len(PALETTE)]


@dataclass
class Result:
    """A per-image result; subclasses add their fields, `to_json` and `draw`."""

    source: str | None
    image_size: tuple[int, int]  # (height, width) of the original image

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    def draw(self, image: Any) -> Any:
        raise NotImplementedError

    def rows(self) -> tuple[list[str], list[list[Any]]]:
        """Columns and rows for a human-readable table."""
        raise NotImplementedError

    def _canvas(self, image: Any) -> Any:
        from PIL import Image

        from zoo.images import load_image

        return Image.fromarray(load_image(image if image is not None else self.source)).convert("RGB")


def font(size: int = 14) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # pragma: no cover - old Pillow
        return ImageFont.load_default()


def label_box(draw: Any, xy: tuple[float, float], text: str, rgb: tuple[int, int, int], size: int = 14,
              taken: list[tuple[float, float, float, float]] | None = None) -> tuple[float, float, float, float]:
    """A filled label whose bottom-left sits at `xy`; with `taken` (the labels drawn so far) it moves down
    until it covers none of them, and is added to them. Returns its rectangle."""
    f = font(size)
    x, y = xy
    left, t, r, b = draw.textbbox((x, y), text, font=f)
    w, h = (r - left) + 4, (b - t) + 4
    y = max(0.0, y - h)
    for _ in range(len(taken or ())):
        hit = next((o for o in taken or () if x < o[2] and o[0] < x + w and y < o[3] and o[1] < y + h), None)
        if hit is None:
            break
        y = hit[3]  # just below the label it would hide
    rect = (x, y, x + w, y + h)
    draw.rectangle(list(rect), fill=rgb)
    draw.text((x + 2, y + 1), text, fill=(0, 0, 0) if sum(rgb) > 382 else (255, 255, 255), font=f)
    if taken is not None:
        taken.append(rect)
    return rect


def fitted_size(text: str, box_width: float, size: int, smallest: int = 8) -> int:
    """A label's font size: `size`, shrunk so that the label is about as wide as its box (a 20-pixel face gets
    no 40-pixel-wide label), never below `smallest`."""
    per_char = 0.6  # a character of the default font is about 0.6 em wide
    return int(max(smallest, min(size, box_width / (per_char * max(1, len(text))))))

