"""Stacked hourglass networks with corner-pooling heads: CornerNet's Hourglass-104 and CornerNet-Squeeze's
fire-module Hourglass-54, layer for layer as princeton-vl/CornerNet (models/CornerNet.py, py_utils/kp.py,
py_utils/utils.py) and princeton-vl/CornerNet-Lite (core/models/CornerNet_Squeeze.py, py_utils/modules.py).

Module names are the zoo's own; zoo_cornernet.convert maps the reference's names onto them:

  reference (CornerNet / CornerNet-Lite)          zoo
  pre / hg.pre                                    stem
  kps.i / hg.hgs.i    up1 low1 low2 low3 up2      hourglasses.i  upper down inner up unpool
  cnvs.i / hg.cnvs.i                              necks.i
  inters_.i / cnvs_.i / inters.i                  link_input.i / link_feature.i / link_residual.i
  tl_cnvs.i / tl_modules.i (and br_)              tl_pools.i
    p1_conv1 p2_conv1 p_conv1 p_bn1 conv1 bn1 conv2   pool1 pool2 merge_conv merge_bn skip_conv skip_bn out
  tl_heats / tl_tags / tl_regrs|tl_offs           tl_heatmaps / tl_embeddings / tl_offsets   (conv, out)
  residual  conv1 bn1 conv2 bn2 skip.0 skip.1     conv1 bn1 conv2 bn2 shortcut.conv shortcut.bn
  fire_module  conv1 bn1 conv_1x1 conv_3x3 bn2    squeeze squeeze_bn expand1x1 expand3x3 expand_bn
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
import torch.utils._pytree as _pytree
from torch import nn

from zoo_cornernet.pools import DirectionalPool

HEATMAP_BIAS = -2.19  # kp.py / CornerNet_Squeeze.py: heatmap output bias, sigmoid(-2.19) ~ 0.1 (focal-loss prior)


class CornerMaps(NamedTuple):
    """The last stack's raw outputs (what the reference's `_test` hands to `_decode`)."""

    tl_heatmap: torch.Tensor  # [N, C, H/s, W/s] logits
    br_heatmap: torch.Tensor
    tl_embedding: torch.Tensor  # [N, 1, H/s, W/s]
    br_embedding: torch.Tensor
    tl_offset: torch.Tensor  # [N, 2, H/s, W/s] (x, y) sub-pixel offsets
    br_offset: torch.Tensor


# An exported network records its outputs' structure (zoo.runtimes rebuilds CornerMaps from the runtime's flat
# outputs); a namedtuple's structure serialises only under a registered name.
_pytree._register_namedtuple(CornerMaps, serialized_type_name="zoo_cornernet.hourglass.CornerMaps")


class ConvBNReLU(nn.Module):
    """Reference `convolution`: k x k conv (bias only without BN), BN, ReLU."""

    def __init__(self, k: int, cin: int, cout: int, stride: int = 1, bn: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=(k - 1) // 2, bias=not bn)
        self.bn = nn.BatchNorm2d(cout) if bn else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


class ConvBN(nn.Module):
    """1x1 conv + BN, no activation (residual shortcuts and the links between stacks)."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, stride=stride, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class Residual(nn.Module):
    """Reference `residual`: two 3x3 conv-BN, projection shortcut when the shape changes."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = ConvBN(cin, cout, stride) if stride != 1 or cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class Fire(nn.Module):
    """CornerNet-Squeeze `fire_module`: 1x1 squeeze + BN (no ReLU in between, as the reference), then 1x1 and
    depth-wise 3x3 expands concatenated, BN, identity skip when the shape is kept, ReLU."""

    def __init__(self, cin: int, cout: int, stride: int = 1, sr: int = 2):
        super().__init__()
        mid = cout // sr
        self.squeeze = nn.Conv2d(cin, mid, 1, bias=False)
        self.squeeze_bn = nn.BatchNorm2d(mid)
        self.expand1x1 = nn.Conv2d(mid, cout // 2, 1, stride=stride, bias=False)
        self.expand3x3 = nn.Conv2d(mid, cout // 2, 3, stride=stride, padding=1, groups=mid, bias=False)
        self.expand_bn = nn.BatchNorm2d(cout)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.squeeze_bn(self.squeeze(x))
        y = self.expand_bn(torch.cat((self.expand1x1(s), self.expand3x3(s)), 1))
        return F.relu(y + x) if self.skip else F.relu(y)


@dataclass(frozen=True)
class Arch:
    """What differs between Hourglass-104 and the CornerNet-Squeeze Hourglass-54."""

    depth: int  # recursion depth n of one hourglass
    dims: tuple[int, ...]
    modules: tuple[int, ...]
    stacks: int = 2
    block: str = "residual"  # residual | fire
    stem_downsamples: int = 2  # stride-2 layers in the stem (the 7x7 conv, then residuals): output stride 2**n
    unpool: str = "nearest"  # nearest (parameter-free) | deconv (4x4 stride-2 transposed conv)
    head_kernel: int = 3  # the heads' first conv: 3x3 (CornerNet) or 1x1 (CornerNet-Squeeze)
    cnv_dim: int = 256
    num_classes: int = 80

    @property
    def stride(self) -> int:
        return 2 ** self.stem_downsamples


HOURGLASS104 = Arch(depth=5, dims=(256, 256, 384, 384, 384, 512), modules=(2, 2, 2, 2, 2, 4))
SQUEEZE = Arch(depth=4, dims=(256, 256, 384, 384, 512), modules=(2, 2, 2, 2, 4), block="fire", stem_downsamples=3,
               unpool="deconv", head_kernel=1)
ARCHS = {"hourglass104": HOURGLASS104, "squeeze": SQUEEZE}


def arch_from_options(name: str = "hourglass104", overrides: dict | None = None) -> Arch:
    """A spec's `arch` option (plus `arch_overrides`, used for small test networks) -> an Arch."""
    import dataclasses

    if name not in ARCHS:
        raise KeyError(name)
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in (overrides or {}).items()}
    return dataclasses.replace(ARCHS[name], **fields)


def _block(arch: Arch, cin: int, cout: int, stride: int = 1) -> nn.Module:
    return Fire(cin, cout, stride) if arch.block == "fire" else Residual(cin, cout, stride)


def _layer(arch: Arch, cin: int, cout: int, n: int, stride: int = 1) -> nn.Sequential:
    """make_layer / make_hg_layer: the first block changes the shape, the rest keep it."""
    return nn.Sequential(_block(arch, cin, cout, stride), *[_block(arch, cout, cout) for _ in range(n - 1)])


def _layer_revr(arch: Arch, cin: int, cout: int, n: int) -> nn.Sequential:
    """make_layer_revr: the last block changes the shape."""
    return nn.Sequential(*[_block(arch, cin, cin) for _ in range(n - 1)], _block(arch, cin, cout))


class Hourglass(nn.Module):
    """One recursive hourglass level (reference kp_module / hg_module): the max-pool is the identity and the
    stride-2 first block of `down` halves the resolution; `unpool` doubles it back before the merge (sum)."""

    def __init__(self, arch: Arch, n: int, dims: Sequence[int], modules: Sequence[int]):
        super().__init__()
        cur, nxt = dims[0], dims[1]
        self.upper = _layer(arch, cur, cur, modules[0])
        self.down = _layer(arch, cur, nxt, modules[0], stride=2)
        self.inner = (Hourglass(arch, n - 1, dims[1:], modules[1:]) if n > 1
                      else _layer(arch, nxt, nxt, modules[1]))
        self.up = _layer_revr(arch, nxt, cur, modules[0])
        self.unpool = (nn.ConvTranspose2d(cur, cur, 4, stride=2, padding=1) if arch.unpool == "deconv"
                       else nn.Upsample(scale_factor=2, mode="nearest"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.upper(x) + self.unpool(self.up(self.inner(self.down(x))))


class CornerPool(nn.Module):
    """Reference `pool` / `corner_pool`: two 3x3 branches pooled in two directions and summed, a 3x3 conv-BN,
    plus a 1x1 conv-BN shortcut, ReLU, then a 3x3 conv-BN-ReLU."""

    def __init__(self, dim: int, first: str, second: str, mid: int = 128):
        super().__init__()
        self.pool1 = ConvBNReLU(3, dim, mid)
        self.pool2 = ConvBNReLU(3, dim, mid)
        self.merge_conv = nn.Conv2d(mid, dim, 3, padding=1, bias=False)
        self.merge_bn = nn.BatchNorm2d(dim)
        self.skip_conv = nn.Conv2d(dim, dim, 1, bias=False)
        self.skip_bn = nn.BatchNorm2d(dim)
        self.out = ConvBNReLU(3, dim, dim)
        self.first, self.second = DirectionalPool(first), DirectionalPool(second)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.first(self.pool1(x)) + self.second(self.pool2(x))
        y = F.relu(self.merge_bn(self.merge_conv(pooled)) + self.skip_bn(self.skip_conv(x)))
        return self.out(y)


class Head(nn.Module):
    """Reference make_kp_layer / _pred_mod: conv (no BN) + ReLU, then a 1x1 conv to the outputs."""

    def __init__(self, k: int, cin: int, mid: int, cout: int):
        super().__init__()
        self.conv = ConvBNReLU(k, cin, mid, bn=False)
        self.out = nn.Conv2d(mid, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.conv(x))


class CornerNet(nn.Module):
    """Stem, `stacks` hourglasses joined by links, per-stack corner pools and heads. Every stack's heads are
    kept (the checkpoints carry them, for intermediate supervision); inference, like the reference's
    `_test`, runs only the last stack's pools and heads."""

    def __init__(self, arch: Arch):
        super().__init__()
        self.arch = arch
        dim, cnv = arch.dims[0], arch.cnv_dim
        stem: list[nn.Module] = [ConvBNReLU(7, 3, 128, stride=2), Residual(128, dim, stride=2)]
        stem += [Residual(dim, dim, stride=2) for _ in range(arch.stem_downsamples - 2)]
        self.stem = nn.Sequential(*stem)
        s = arch.stacks
        self.hourglasses = nn.ModuleList(Hourglass(arch, arch.depth, arch.dims, arch.modules) for _ in range(s))
        self.necks = nn.ModuleList(ConvBNReLU(3, dim, cnv) for _ in range(s))
        self.link_input = nn.ModuleList(ConvBN(dim, dim) for _ in range(s - 1))
        self.link_feature = nn.ModuleList(ConvBN(cnv, dim) for _ in range(s - 1))
        self.link_residual = nn.ModuleList(Residual(dim, dim) for _ in range(s - 1))
        self.tl_pools = nn.ModuleList(CornerPool(cnv, "top", "left") for _ in range(s))
        self.br_pools = nn.ModuleList(CornerPool(cnv, "bottom", "right") for _ in range(s))
        k = arch.head_kernel
        for corner in ("tl", "br"):
            setattr(self, f"{corner}_heatmaps", nn.ModuleList(Head(k, cnv, dim, arch.num_classes) for _ in range(s)))
            setattr(self, f"{corner}_embeddings", nn.ModuleList(Head(k, cnv, dim, 1) for _ in range(s)))
            setattr(self, f"{corner}_offsets", nn.ModuleList(Head(k, cnv, dim, 2) for _ in range(s)))
        for heads in (self.tl_heatmaps, self.br_heatmaps):
            for head in heads:
                nn.init.constant_(head.out.bias, HEATMAP_BIAS)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each stack's neck output (the input of its corner pools)."""
        inter = self.stem(x)
        outs = []
        for i, (hg, neck) in enumerate(zip(self.hourglasses, self.necks)):
            cnv = neck(hg(inter))
            outs.append(cnv)
            if i < len(self.hourglasses) - 1:
                inter = F.relu(self.link_input[i](inter) + self.link_feature[i](cnv))
                inter = self.link_residual[i](inter)
        return outs

    def heads(self, cnv: torch.Tensor, stack: int = -1) -> CornerMaps:
        tl, br = self.tl_pools[stack](cnv), self.br_pools[stack](cnv)
        return CornerMaps(self.tl_heatmaps[stack](tl), self.br_heatmaps[stack](br),
                          self.tl_embeddings[stack](tl), self.br_embeddings[stack](br),
                          self.tl_offsets[stack](tl), self.br_offsets[stack](br))

    def forward(self, x: torch.Tensor) -> CornerMaps:
        return self.heads(self.features(x)[-1])
