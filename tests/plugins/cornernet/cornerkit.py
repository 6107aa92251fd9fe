"""Helpers of the CornerNet tests: non-trivial random weights for a reference network, and its saved key layout
(a module of its own: `from conftest import` finds whichever conftest.py was imported last)."""

from __future__ import annotations

import torch
from clikit import trained_like_bn
from torch import nn


def randomize(module: nn.Module, seed: int = 0) -> nn.Module:
    """Trained-like BatchNorm statistics and affine parameters (defaults would make BN a near-identity), and
    small random biases, so a key or layer mix-up changes the outputs."""
    trained_like_bn(module, seed)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) and m.bias is not None:
                m.bias.add_(torch.randn(m.bias.shape, generator=g) * 0.05)
    return module.eval()


def prefixed(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """What the reference saves: the state dict of `DummyModule(model)`, every key under `module.`."""
    return {f"module.{k}": v for k, v in state.items()}
