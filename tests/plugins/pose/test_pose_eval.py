"""`zoo eval` on a generated COCO person-keypoints set: models answering with the shared KeypointResult type
score OKS AP 1.0 with the ground truth, match pycocotools run directly when perturbed, and openpose-body's
own grouping turns oracle maps of the ground truth into people that score AP 1.0."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import zoo
from zoo.model import as_image_list
from zoo.ops.resize import ImageMeta
from zoo.spec import ModelSpec
from zoo.tasks.keypoints import KeypointModel, KeypointResult, Person
from zoo_pose import grouping
from zoo_pose.openpose import OpenPoseModel, prepare_images

sys.path.insert(0, str(Path(__file__).parents[2]))  # tests/: evalkit
from evalkit import make_keypoint_coco, pycocotools_direct  # noqa: E402


def annotations(ann_file: Path) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    data = json.loads(ann_file.read_text())
    names = {img["id"]: img["file_name"] for img in data["images"]}
    by_file: dict[str, list[dict[str, Any]]] = {n: [] for n in names.values()}
    for a in data["annotations"]:
        by_file[names[a["image_id"]]].append(a)
    return data, by_file


class KeypointOracle(KeypointModel):
    """Answers with the ground-truth people as Person objects, keypoints shifted by `perturb` pixels."""

    def __init__(self, ann_file: Path, perturb: float = 0.0, boxes: bool = True):
        spec = ModelSpec(name="kp-oracle", family="test", task="keypoints", builder="x:y", categories="coco-person-keypoints")
        super().__init__(spec, torch.nn.Identity())
        self.data, self.by_file = annotations(ann_file)
        self.perturb, self.boxes = perturb, boxes
        self.weights_source = "oracle"

    def preprocess(self, images: Any) -> tuple[list[str], list[ImageMeta]]:
        items = [str(p) for p in as_image_list(images)]
        return items, [ImageMeta((120, 160), (120, 160), source=p) for p in items]

    def forward(self, batch: list[str]) -> list[str]:
        return batch

    def postprocess(self, raw: list[str], metas: list[ImageMeta], conf: float | None = None) -> list[KeypointResult]:
        out = []
        for path, meta in zip(raw, metas):
            people = []
            for a in self.by_file[Path(path).name]:
                kps = np.asarray(a["keypoints"], np.float32).reshape(17, 3)
                kps[:, :2] += np.random.default_rng(a["id"]).normal(0, self.perturb, (17, 2)) if self.perturb else 0
                kps[:, 2] = 0.9
                x, y, w, h = a["bbox"]
                people.append(Person(kps, 0.5 + 0.1 * (a["id"] % 4), [x, y, x + w, y + h] if self.boxes else None))
            out.append(KeypointResult(path, meta.orig_size, people))
        return out


@pytest.mark.parametrize("boxes", [True, False])
def test_keypoint_result_type_scores_ap_one(tmp_path: Path, boxes: bool) -> None:
    ann = make_keypoint_coco(tmp_path / "kp")
    report = zoo.evaluate(KeypointOracle(ann, boxes=boxes), coco=tmp_path / "kp", progress=False)
    assert list(report.metrics) == (["bbox", "keypoints"] if boxes else ["keypoints"])
    assert report.metrics["keypoints"]["AP"] == 1.0
    if boxes:
        assert report.metrics["bbox"]["AP"] == 1.0


def test_perturbed_keypoints_score_what_pycocotools_gives(tmp_path: Path) -> None:
    ann = make_keypoint_coco(tmp_path / "kp", n=4, seed=1)
    results = tmp_path / "results.json"
    report = zoo.evaluate(KeypointOracle(ann, perturb=3.0), coco=tmp_path / "kp", progress=False, results=results)
    direct = pycocotools_direct(ann, json.loads(results.read_text()), "keypoints", tmp_path)
    got = [report.metrics["keypoints"][k] for k in ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")]
    assert got == pytest.approx(direct, abs=1e-12)
    assert 0.0 < report.metrics["keypoints"]["AP"] < 1.0


# ---------------------------------------------------------------------------------------- openpose-body

COCO_TO_OPENPOSE = {c: o for c, o in enumerate(grouping.OPENPOSE_TO_COCO)}


class MapOracle(OpenPoseModel):
    """openpose-body whose network is replaced by ideal stride-8 maps of the ground truth (Gaussian parts,
    unit PAFs along limbs); pre-processing, the resize chain and grouping are the model's own."""

    def __init__(self, ann_file: Path):
        spec = zoo.get_spec("openpose-body")
        super().__init__(spec, torch.nn.Identity())
        self.data, self.by_file = annotations(ann_file)
        self.weights_source = "oracle"
        self.pending: list[Any] = []

    def preprocess(self, images: Any) -> tuple[list[torch.Tensor], list[Any]]:
        tensors, metas = prepare_images(images)
        self.pending = metas
        return tensors, metas

    def forward(self, batch: Any) -> Any:
        return [self.render(meta) for meta in self.pending]

    def render(self, meta: Any) -> tuple[torch.Tensor, torch.Tensor]:
        (ph, pw), (sh, _) = meta.padded[0], meta.scaled[0]
        h, w = ph // 8, pw // 8
        m = sh / meta.orig_size[0]  # network pixels per image pixel
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
        heat, paf = np.zeros((19, h, w)), np.zeros((38, h, w))
        for a in self.by_file[Path(meta.source).name]:
            coco = np.asarray(a["keypoints"]).reshape(17, 3)[:, :2]
            pts = np.zeros((18, 2))
            for c, o in COCO_TO_OPENPOSE.items():
                pts[o] = coco[c]
            pts[1] = (coco[5] + coco[6]) / 2  # the neck OpenPose has and COCO lacks
            low = (pts * m + 0.5) / 8 - 0.5  # image pixel -> stride-8 map coordinate
            for p in range(18):
                heat[p] = np.maximum(heat[p], np.exp(-((xx - low[p, 0]) ** 2 + (yy - low[p, 1]) ** 2) / 2))
            for k, (i, j) in enumerate(grouping.LIMBS):
                d = low[j] - low[i]
                length = max(np.hypot(*d), 1e-6)
                u = d / length
                t = (xx - low[i, 0]) * u[0] + (yy - low[i, 1]) * u[1]
                near = (t >= -1) & (t <= length + 1) & (np.abs((xx - low[i, 0]) * u[1] - (yy - low[i, 1]) * u[0]) <= 1.0)
                cx, cy = grouping.PAF_CHANNELS[k]
                paf[cx][near], paf[cy][near] = u[0], u[1]
        heat[18] = 1 - heat[:18].max(0)
        return torch.from_numpy(paf).float()[None], torch.from_numpy(heat).float()[None]


def test_openpose_grouping_of_oracle_maps_scores_ap_one(tmp_path: Path) -> None:
    ann = make_keypoint_coco(tmp_path / "kp", n=3, seed=2)
    report = zoo.evaluate(MapOracle(ann), coco=tmp_path / "kp", progress=False)
    assert list(report.metrics) == ["keypoints"]  # bottom-up: no person boxes to score
    assert report.num_predictions == len(json.loads(ann.read_text())["annotations"])
    assert report.metrics["keypoints"]["AP"] == 1.0
