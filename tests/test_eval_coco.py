"""`zoo eval` on a COCO-format dataset generated here: exact ground truth scores AP 100 (percent), perturbed
predictions score what pycocotools called directly scores, label spaces are mapped by name, and a real
model runs through the whole pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evalkit import make_coco, oracle, oracle_predictions, pycocotools_direct

import zoo
from zoo.cli import main
from zoo.eval.coco import STATS


def test_ground_truth_scores_ap_one(tmp_path: Path) -> None:
    ann = make_coco(tmp_path / "coco")
    report = zoo.evaluate(oracle(ann), coco=tmp_path / "coco", progress=False)
    assert report.num_images == 6 and report.world_size == 1 and report.kind == "coco"
    assert set(report.metrics) == {"bbox", "segm"}
    for kind in ("bbox", "segm"):
        m = report.metrics[kind]
        assert m["AP"] == 100.0 and m["AP50"] == 100.0 and m["AP75"] == 100.0 and m["AR100"] == 100.0
    data = json.loads(ann.read_text())
    assert report.num_predictions == len(data["annotations"]) and report.dropped == {}


@pytest.mark.parametrize("perturb,fps", [(0.12, 1), (0.3, 2)])
def test_perturbed_predictions_score_like_pycocotools(tmp_path: Path, perturb: float, fps: int) -> None:
    ann = make_coco(tmp_path / "coco", n=8, seed=1)
    results_file = tmp_path / "zoo-results.json"
    report = zoo.evaluate(oracle(ann, perturb=perturb, false_positives=fps), coco=tmp_path / "coco",
                          batch_size=3, results=results_file, progress=False)
    expected = oracle_predictions(json.loads(ann.read_text()), perturb, fps)
    for kind in ("bbox", "segm"):
        direct = pycocotools_direct(ann, expected, kind, tmp_path)
        got = [report.metrics[kind][name] for name in STATS[kind]]
        assert got == pytest.approx([100 * v if v >= 0 else v for v in direct], abs=1e-10)  # percent
    assert 5 < report.metrics["bbox"]["AP"] < 99.9  # a non-trivial score, not a 0/1 corner
    written = json.loads(results_file.read_text())
    assert len(written) == len(expected) == report.num_predictions
    assert {r["category_id"] for r in written} <= {1, 3, 4, 13, 18}  # COCO-80 ids mapped back to COCO ids


def test_limit_and_explicit_ann_images(tmp_path: Path) -> None:
    ann = make_coco(tmp_path / "coco", n=5, layout="split")
    report = zoo.evaluate(oracle(ann), ann=ann, images=tmp_path / "coco" / "val2017", limit=2, progress=False)
    assert report.num_images == 2
    assert report.metrics["bbox"]["AP"] == 100.0
    # --coco finds images under DIR/<split> too
    assert zoo.evaluate(oracle(ann), coco=tmp_path / "coco", limit=1, progress=False).num_images == 1


def test_label_map_by_name_across_label_sets() -> None:
    from zoo.categories import categories
    from zoo.eval.coco import label_map

    cats = [{"id": 4, "name": "motorcycle"}, {"id": 67, "name": "dining table"}, {"id": 72, "name": "tv"}]
    m80 = label_map(categories("coco80"), cats)  # Darknet names: motorbike, diningtable, tvmonitor
    labels80 = categories("coco80")
    assert {labels80[i]: c for i, c in m80.items()} == {"motorbike": 4, "diningtable": 67, "tvmonitor": 72}
    m91 = label_map(categories("coco91"), cats)
    assert m91 == {4: 4, 67: 67, 72: 72}  # the 91-index label space is COCO's ids


def test_real_model_through_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_coco(tmp_path / "coco", n=3)
    main(["eval", "faster-rcnn-mobilenet-v3-fpn", "--coco", str(tmp_path / "coco"), "--random-init",
          "--set", "min_size=96", "--set", "max_size=128", "--set", "box_score_thresh=0.0", "--json", "--no-progress",
          "--batch-size", "2"])
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == "faster-rcnn-mobilenet-v3-fpn" and out["num_images"] == 3 and out["world_size"] == 1
    assert list(out["metrics"]) == ["bbox"] and len(out["metrics"]["bbox"]) == 12
    assert all(v == -1.0 or 0 <= v <= 100.0 for v in out["metrics"]["bbox"].values())
    # random weights favour a few classes: their detections are scored, or left out if the dataset lacks them
    assert out["num_predictions"] + sum(out["dropped"].values()) > 0
    assert out["published"]["COCO-val2017"]["box_ap"] == 32.8
    assert any("random weights" in n for n in out["notes"])


def test_human_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from evalkit import oracle_spec

    from zoo.plugin_manager import default_registry

    ann = make_coco(tmp_path / "coco", n=2)
    default_registry().add(oracle_spec(ann, name="oracle-table"))
    try:
        main(["eval", "oracle-table", "--coco", str(tmp_path / "coco"), "--no-progress", "--random-init"])
    finally:  # the default registry is shared by the other tests in this process
        default_registry().remove("oracle-table")
    out = capsys.readouterr().out
    assert "oracle-table" in out and "AP50" in out and "segm" in out and "100.00" in out


@pytest.mark.parametrize("boxes", [True, False])
def test_keypoint_results_score_oks_ap_one(tmp_path: Path, boxes: bool) -> None:
    from evalkit import KeypointOracle, keypoint_registry, make_keypoint_coco

    ann = make_keypoint_coco(tmp_path / "kp")
    report = zoo.evaluate(KeypointOracle(ann, boxes=boxes), coco=tmp_path / "kp", progress=False,
                          registry=keypoint_registry())
    assert list(report.metrics) == (["bbox", "keypoints"] if boxes else ["keypoints"])
    assert report.metrics["keypoints"]["AP"] == 100.0 and len(report.metrics["keypoints"]) == 10
