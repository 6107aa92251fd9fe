"""Example outputs: a model draws only with its cached weights (else the page says why, with no picture); the
drawing paths for generators (grid + interpolation strip) and translations (before/after) give real images."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

import zoo
from zoo.report import examples
from zoo.report.examples import draw_examples, example_photos


def _size(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


def test_no_cached_weights_means_no_picture_and_a_reason() -> None:
    never = lambda spec, w: False  # noqa: E731
    got = draw_examples(zoo.get_spec("resnet18"), example_photos(None), never)
    assert got.pictures == [] and "zoo download resnet18" in got.reason
    got = draw_examples(zoo.get_spec("yolov3-spp"), example_photos(None), never)  # a URL source: downloadable
    assert got.pictures == [] and "zoo download yolov3-spp" in got.reason
    got = draw_examples(zoo.get_spec("dcgan-64"), example_photos(None), never)  # no source: bring the file
    assert got.pictures == [] and "zoo import dcgan-64" in got.reason
    got = draw_examples(zoo.get_spec("densenet264"), example_photos(None), never)
    assert got.pictures == [] and "no published weights" in got.reason
    got = draw_examples(zoo.get_spec("facenet-inception-resnet-v1"), example_photos(None), lambda s, w: True)
    assert got.pictures == [] and "nothing to draw" in got.reason


def test_a_model_that_fails_to_draw_is_a_reason_not_a_crash() -> None:
    # claims cached, but the cache is empty: loading fails, the page says so
    got = draw_examples(zoo.get_spec("resnet18"), example_photos(None), lambda s, w: True)
    assert got.pictures == [] and got.reason.startswith("drawing failed:") and "\n" not in got.reason


def test_example_photos_default_and_folder(tmp_path: Path) -> None:
    assert [p.name for p in example_photos(None)] == ["chelsea.jpg"]
    (tmp_path / "b.png").write_bytes(b"")
    (tmp_path / "a.JPG").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("")
    assert [p.name for p in example_photos(tmp_path)] == ["a.JPG", "b.png"]


def test_generator_grid_and_strip_and_translation_pair_are_drawn(monkeypatch: pytest.MonkeyPatch) -> None:
    """The drawing code itself, on random-init networks (what the site never shows: it needs cached weights)."""
    import torch

    torch.manual_seed(0)
    grid, walk = examples._generated(zoo.build("dcgan-64"))
    assert grid.suffix == walk.suffix == ".png"
    gw, gh = _size(grid.data)
    ww, wh = _size(walk.data)
    assert ww > 3 * wh and gh > 0 and gw > 0  # the strip is one row of 8 frames
    photo = example_photos(None)[0]
    model = zoo.build("cyclegan-horse2zebra")
    monkeypatch.setattr(model, "predict", lambda src: _translate_small(model, src))
    (pair,) = examples._translated(model, [photo])
    w, h = _size(pair.data)
    assert w == 2 * h + 8 and "before" in pair.caption  # before | 8 px | after, both the output's size


def _translate_small(model: object, src: str) -> object:
    return type(model).predict(model, src, size=64)  # type: ignore[attr-defined]
