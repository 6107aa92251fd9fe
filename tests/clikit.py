"""Helpers every CLI and numerics test shares: where the real test data lies, run `zoo` (in this process or a
subprocess), read its one-line error, and give BatchNorm layers trained-like statistics (a fresh BN is the
identity, which hides wrong folds and orders)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

ZOO = [sys.executable, "-m", "zoo.cli"]
# yolov3-tiny cfg/weights, coco.names and photos: ../shared/data beside the checkout, or ZOO_TEST_DATA
SHARED_DATA = Path(os.environ.get("ZOO_TEST_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


def zoo(*args: str, env: dict[str, str] | None = None, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """`zoo ARGS` in a fresh interpreter (the test's ZOO_HOME and offline settings are inherited)."""
    return subprocess.run(ZOO + list(args), capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def one_line_error(res: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a failed command (no traceback, nothing else)."""
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert "Traceback" not in res.stderr and len(lines) == 1, res.stderr
    return lines[0]


def trained_like_bn(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random running statistics and affine parameters in every batch norm (BatchNorm1d/2d/3d, torchvision's
    FrozenBatchNorm2d): mean in [-0.5, 0.5), var in [0.5, 1.5), weight in [0.5, 1.5), bias in [-0.5, 0.5)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if not isinstance(m, nn.modules.batchnorm._BatchNorm) and type(m).__name__ != "FrozenBatchNorm2d":
                continue
            for name, low in (("running_mean", -0.5), ("running_var", 0.5), ("weight", 0.5), ("bias", -0.5)):
                t = getattr(m, name, None)
                if isinstance(t, torch.Tensor):  # absent without affine or running statistics
                    t.copy_(torch.rand(t.shape, generator=gen) + low)
    return model


def zoo_in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `zoo ARGS` run in this process (fast; monkeypatches apply)."""
    from zoo.cli import main

    try:
        main(list(args))
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def zoo_here(capsys: pytest.CaptureFixture[str], *args: str) -> subprocess.CompletedProcess[str]:
    """`zoo ARGS` run in this process, returned as `zoo` returns a subprocess's (for one_line_error): the same
    checks without an interpreter and torch start-up per call."""
    code, out, err = zoo_in_process(capsys, *args)
    return subprocess.CompletedProcess(["zoo", *args], code, out, err)


def random_photos(folder: Path, count: int, hw: tuple[int, int] = (40, 48), stem: str = "f") -> Path:
    """`count` small RGB PNGs of seeded random texture in `folder` (made): training data, tracking frames,
    photos with gradients for style and dream."""
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (*hw, 3), dtype=np.uint8)).save(folder / f"{stem}{i}.png")
    return folder



def scene(path: Path) -> Path:
    """A small image with a few filled shapes (random detector networks only need pixels to react to)."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(0)
    im = Image.fromarray(rng.integers(0, 60, (120, 168, 3), dtype=np.uint8))
    d = ImageDraw.Draw(im)
    d.rectangle([10, 12, 70, 90], fill=(220, 40, 40))
    d.ellipse([80, 20, 150, 100], fill=(40, 200, 90))
    d.rectangle([100, 70, 160, 115], fill=(30, 60, 230))
    im.save(path)
    return path
