"""Result types of the faces family: one embedding per image, and a two-photo comparison."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from zoo.tasks.results import Result, label_box


@dataclass
class EmbeddingResult(Result):
    """A unit-length embedding of one image (or of the face found in it, with its box)."""

    embedding: list[float] = field(default_factory=list)
    box: list[float] | None = None  # the face the embedding describes, in image pixels, when a detector chose it
    reference: str | None = None  # with --compare: the image this one was compared with (the first of the call)
    distance: float | None = None  # L2 distance to the reference's embedding
    same: bool | None = None  # distance < threshold
    threshold: float | None = None
    error: str | None = None  # why there is no embedding (compare mode: "no face found")

    def to_json(self) -> dict[str, Any]:
        if self.error is not None:
            return {"source": self.source, "image_size": list(self.image_size), "error": self.error}
        out: dict[str, Any] = {"source": self.source, "image_size": list(self.image_size),
                               "embedding": [round(float(v), 6) for v in self.embedding]}
        if self.box is not None:
            out["box"] = [round(float(v), 2) for v in self.box]
        if self.distance is not None:
            out.update(compared_with=self.reference, distance=round(self.distance, 6), threshold=self.threshold,
                       same_person=self.same)
        return out

    def rows(self) -> tuple[list[str], list[list[Any]]]:
        if self.error is not None:
            return ["error"], [[self.error]]
        head = ", ".join(f"{v:+.3f}" for v in self.embedding[:4])
        norm = math.sqrt(sum(v * v for v in self.embedding))
        cols, row = ["dim", "norm", "first values"], [len(self.embedding), f"{norm:.3f}", head + ", …"]
        if self.distance is not None:
            cols += ["compared with", "distance", "verdict"]
            row += [self.reference, f"{self.distance:.4f}",
                    f"{'same person' if self.same else 'different people'} (threshold {self.threshold})"]
        return cols, [row]

    def draw(self, image: Any = None) -> Any:
        from PIL import ImageDraw

        canvas = self._canvas(image)
        draw = ImageDraw.Draw(canvas)
        if self.box is not None:
            draw.rectangle(self.box, outline=(0, 130, 200), width=max(2, round(max(canvas.size) / 300)))
        label_box(draw, tuple(self.box[:2]) if self.box else (0, 20), f"{len(self.embedding)}-d embedding", (0, 130, 200))
        return canvas


def l2_distance(a: list[float], b: list[float]) -> float:
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))


@dataclass
class FaceComparison:
    """Whether two photos show the same person: L2 distance of their face embeddings against a threshold."""

    a: EmbeddingResult
    b: EmbeddingResult
    distance: float
    threshold: float
    same: bool

    def to_json(self) -> dict[str, Any]:
        return {"a": self.a.source, "b": self.b.source, "box_a": self.a.box, "box_b": self.b.box,
                "distance": round(self.distance, 6), "threshold": self.threshold, "same_person": self.same}

    def line(self) -> str:
        verdict = "same person" if self.same else "different people"
        return f"{self.a.source} vs {self.b.source}: distance {self.distance:.4f} -> {verdict} (threshold {self.threshold})"
