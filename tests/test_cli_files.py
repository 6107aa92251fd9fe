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
])
def test_missing_inputs_are_one_line_before_the_weights(args: list[str], needle: str, tmp_path: Path, no_load: None,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    photos = random_photos(tmp_path / "photos", 1)
    random_photos(tmp_path / "classes" / "0", 1)  # an ImageNet-style folder: class 0, one photo
    fill = {"tmp": str(tmp_path), "photos": str(photos), "classes": str(tmp_path / "classes")}
    code, _, err = zoo_in_process(capsys, *(a.format(**fill) for a in args))
    assert code == 2 and needle.format(**fill) in err and len(err.strip().splitlines()) == 1, err


def test_an_unreadable_input_is_one_line_before_the_weights(tmp_path: Path, no_load: None,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    photo = random_photos(tmp_path, 1) / "f0.png"
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != photo and real(p, mode))  # root reads anything
    code, _, err = zoo_in_process(capsys, "predict", "resnet18", str(photo))
    assert code == 2 and f"{photo}: permission denied" in err
