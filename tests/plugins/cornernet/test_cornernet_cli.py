"""Both CornerNet models end to end on CPU with random weights: `zoo predict`, `zoo bench` and `zoo eval`
(the command line for CornerNet-Squeeze; Hourglass-104, 201M parameters, is built once in-process and goes
through the same library calls the commands make), on a small generated COCO set. A "rigged" network (heads set so every top-left and
bottom-right of class 0 pair up) makes sure detections flow all the way into the COCO scorer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from clikit import zoo_in_process
from PIL import Image

import zoo
from tests.evalkit import make_coco
from zoo_cornernet.models import CornerNetDetector


@pytest.fixture(scope="module")
def coco(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("coco")
    make_coco(root, n=2)
    return root


def rig(model: CornerNetDetector) -> CornerNetDetector:
    """Heads that ignore the image: every position is a class-0 corner (logit 3), all embeddings 0, no offsets."""
    with torch.no_grad():
        for corner in ("tl", "br"):
            heat = getattr(model.net, f"{corner}_heatmaps")[-1].out
            heat.weight.zero_()
            heat.bias.fill_(-9.0)
            heat.bias[0] = 3.0
            for kind in ("embeddings", "offsets"):
                out = getattr(model.net, f"{corner}_{kind}")[-1].out
                out.weight.zero_()
                out.bias.zero_()
    return model.eval()


def check_detections(doc: dict, size: list[int]) -> None:
    assert doc["image_size"] == size
    for d in doc["detections"]:
        x1, y1, x2, y2 = d["box"]
        assert 0 <= x1 <= x2 <= size[1] and 0 <= y1 <= y2 <= size[0]
        assert 0 <= d["class_id"] < 80 and isinstance(d["label"], str) and 0 <= d["score"] <= 1


def test_squeeze_predict_bench_eval_on_the_command_line(coco: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    images = sorted((coco / "images").iterdir())
    code, stdout, err = zoo_in_process(capsys, "predict", "cornernet-squeeze", *map(str, images), "--random-init",
                                       "--json", "--conf", "0")
    assert code == 0, err
    doc = json.loads(stdout)
    assert len(doc["results"]) == 2
    for r in doc["results"]:
        check_detections(r, [120, 160])
    out = tmp_path / "bench.json"
    code, _, err = zoo_in_process(capsys, "bench", "cornernet-squeeze", "--input-size", "127", "--iters", "1",
                                  "--warmup", "0", "--device", "cpu", "--no-flops", "--json", str(out), "--quiet")
    assert code == 0, err
    rows = json.loads(out.read_text())["rows"]
    assert [r["kind"] for r in rows] == ["forward", "end-to-end"] and not any(r.get("error") for r in rows)
    code, stdout, err = zoo_in_process(capsys, "eval", "cornernet-squeeze", "--coco", str(coco), "--random-init",
                                       "--json", "--no-progress")
    assert code == 0, err
    report = json.loads(stdout)
    assert report["model"] == "cornernet-squeeze" and report["num_images"] == 2 and "metrics" in report


def test_bad_size_is_a_one_line_error(coco: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = next((coco / "images").iterdir())
    code, _, err = zoo_in_process(capsys, "predict", "cornernet-squeeze", str(image), "--random-init", "--size", "0")
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code != 0 and "Traceback" not in err and len(lines) == 1
    assert "--size must be at least 1, got 0" in lines[0]


def test_rigged_squeeze_detections_reach_the_coco_scorer(coco: Path) -> None:
    model = rig(zoo.build("cornernet-squeeze"))
    img = np.array(Image.open(next((coco / "images").iterdir())).convert("RGB"))
    result = model.predict(img, conf=0.0)
    assert result.detections and all(d.model_class_id == 0 and d.class_id == 1 and d.label == "person" for d in result.detections)
    check_detections(result.to_json(), [120, 160])
    assert len(result.detections) <= 100
    report = zoo.evaluate(model, coco=coco, progress=False)
    assert report.num_images == 2 and report.num_predictions > 0
    assert set(report.metrics["bbox"]) >= {"AP", "AP50"} or len(report.metrics["bbox"]) >= 2


@pytest.fixture(scope="module")
def hourglass() -> CornerNetDetector:
    # 201M parameters: built once for this module; without the flip test to halve the forward passes (the
    # flip path is the same code as CornerNet-Squeeze's, tested in test_cornernet_decode.py)
    return zoo.build("cornernet-hourglass104", flip=False).eval()


@pytest.fixture(scope="module")
def tiny_coco(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One 60x70 image (a 127x127 canvas, a quarter of the generated set's 127x255) with one box."""
    root = tmp_path_factory.mktemp("tiny_coco")
    (root / "images").mkdir()
    (root / "annotations").mkdir()
    Image.fromarray(np.random.default_rng(2).integers(0, 256, (60, 70, 3), dtype=np.uint8)).save(root / "images" / "1.png")
    (root / "annotations" / "instances_val2017.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "1.png", "height": 60, "width": 70}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [5.0, 5.0, 30.0, 40.0], "area": 1200.0,
                         "iscrowd": 0}],
        "categories": [{"id": 1, "name": "person"}]}))
    return root


def test_hourglass104_predict_bench_eval(hourglass: CornerNetDetector, tiny_coco: Path) -> None:
    assert sum(p.numel() for p in hourglass.net.parameters()) == zoo.get_spec("cornernet-hourglass104").num_params
    img = np.random.default_rng(0).integers(0, 256, (60, 70, 3), dtype=np.uint8)
    with torch.inference_mode():
        batch, metas = hourglass.preprocess([img])
        assert batch.shape == (1, 3, 127, 127)
        raw = hourglass(batch)
        assert raw.tl_heatmap.shape == (1, 80, 32, 32) and raw.br_offset.shape == (1, 2, 32, 32)
        check_detections(hourglass.postprocess(raw, metas, conf=0.0)[0].to_json(), [60, 70])
    report = zoo.benchmark(hourglass, input_size=127, iters=1, warmup=0, device="cpu", flops=False, e2e=False)
    assert [r.kind for r in report.rows] == ["forward"] and not any(r.error for r in report.rows)
    ev = zoo.evaluate(hourglass, coco=tiny_coco, progress=False)
    assert ev.num_images == 1 and ev.model == "cornernet-hourglass104"
