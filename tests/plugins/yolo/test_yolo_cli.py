"""`zoo import` and `zoo predict` for YOLO through the real command line (subprocesses, like a user)."""

from __future__ import annotations

import json
from pathlib import Path

from clikit import one_line_error, zoo


def test_import_then_predict_json(shared_data: Path, tmp_path: Path) -> None:
    res = zoo("import", "yolov3-tiny", str(shared_data / "yolov3-tiny.weights"))
    assert res.returncode == 0, res.stderr
    grace = shared_data / "images" / "grace_hopper.jpg"
    res = zoo("predict", "yolov3-tiny", str(grace), str(shared_data / "images"), "--json", "--conf", "0.2",
              "--resize", "stretch", "--out", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["model"] == "yolov3-tiny" and doc["weights"] == "yolov3-tiny.coco" and not doc["errors"]
    assert len(doc["results"]) == 5  # the file plus the folder's four images
    first = doc["results"][0]
    assert first["source"] == str(grace) and first["image_size"] == [600, 512]
    dets = first["detections"]
    assert [d["label"] for d in dets][:1] == ["tie"] and abs(dets[0]["score"] - 0.87) < 0.01
    person = [d for d in dets if d["label"] == "person"]
    assert person and abs(person[0]["score"] - 0.21) < 0.02  # the person at about 0.21 with stretch
    assert all(len(d["box"]) == 4 and d["model_class_id"] in range(80) and 1 <= d["class_id"] <= 90 and d["score"] > 0.2 for d in dets)
    drawn = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert "grace_hopper.yolov3-tiny.jpg" in drawn and len(drawn) == 4


def test_import_of_a_truncated_file_and_a_bad_size_are_one_line_errors(shared_data: Path, tmp_path: Path) -> None:
    cut = tmp_path / "yolov3-tiny.weights"
    cut.write_bytes((shared_data / "yolov3-tiny.weights").read_bytes()[:1_000_000])
    res = zoo("import", "yolov3-tiny", str(cut))
    assert res.returncode != 0
    line = one_line_error(res)
    assert "truncated" in line and "35434956" in line and "1000000 bytes" in line
    res = zoo("predict", "yolov3-tiny", str(shared_data / "images" / "coffee.png"), "--random-init", "--size", "300")
    assert res.returncode == 2 and "multiple of 32" in one_line_error(res)


def test_predict_on_a_video_file(shared_data: Path, tmp_path: Path) -> None:
    import cv2

    frame = cv2.imread(str(shared_data / "images" / "grace_hopper.jpg"))
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 5, (frame.shape[1], frame.shape[0]))
    for i in range(6):
        writer.write(frame if i % 2 == 0 else cv2.flip(frame, 1))
    writer.release()
    assert zoo("import", "yolov3-tiny", str(shared_data / "yolov3-tiny.weights")).returncode == 0
    res = zoo("predict", "yolov3-tiny", str(video), "--json", "--every", "2", "--batch-size", "2", "--conf", "0.5",
              "--resize", "stretch", "--out", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    results = json.loads(res.stdout)["results"]
    assert [r["source"] for r in results] == [f"{video}#frame={i}" for i in (0, 2, 4)]
    for r in results:  # the unflipped frames: the tie (0.87 on the JPEG; mp4 compression lowers it)
        assert r["image_size"] == [600, 512] and [d["label"] for d in r["detections"]] == ["tie"]
    out = cv2.VideoCapture(str(tmp_path / "out" / "clip.yolov3-tiny.mp4"))
    assert out.isOpened() and int(out.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    out.release()
