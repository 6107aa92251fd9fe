"""The files a command is given and the files it writes: bad inputs the user typed are one line (exit 2) before
any weights are resolved or a model loads; outputs never replace a file the command did not write."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from clikit import random_photos, zoo_in_process

# ---------------------------------------------------------------- inputs first


@pytest.fixture
def no_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """Resolving weights fails the test: the inputs must have been refused before."""
    import zoo.resolve

    def refuse(*a: object, **k: object) -> None:
        raise AssertionError("weights were resolved before the inputs were checked")

    monkeypatch.setattr(zoo.resolve, "resolve_weights", refuse)


@pytest.mark.parametrize("args, needle", [
    (["predict", "resnet18", "{tmp}/missing.jpg"], "missing.jpg: no such file"),
    (["predict", "resnet18", "{tmp}/a.jpg", "{tmp}/b.png", "{photos}"], "a.jpg, {tmp}/b.png: no such files"),
    (["predict", "resnet18", "{photos}", "--backend", "onnxruntime", "--precision", "int8", "--calibration",
      "{tmp}/nope"], "--calibration {tmp}/nope: not a folder of images"),
    (["eval", "resnet18", "--imagenet", "{classes}", "--backend", "onnxruntime", "--precision", "int8",
      "--calibration", "{tmp}/nope"], "--calibration {tmp}/nope: not a folder of images"),
    # already in this order before (guards): the other commands that take input paths
    (["eval", "yolov3-tiny", "--coco", "{tmp}/nope"], "{tmp}/nope: no such folder"),
    (["track", "yolov3-tiny", "{tmp}/nope.mp4"], "{tmp}/nope.mp4: no such video or folder"),
    (["export", "resnet18", "--format", "onnx", "--image", "{tmp}/nope.jpg"], "{tmp}/nope.jpg: no such image"),
])
def test_missing_inputs_are_one_line_before_the_weights(args: list[str], needle: str, tmp_path: Path, no_load: None,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    photos = random_photos(tmp_path / "photos", 1)
    random_photos(tmp_path / "classes" / "0", 1)  # an ImageNet-style folder: class 0, one photo
    fill = {"tmp": str(tmp_path), "photos": str(photos), "classes": str(tmp_path / "classes")}
    code, _, err = zoo_in_process(capsys, *(a.format(**fill) for a in args))
    assert code == 2 and needle.format(**fill) in err and len(err.strip().splitlines()) == 1, err


def test_bench_checks_its_parity_image_before_the_weights(tmp_path: Path, no_load: None,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = zoo_in_process(capsys, "bench", "resnet18", "--parity-image", str(tmp_path / "nope.jpg"), "-q")
    assert code == 2 and f"'{tmp_path / 'nope.jpg'}' does not exist" in err and len(err.strip().splitlines()) == 1


def test_an_unreadable_input_is_one_line_before_the_weights(tmp_path: Path, no_load: None,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    photo = random_photos(tmp_path, 1) / "f0.png"
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != photo and real(p, mode))  # root reads anything
    code, _, err = zoo_in_process(capsys, "predict", "resnet18", str(photo))
    assert code == 2 and f"{photo}: permission denied" in err


# ---------------------------------------------------------------- outputs: distinct, and never over a file the run did not write


def _photos(tmp_path: Path) -> list[Path]:
    """x.gif and x.gif.png (both drawn as 'x.gif.<model>.png'), and x.jpg in two folders."""
    from PIL import Image

    src = random_photos(tmp_path / "src", 1) / "f0.png"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    Image.open(src).save(tmp_path / "x.gif")
    Image.open(src).save(tmp_path / "x.gif.png")
    Image.open(src).save(tmp_path / "a" / "x.jpg")
    Image.open(src).save(tmp_path / "b" / "x.jpg")
    return [tmp_path / "x.gif", tmp_path / "x.gif.png"]


def test_predict_outputs_of_one_run_never_collide(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    gif, png = _photos(tmp_path)
    out = tmp_path / "out"
    code, stdout, _ = zoo_in_process(capsys, "predict", "resnet18", "--random-init", str(gif), str(png),
                                     "--out", str(out), "--json")
    assert code == 0
    written = {r["source"]: r["output"] for r in json.loads(stdout)["results"]}
    assert written == {str(gif): str(out / "x.gif.resnet18.png"), str(png): str(out / "x.gif-2.resnet18.png")}
    assert sorted(p.name for p in out.iterdir()) == ["x.gif-2.resnet18.png", "x.gif.resnet18.png"]
    code, _, err = zoo_in_process(capsys, "predict", "resnet18", "--random-init", str(tmp_path / "a" / "x.jpg"),
                                  str(tmp_path / "b" / "x.jpg"), "--out", str(tmp_path / "two"))
    assert code == 0 and sorted(str(p.relative_to(tmp_path / "two")) for p in (tmp_path / "two").rglob("*.jpg")) == [
        "a/x.resnet18.jpg", "b/x.resnet18.jpg"]


def test_predict_refuses_a_file_already_in_out_unless_forced(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    gif, png = _photos(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    mine = out / "x.gif-2.resnet18.png"
    mine.write_text("the user's file")
    code, _, err = zoo_in_process(capsys, "predict", "resnet18", "--random-init", str(gif), str(png), "--out", str(out))
    assert code == 2 and f"{mine}: exists; pass --force to overwrite it" in err and len(err.strip().splitlines()) == 1
    assert mine.read_text() == "the user's file" and sorted(p.name for p in out.iterdir()) == [mine.name]
    code, _, err = zoo_in_process(capsys, "predict", "resnet18", "--random-init", str(gif), str(png), "--out", str(out),
                                  "--force")
    assert code == 0 and mine.read_bytes().startswith(b"\x89PNG") and "x.gif-2.resnet18.png (for " in err
    assert not [p for p in out.iterdir() if p.name.startswith(".tmp-")]  # written atomically, nothing left over


def test_track_frames_of_one_name_get_distinct_drawings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image

    frames = random_photos(tmp_path / "frames", 1, stem="a")  # a0.png
    Image.open(frames / "a0.png").save(frames / "a0.jpg")  # both would draw to a0.<model>.jpg
    code, _, err = zoo_in_process(capsys, "track", "yolov3-tiny", str(frames), "--random-init", "--out",
                                  str(tmp_path / "out"))
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a0-2.yolov3-tiny.jpg", "a0.yolov3-tiny.jpg"]


def test_a_video_of_a_failed_run_leaves_no_file(tmp_path: Path) -> None:
    import numpy as np

    from zoo.images import VideoOut

    frame = np.zeros((16, 24, 3), np.uint8)
    failed, done = VideoOut(tmp_path / "failed.mp4", 5.0), VideoOut(tmp_path / "done.mp4", 5.0)
    for video in (failed, done):
        video.write(frame)
        video.write(frame)
    failed.close(keep=False)
    done.close(keep=True)
    assert [p.name for p in tmp_path.iterdir()] == ["done.mp4"] and (tmp_path / "done.mp4").stat().st_size > 0


@pytest.mark.parametrize("args, needle", [
    (["predict", "resnet18", "{photos}", "--weights", "{tmp}/nope.pt"], "{tmp}/nope.pt: no such weights file"),
    (["import", "resnet18", "{tmp}/nope.pt"], "{tmp}/nope.pt: no such file"),
    (["import", "mtcnn", "{tmp}"], "{tmp}: pnet.pt is missing"),
])
def test_a_weights_file_the_user_named_and_is_not_there_is_an_input_error(
        args: list[str], needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 2 like any path the user typed (a weights file missing from the cache stays exit 1)."""
    fill = {"tmp": str(tmp_path), "photos": str(random_photos(tmp_path / "photos", 1))}
    code, _, err = zoo_in_process(capsys, *(a.format(**fill) for a in args))
    assert code == 2 and needle.format(**fill) in err and len(err.strip().splitlines()) == 1, err
