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


def label_box(draw: Any, xy: tuple[float, float], text: str, rgb: tuple[int, int, int], size: int = 14) -> None:
    f = font(size)
    x, y = xy
    left, t, r, b = draw.textbbox((x, y), text, font=f)
    y = max(0.0, y - (b - t) - 4)
    draw.rectangle([x, y, x + (r - left) + 4, y + (b - t) + 4], fill=rgb)
    draw.text((x + 2, y + 1), text, fill=(0, 0, 0) if sum(rgb) > 382 else (255, 255, 255), font=f)

