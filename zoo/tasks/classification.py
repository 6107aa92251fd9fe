"""Classification: softmax top-k results shared by every classifier family."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from zoo.model import ZooModel
from zoo.ops.resize import ImageMeta
from zoo.tasks.results import Result, label_box


@dataclass
class Label:
    label: str
    class_id: int
    score: float


@dataclass
class ClassificationResult(Result):
    topk: list[Label] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "image_size": list(self.image_size),
                "topk": [{"label": p.label, "class_id": p.class_id, "score": round(p.score, 6)} for p in self.topk]}

    def rows(self) -> tuple[list[str], list[list[Any]]]:
        return ["rank", "label", "class_id", "score"], [[i + 1, p.label, p.class_id, f"{p.score:.4f}"]
                                                        for i, p in enumerate(self.topk)]

    def draw(self, image: Any = None) -> Any:
        from PIL import ImageDraw

        canvas = self._canvas(image)
        d = ImageDraw.Draw(canvas)
        for i, p in enumerate(self.topk[:5]):
            label_box(d, (4, 22 + 22 * i), f"{p.label} {p.score:.2f}", (255, 255, 255) if i else (255, 225, 25), 16)
        return canvas


class Classifier(ZooModel):
    """A ZooModel whose net maps NCHW images to class logits."""

    def postprocess(self, raw: torch.Tensor, metas: list[ImageMeta], topk: int = 5) -> list[ClassificationResult]:
        names = self.label_set()
        labels = names.labels if names is not None else None
        probs = raw.float().softmax(-1)
        k = min(topk, probs.shape[-1])
        scores, ids = probs.topk(k, dim=-1)
        out = []
        for meta, s_row, i_row in zip(metas, scores.tolist(), ids.tolist()):
            top = [Label(labels[i] if labels else str(i), i, s) for s, i in zip(s_row, i_row)]
            out.append(ClassificationResult(meta.source, meta.orig_size, top))
        return out
