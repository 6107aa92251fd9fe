"""A test plugin that adds two tasks the core does not have, as a third party would: a keypoint task (scored
by zoo eval with OKS) and a generation task (a model that takes latents, not images), a label set with a
skeleton, and one small model of each. Tests register it through a real entry point; nothing in zoo/eval,
zoo/bench or zoo/cli knows these tasks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from zoo.hookspecs import hookimpl
from zoo.model import ZooModel
from zoo.ops.resize import ImageMeta
from zoo.tasks.results import Result

POINTS = ("head",) + tuple(f"p{i}" for i in range(1, 17))  # 17, as the COCO keypoint sets tests generate
EDGES = tuple((0, i) for i in range(1, 17))
LATENT = 8


@hookimpl
def zoo_register_tasks(register: Any) -> None:
    register(name="toy-keypoints", description="image -> one person's 5 points", result="toy_tasks:PoseResult",
             options=[{"name": "min_score", "type": "float", "help": "drop people scoring less"}],
             scorer="zoo.eval.scorers:CocoKeypoints", dataset="coco", answers="people")
    register(name="toy-generation", description="latents -> images", result="toy_tasks:Images", inputs="latents",
             options=[{"name": "n", "type": "int"}, {"name": "seed", "type": "int"}])


@hookimpl
def zoo_register_models(register: Any) -> None:
    register.labels("toy-points", ["person"], keypoints=list(POINTS), skeleton=[list(e) for e in EDGES])
    common = {"family": "toy", "description": "test model", "license": "MIT", "num_params": 1, "gmacs": 1,
              "paper": {"title": "none", "year": 2024}, "notes": "test only: random weights"}
    register({"name": "toy-pose", "task": "toy-keypoints", "categories": "toy-points",
              "input": {"size": [32, 32], "resize": "stretch"}, **common}, builder="toy_tasks:build_pose")
    register({"name": "toy-gen", "task": "toy-generation", **common}, builder="toy_tasks:build_gen")


@dataclass
class Person:
    keypoints: list[list[float]]
    score: float
    box: list[float] | None = None


@dataclass
class PoseResult(Result):
    people: list[Person] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "people": [{"keypoints": p.keypoints, "score": p.score} for p in self.people]}

    def rows(self) -> tuple[list[str], list[list[Any]]]:
        return ["person", "score"], [[i, f"{p.score:.3f}"] for i, p in enumerate(self.people)]

    def draw(self, image: Any = None) -> Any:
        return self._canvas(image)


class ToyPose(ZooModel):
    """Heatmaps per point; each point at its heatmap's arg-max, in original-image pixels."""

    def postprocess(self, raw: torch.Tensor, metas: list[ImageMeta], min_score: float = 0.0) -> list[PoseResult]:
        n = len(self.label_set().keypoints)
        out = []
        for maps, meta in zip(raw.sigmoid(), metas):
            h, w = maps.shape[-2:]
            score, idx = maps.flatten(1).max(1)
            ys, xs = (idx // w).float(), (idx % w).float()
            sy, sx = meta.orig_size[0] / h, meta.orig_size[1] / w
            kps = [[float(x * sx), float(y * sy), float(s)] for x, y, s in zip(xs, ys, score)][:n]
            person = Person(kps, float(score.mean()))
            out.append(PoseResult(meta.source, meta.orig_size, [person] if person.score >= min_score else []))
        return out


def build_pose(spec: Any) -> ToyPose:
    return ToyPose(spec, nn.Conv2d(3, len(POINTS), 3, padding=1))


@dataclass
class Images(Result):
    images: list[np.ndarray] = field(default_factory=list)
    seed: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "n": len(self.images), "shape": list(self.images[0].shape) if self.images else []}

    def rows(self) -> tuple[list[str], list[list[Any]]]:
        return ["image", "mean"], [[i, f"{im.mean():.1f}"] for i, im in enumerate(self.images)]

    def draw(self, image: Any = None) -> Any:
        from PIL import Image

        return Image.fromarray(np.concatenate(self.images, 1))


class ToyGen(ZooModel):
    """Latents (n x 8, from a seed) -> 8x8 RGB images."""

    inputs = "latents"

    def preprocess(self, request: dict[str, int]) -> tuple[torch.Tensor, list[ImageMeta]]:
        n, seed = int(request.get("n", 1)), int(request.get("seed", 0))
        z = torch.randn(n, LATENT, generator=torch.Generator().manual_seed(seed))
        return z.to(self.device), [ImageMeta((8, 8), (8, 8), source=f"seed={seed}")]

    def postprocess(self, raw: torch.Tensor, metas: list[ImageMeta]) -> list[Images]:
        pixels = ((raw.view(-1, 8, 8, 3).tanh() + 1) * 127.5).round().to(torch.uint8).cpu().numpy()
        seed = int(metas[0].source.split("=")[1])
        return [Images(metas[0].source, (8, 8), list(pixels), seed)]

    def example_inputs(self, batch_size: int = 1, input_size: Any = None) -> tuple[Any, ...]:
        return (torch.randn(batch_size, LATENT, device=self.device),)

    def example_request(self, batch_size: int = 1, input_size: Any = None) -> dict[str, int]:
        return {"n": batch_size, "seed": 0}

    def input_label(self, input_size: Any = None) -> str:
        return f"z={LATENT}"


def build_gen(spec: Any) -> ToyGen:
    return ToyGen(spec, nn.Linear(LATENT, 8 * 8 * 3))
