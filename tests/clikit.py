"""Helpers every CLI and numerics test shares: run `zoo` in a subprocess, read its one-line error, and give
BatchNorm layers trained-like statistics (a fresh BN is the identity, which hides wrong folds and orders)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
from torch import nn

ZOO = [sys.executable, "-m", "zoo.cli"]


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
    """Random affine parameters and running statistics in every BatchNorm2d (mean in [-0.5, 0.5), var in
    [0.5, 1.5), weight in [0.5, 1.5), bias in [-0.5, 0.5))."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.rand(m.num_features, generator=gen) - 0.5)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.rand(m.num_features, generator=gen) - 0.5)
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
