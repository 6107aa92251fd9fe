"""`zoo eval` refuses bad datasets and bad combinations with one-line errors (exit code 2)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from clikit import zoo_in_process
from evalkit import make_coco, oracle

import zoo
from zoo.errors import InputError


def test_missing_annotation_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "coco" / "images").mkdir(parents=True)
    code, _, err = zoo_in_process(capsys, "eval", "faster-rcnn-r50-fpn", "--coco", str(tmp_path / "coco"), "--random-init")
    assert code == 2 and err.startswith("error: ") and len(err.splitlines()) == 1
    assert "annotations/instances_*.json" in err
    code, _, err = zoo_in_process(capsys, "eval", "faster-rcnn-r50-fpn", "--ann", str(tmp_path / "nope.json"), "--images",
                                          str(tmp_path / "coco" / "images"), "--random-init")
    assert code == 2 and "nope.json: annotation file not found" in err and len(err.splitlines()) == 1


def test_image_listed_but_absent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_coco(tmp_path / "coco", n=4)
    (tmp_path / "coco" / "images" / "000003.png").unlink()
    code, _, err = zoo_in_process(capsys, "eval", "faster-rcnn-r50-fpn", "--coco", str(tmp_path / "coco"), "--random-init")
    assert code == 2 and len(err.splitlines()) == 1
    assert "'000003.png' (id 3) listed but not found" in err
    # with --limit 2 the missing image is not part of the run
    report = zoo.evaluate(oracle(tmp_path / "coco" / "annotations" / "instances_val2017.json"),
                          coco=tmp_path / "coco", limit=2, progress=False)
    assert report.num_images == 2


def test_empty_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ann = make_coco(tmp_path / "coco", n=1)
    data = json.loads(ann.read_text())
    ann.write_text(json.dumps({**data, "images": [], "annotations": []}))
    code, _, err = zoo_in_process(capsys, "eval", "faster-rcnn-r50-fpn", "--coco", str(tmp_path / "coco"), "--random-init")
    assert code == 2 and "lists no images" in err and len(err.splitlines()) == 1
    ann.write_text("{not json")
    code, _, err = zoo_in_process(capsys, "eval", "faster-rcnn-r50-fpn", "--coco", str(tmp_path / "coco"), "--random-init")
    assert code == 2 and "not a readable JSON file" in err
    (tmp_path / "empty").mkdir()
    code, _, err = zoo_in_process(capsys, "eval", "resnet18", "--imagenet", str(tmp_path / "empty"), "--random-init")
    assert code == 2 and "no class folders" in err
    (tmp_path / "empty" / "tench").mkdir()
    code, _, err = zoo_in_process(capsys, "eval", "resnet18", "--imagenet", str(tmp_path / "empty"), "--random-init")
    assert code == 2 and "hold no images" in err


def test_wrong_dataset_for_the_task(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_coco(tmp_path / "coco", n=1)
    code, _, err = zoo_in_process(capsys, "eval", "resnet18", "--coco", str(tmp_path / "coco"), "--random-init")
    assert code == 2 and "resnet18 is a classification model: score it with --imagenet DIR" in err
    shutil.copytree(tmp_path / "coco" / "images", tmp_path / "folder" / "tench")
    code, _, err = zoo_in_process(capsys, "eval", "faster-rcnn-r50-fpn", "--imagenet", str(tmp_path / "folder"), "--random-init")
    assert code == 2 and "faster-rcnn-r50-fpn is a detection model: score it with --coco DIR" in err
    with pytest.raises(InputError, match="exactly one dataset"):
        zoo.evaluate("resnet18", coco=tmp_path / "coco", imagenet=tmp_path / "folder")
    code, _, err = zoo_in_process(capsys, "eval", "faster-rcnn-r50-fpn", "--coco", str(tmp_path / "coco"), "--limit", "0")
    assert code == 2 and "--limit must be at least 1" in err



def test_unreadable_image_mid_run(tmp_path: Path) -> None:
    ann = make_coco(tmp_path / "coco", n=3)
    (tmp_path / "coco" / "images" / "000002.png").write_bytes(b"not a png")
    model = zoo.build("faster-rcnn-mobilenet-v3-fpn", min_size=64, max_size=96)
    with pytest.raises(InputError, match="000002.png: not a readable image"):
        zoo.evaluate(model, ann=ann, images=tmp_path / "coco" / "images", progress=False)
