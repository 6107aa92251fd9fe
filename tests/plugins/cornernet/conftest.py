"""The reference code (tests/plugins/cornernet/reference, unmodified copies of princeton-vl/CornerNet and
CornerNet-Lite) importable as `ref_cornernet` and `ref_lite`, and helpers to give a reference network
non-trivial random weights."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from clikit import trained_like_bn
from torch import nn

REFERENCE = Path(__file__).with_name("reference")
if str(REFERENCE) not in sys.path:
    sys.path.insert(0, str(REFERENCE))


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
