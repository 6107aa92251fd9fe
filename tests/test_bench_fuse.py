"""Conv-BN folding (zoo/ops/fuse.py): numerics match the unfused model; unsafe folds are refused."""

from __future__ import annotations

import copy

import pytest
import torch
import torchvision
from clikit import trained_like_bn
from torch import nn

from zoo.ops.fuse import fuse_conv_bn


def _randomize_bn(model: nn.Module) -> None:
    """Non-trivial running statistics, so a wrong fold shows up in the outputs."""
    trained_like_bn(model)


@pytest.mark.parametrize("arch", ["resnet18", "densenet121"])
def test_fused_matches_unfused(arch: str) -> None:
    torch.manual_seed(0)
    model = getattr(torchvision.models, arch)(weights=None).eval()
    _randomize_bn(model)
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        ref = model(x)
    fused = copy.deepcopy(model)
    report = fuse_conv_bn(fused, x[:1])
    with torch.no_grad():
        out = fused(x)
    assert (out - ref).abs().max().item() < 1e-4 * max(1.0, ref.abs().max().item())
    n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    left = sum(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    assert report.total_bn == n_bn
    assert left == n_bn - len(report.folded)
    if arch == "resnet18":
        assert len(report.folded) == n_bn  # every BN follows a conv
    else:
        # DenseNet is pre-activation: BN -> ReLU -> conv on concatenated features cannot be folded;
        # only the stem BN and the BN after each 1x1 bottleneck conv can.
        assert 0 < len(report.folded) < n_bn
        assert all("BN before conv" in why for why in report.skipped.values())


class _SharedOutput(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return self.bn(y) + y  # the conv output is used twice: folding would change `+ y`


def test_conv_output_used_elsewhere_is_not_folded() -> None:
    model = _SharedOutput().eval()
    _randomize_bn(model)
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        ref = model(x)
    report = fuse_conv_bn(model, x)
    assert report.folded == []
    assert "also used elsewhere" in report.skipped["bn"]
    with torch.no_grad():
        assert torch.equal(model(x), ref)


def test_training_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="eval mode"):
        fuse_conv_bn(_SharedOutput().train(), torch.rand(1, 3, 8, 8))


def test_frozen_batchnorm_of_detection_backbones_is_folded() -> None:
    from torchvision.ops import FrozenBatchNorm2d

    model = nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), FrozenBatchNorm2d(8), nn.ReLU()).eval()
    trained_like_bn(model)
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        ref = model(x)
    report = fuse_conv_bn(model, x)
    assert report.folded == [("0", "1")] and isinstance(model[1], nn.Identity)
    with torch.no_grad():
        assert (model(x) - ref).abs().max().item() < 1e-5
