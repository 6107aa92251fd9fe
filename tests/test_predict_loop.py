"""The predict loop as a library (zoo.data.predict): files, folders, globs, stdin and videos -> one Prediction per
image or frame, in order, unreadable inputs as items with an error; arguments named as the library calls them
(the CLI shows flags); evaluate reports progress through a callback instead of drawing."""

from __future__ import annotations

import io
import types
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from zoo.data.predict import predict_files, predict_inputs
from zoo.errors import ArgumentError


class SizeModel:
    """Stands in for a model: each result records the size of the image it was given, and every call's batch."""

    device = torch.device("cpu")
    device_images = True

    def __init__(self) -> None:
        self.calls: list[int] = []

    def predict(self, images: list[torch.Tensor], **options: object) -> list[object]:
        self.calls.append(len(images))
        return [types.SimpleNamespace(source=None, size=tuple(im.shape[-2:]), options=options) for im in images]


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    (tmp_path / "imgs" / "sub").mkdir(parents=True)
    for i, (h, w) in enumerate([(20, 30), (24, 16), (10, 12)]):
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(tmp_path / "imgs" / f"{i}.png")
    Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(tmp_path / "imgs" / "sub" / "deep.png")
    (tmp_path / "imgs" / "broken.png").write_bytes(b"not a png")
    writer = cv2.VideoWriter(str(tmp_path / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (32, 24))
    for _ in range(5):
        writer.write(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
    writer.release()
    (tmp_path / "bad.mp4").write_bytes(b"not a video")
    return tmp_path


def test_folders_videos_and_bad_inputs_in_order(inputs: Path) -> None:
    model = SizeModel()
    preds = list(predict_inputs(model, [inputs / "imgs", inputs / "clip.avi", inputs / "bad.mp4"], batch_size=2,
                                every=2, options={"conf": 0.5}))
    images = [p for p in preds if p.frame is None and p.input.path.suffix == ".png"]
    assert [p.input.path.name for p in images] == ["0.png", "1.png", "2.png", "broken.png"]
    assert [p.result.size for p in images[:3]] == [(20, 30), (24, 16), (10, 12)] and images[3].result is None
    assert "broken.png" in images[3].error and "\n" not in images[3].error
    frames = [p for p in preds if p.frame is not None]
    assert [p.source for p in frames] == [f"{inputs / 'clip.avi'}#frame={i}" for i in (0, 2, 4)]
    assert all(p.result.source == p.source and p.fps == 10.0 and p.result.options == {"conf": 0.5} for p in frames)
    (bad,) = [p for p in preds if p.input.path.name == "bad.mp4"]
    assert bad.result is None and "not a readable video" in bad.error
    assert model.calls == [2, 1, 2, 1]  # images: the broken one leaves a batch of 1; video: 3 frames in 2s


def test_recursive_globs_and_stdin(inputs: Path) -> None:
    names = [p.input.path.name for p in predict_inputs(SizeModel(), [inputs / "imgs"], recursive=True)]
    assert "deep.png" in names
    names = [p.input.path.name for p in predict_inputs(SizeModel(), [str(inputs / "imgs" / "[01].png")])]
    assert names == ["0.png", "1.png"]
    data = (inputs / "imgs" / "1.png").read_bytes()
    (p,) = predict_inputs(SizeModel(), ["-"], stdin=io.BytesIO(data))
    assert p.source == "-" and p.result.size == (24, 16)


def test_arguments_are_named_as_the_library_calls_them(inputs: Path) -> None:
    with pytest.raises(ArgumentError) as info:
        list(predict_files(SizeModel(), [], batch_size=0))
    assert str(info.value) == "batch_size must be at least 1, got 0"
    assert info.value.named() == "--batch-size must be at least 1, got 0"
    with pytest.raises(ArgumentError, match="^every must be at least 1"):
        list(predict_inputs(SizeModel(), [inputs / "imgs"], every=0))


def test_evaluate_reports_progress_through_a_callback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import zoo
    from zoo.categories import categories

    root = tmp_path / "imagenet"
    names = categories("imagenet1k")
    for cls in names[:2]:
        (root / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((16, 16, 3), 40 * i, np.uint8)).save(root / cls / f"{i}.png")
    calls: list[tuple[int, int]] = []
    torch.manual_seed(0)
    report = zoo.evaluate(zoo.build("resnet18"), imagenet=root, batch_size=4, progress=lambda d, t: calls.append((d, t)))
    assert report.num_images == 6 and calls == [(i, 6) for i in range(1, 7)]
    assert capsys.readouterr().err == ""  # the library draws nothing
