"""`zoo eval --imagenet DIR`: class folders named by label, index or WordNet id; top-1 / top-5."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from zoo.cli import main
from zoo.errors import InputError
from zoo.images import load_image
from zoo.model import as_image_list
from zoo.ops.resize import ImageMeta
from zoo.spec import ModelSpec
from zoo.tasks.classification import Classifier


class RedOracle(Classifier):
    """Predicts class R // 10 of the image's red level, with class+1 as its second guess."""

    def preprocess(self, images: Any) -> tuple[torch.Tensor, list[ImageMeta]]:
        arrs = [load_image(i) for i in as_image_list(images)]
        return torch.tensor([float(a[..., 0].mean()) for a in arrs]), [ImageMeta(a.shape[:2], a.shape[:2]) for a in arrs]

    def forward(self, reds: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(len(reds), 1000)
        for i, r in enumerate(reds.tolist()):
            p = int(round(r)) // 10
            logits[i, p], logits[i, (p + 1) % 1000] = 10.0, 5.0
        return logits


def red_oracle() -> RedOracle:
    spec = ModelSpec(name="red-oracle", family="test", task="classification", builder="x:y", categories="imagenet1k")
    return RedOracle(spec, torch.nn.Identity())


CLASSES = {1: "goldfish", 2: "great white shark", 3: "tiger shark"}


def make_folder(root: Path, naming: str) -> Path:
    """Per class c: two images the oracle gets right (red 10c) and one it ranks second (red 10(c-1))."""
    wnids = [f"n{i:08d}" for i in range(1000)]
    for c, label in CLASSES.items():
        name = {"index": str(c), "label": label.replace(" ", "_"), "wnid": wnids[c]}[naming]
        (root / name).mkdir(parents=True)
        for k, red in enumerate((10 * c, 10 * c, 10 * (c - 1))):
            arr = np.zeros((16, 16, 3), np.uint8)
            arr[..., 0] = red
            Image.fromarray(arr).save(root / name / f"img{k}.png")
    if naming == "wnid":
        (root / "LOC_synset_mapping.txt").write_text("".join(f"{w} class {i}\n" for i, w in enumerate(wnids)))
    return root


@pytest.mark.parametrize("naming", ["index", "label", "wnid"])
def test_top1_top5(tmp_path: Path, naming: str) -> None:
    root = make_folder(tmp_path / "val", naming)
    report = zoo.evaluate(red_oracle(), imagenet=root, batch_size=4, progress=False, results=tmp_path / "r.json")
    assert report.kind == "imagenet" and report.num_images == 9
    assert report.metrics["classification"]["top1"] == pytest.approx(100 * 6 / 9)
    assert report.metrics["classification"]["top5"] == 100.0
    rows = json.loads((tmp_path / "r.json").read_text())
    assert sorted(r["target"] for r in rows) == [1, 1, 1, 2, 2, 2, 3, 3, 3]


def test_limit_takes_every_class_first(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "val", "index")
    report = zoo.evaluate(red_oracle(), imagenet=root, limit=3, progress=False)
    assert report.num_images == 3 and report.metrics["classification"]["top1"] == 100.0


def test_unknown_class_folder_and_real_classifier(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_folder(tmp_path / "val", "label")
    (root / "not_a_class").mkdir()
    with pytest.raises(InputError, match="matches no label"):
        zoo.evaluate(red_oracle(), imagenet=root, progress=False)
    (root / "not_a_class").rmdir()
    main(["eval", "resnet18", "--imagenet", str(root), "--random-init", "--json", "--no-progress", "--limit", "3"])
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == "resnet18" and out["num_images"] == 3 and out["kind"] == "imagenet"
    assert 0.0 <= out["metrics"]["classification"]["top1"] <= out["metrics"]["classification"]["top5"] <= 100.0
