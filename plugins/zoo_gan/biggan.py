"""BigGAN-deep generators (Brock et al., 2018) as ported by huggingface/pytorch-pretrained-BigGAN (model.py).

Same module names and numerics as the port, with two changes that make it faster and leave the outputs equal
to the port's eval mode (within float rounding):
- spectral norm is folded into plain weights at conversion (the port divides every weight by u.(W v) at every
  forward, re-reading all ~50M parameters);
- the class-conditional batch norm `(x - mean) / sqrt(var + eps) * (1 + scale(c)) + offset(c)` is one
  multiply-add per element, `x * a + b` with per-(image, channel) a and b computed on [N, C].

Inputs: latents z [N, 128] (a truncated normal times the truncation), class vectors [N, 1000] (one-hot, or a
mix for class interpolation) and the truncation, which picks the batch-norm statistics the port precomputed
for 51 truncation values in [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from zoo.errors import InputError, SpecError
from zoo.spec import ModelSpec
from zoo.tasks.generation import Generator

# pytorch-pretrained-biggan config.py defaults (the 128 model); layers are (upsample, in mult, out mult)
Z_DIM = 128
CHANNEL_WIDTH = 128
NUM_CLASSES = 1000
EPS = 1e-4
N_STATS = 51
ATTENTION_POSITION = 8
LAYERS_128 = [(False, 16, 16), (True, 16, 16), (False, 16, 16), (True, 16, 8), (False, 8, 8), (True, 8, 4),
              (False, 4, 4), (True, 4, 2), (False, 2, 2), (True, 2, 1)]
DEFAULT_TRUNCATION = 0.4  # the port's README example


def truncation_stats(running_means: torch.Tensor, running_vars: torch.Tensor, truncation: float,
                     n_stats: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The port's BigGANBatchNorm look-up, kept exactly (including its interpolation weights: entry `start`
    gets `coef`, entry `start + 1` gets `1 - coef`)."""
    step = 1.0 / (n_stats - 1)
    coef, start = math.modf(truncation / step)
    start = int(start)
    if coef != 0.0:
        mean = running_means[start] * coef + running_means[start + 1] * (1 - coef)
        var = running_vars[start] * coef + running_vars[start + 1] * (1 - coef)
    else:
        mean, var = running_means[start], running_vars[start]
    return mean, var


def stats_weights(truncation: float, n_stats: int, batch: int = 1) -> torch.Tensor:
    """[batch, n_stats] weights that pick `truncation_stats`'s blend as a product (entry `start` gets `coef`,
    entry `start + 1` gets `1 - coef`, or `start` gets 1), computed here in double exactly as the port does.

    They are how the truncation enters an exported network: a Python float would be frozen into the graph,
    and the index arithmetic on a tensor truncation jumps between statistics under float32 rounding (the
    port's blend is discontinuous where coef reaches 0), while a product with these weights is a plain
    matmul every runtime takes and stays continuous at any precision."""
    step = 1.0 / (n_stats - 1)
    coef, start = math.modf(truncation / step)
    w = torch.zeros(n_stats, dtype=torch.float64)
    if coef != 0.0:
        w[int(start)], w[int(start) + 1] = coef, 1 - coef
    else:
        w[int(start)] = 1.0
    return w.float().expand(batch, n_stats).contiguous()


def select_stats(running_means: torch.Tensor, running_vars: torch.Tensor, truncation: float | torch.Tensor,
                 n_stats: int) -> tuple[torch.Tensor, torch.Tensor]:
    """([C] or [N, C]) mean and variance: `truncation_stats` for a float, a weighted sum for stats weights."""
    if isinstance(truncation, torch.Tensor):
        w = truncation.to(running_means.dtype)
        return w @ running_means, w @ running_vars
    return truncation_stats(running_means, running_vars, truncation, n_stats)


def _per_image(t: torch.Tensor) -> torch.Tensor:
    """[C] -> [1, C, 1, 1]; [N, C] -> [N, C, 1, 1]."""
    return t.reshape(-1, t.shape[-1], 1, 1)


class ConditionalBatchNorm(nn.Module):
    """BigGANBatchNorm(conditional=True): statistics by truncation, gain 1 + scale(c) and bias offset(c)."""

    def __init__(self, num_features: int, cond_dim: int, n_stats: int = N_STATS, eps: float = EPS):
        super().__init__()
        self.eps = eps
        self.n_stats = n_stats
        self.register_buffer("running_means", torch.zeros(n_stats, num_features))
        self.register_buffer("running_vars", torch.ones(n_stats, num_features))
        self.scale = nn.Linear(cond_dim, num_features, bias=False)
        self.offset = nn.Linear(cond_dim, num_features, bias=False)

    def forward(self, x: torch.Tensor, truncation: float | torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        mean, var = select_stats(self.running_means, self.running_vars, truncation, self.n_stats)
        a = (1 + self.scale(cond)) * torch.rsqrt(var + self.eps)  # [N, C]
        b = self.offset(cond) - mean * a
        return torch.addcmul(b[:, :, None, None], x, a[:, :, None, None])


class BatchNorm(nn.Module):
    """BigGANBatchNorm(conditional=False): the output batch norm, affine, statistics by truncation."""

    def __init__(self, num_features: int, n_stats: int = N_STATS, eps: float = EPS):
        super().__init__()
        self.eps = eps
        self.n_stats = n_stats
        self.register_buffer("running_means", torch.zeros(n_stats, num_features))
        self.register_buffer("running_vars", torch.ones(n_stats, num_features))
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))

    def forward(self, x: torch.Tensor, truncation: float | torch.Tensor) -> torch.Tensor:
        mean, var = select_stats(self.running_means, self.running_vars, truncation, self.n_stats)
        if mean.dim() == 1:
            return F.batch_norm(x, mean, var, self.weight, self.bias, training=False, momentum=0.0, eps=self.eps)
        a = self.weight * torch.rsqrt(var + self.eps)  # per-image statistics: [N, C]
        return torch.addcmul(_per_image(self.bias - mean * a), x, _per_image(a))


class SelfAttn(nn.Module):
    """The port's SelfAttn (SAGAN non-local block): theta/phi/g 1x1 convs, 2x2 max-pooled keys and values."""

    def __init__(self, ch: int):
        super().__init__()
        self.snconv1x1_theta = nn.Conv2d(ch, ch // 8, 1, bias=False)
        self.snconv1x1_phi = nn.Conv2d(ch, ch // 8, 1, bias=False)
        self.snconv1x1_g = nn.Conv2d(ch, ch // 2, 1, bias=False)
        self.snconv1x1_o_conv = nn.Conv2d(ch // 2, ch, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, ch, h, w = x.shape
        theta = self.snconv1x1_theta(x).view(n, ch // 8, h * w)
        phi = F.max_pool2d(self.snconv1x1_phi(x), 2).view(n, ch // 8, h * w // 4)
        attn = torch.softmax(torch.bmm(theta.transpose(1, 2), phi), dim=-1)  # [N, HW, HW/4]
        g = F.max_pool2d(self.snconv1x1_g(x), 2).view(n, ch // 2, h * w // 4)
        out = torch.bmm(g, attn.transpose(1, 2)).view(n, ch // 2, h, w)
        return x + self.gamma * self.snconv1x1_o_conv(out)


class GenBlock(nn.Module):
    """The port's GenBlock: BN-ReLU-1x1 (reduce 4x), BN-ReLU-(up)-3x3, BN-ReLU-3x3, BN-ReLU-1x1, plus a
    skip that drops channels and upsamples (nearest)."""

    def __init__(self, in_size: int, out_size: int, cond_dim: int, up_sample: bool, n_stats: int = N_STATS,
                 eps: float = EPS, reduction: int = 4):
        super().__init__()
        self.up_sample = up_sample
        self.drop_channels = in_size != out_size
        mid = in_size // reduction
        self.bn_0 = ConditionalBatchNorm(in_size, cond_dim, n_stats, eps)
        self.conv_0 = nn.Conv2d(in_size, mid, 1)
        self.bn_1 = ConditionalBatchNorm(mid, cond_dim, n_stats, eps)
        self.conv_1 = nn.Conv2d(mid, mid, 3, padding=1)
        self.bn_2 = ConditionalBatchNorm(mid, cond_dim, n_stats, eps)
        self.conv_2 = nn.Conv2d(mid, mid, 3, padding=1)
        self.bn_3 = ConditionalBatchNorm(mid, cond_dim, n_stats, eps)
        self.conv_3 = nn.Conv2d(mid, out_size, 1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor, truncation: float | torch.Tensor) -> torch.Tensor:
        x0 = x
        x = self.conv_0(F.relu_(self.bn_0(x, truncation, cond)))
        x = F.relu_(self.bn_1(x, truncation, cond))
        if self.up_sample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = self.conv_1(x)
        x = self.conv_2(F.relu_(self.bn_2(x, truncation, cond)))
        x = self.conv_3(F.relu_(self.bn_3(x, truncation, cond)))
        if self.drop_channels:
            x0 = x0[:, : x0.shape[1] // 2]
        if self.up_sample:
            x0 = F.interpolate(x0, scale_factor=2, mode="nearest")
        return x + x0


class BigGANGenerator(nn.Module):
    """The port's `Generator`: gen_z linear -> 4x4x16ch (TF's NHWC order) -> GenBlocks (+ attention) ->
    BN-ReLU-3x3 conv -> first 3 channels -> tanh."""

    def __init__(self, z_dim: int, ch: int, layers: Sequence[Sequence[Any]], attention_position: int,
                 n_stats: int = N_STATS, eps: float = EPS):
        super().__init__()
        self.ch = ch
        cond_dim = 2 * z_dim
        self.gen_z = nn.Linear(cond_dim, 4 * 4 * 16 * ch)
        blocks: list[nn.Module] = []
        for i, (up, cin, cout) in enumerate(layers):
            if i == attention_position:
                blocks.append(SelfAttn(ch * cin))
            blocks.append(GenBlock(ch * cin, ch * cout, cond_dim, bool(up), n_stats, eps))
        self.layers = nn.ModuleList(blocks)
        self.bn = BatchNorm(ch, n_stats, eps)
        self.conv_to_rgb = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, cond: torch.Tensor, truncation: float | torch.Tensor) -> torch.Tensor:
        z = self.gen_z(cond).view(-1, 4, 4, 16 * self.ch).permute(0, 3, 1, 2).contiguous()
        for layer in self.layers:
            z = layer(z, cond, truncation) if isinstance(layer, GenBlock) else layer(z)
        z = F.relu_(self.bn(z, truncation))
        # only 3 of the conv's `ch` output channels are used: compute just those
        w, b = self.conv_to_rgb.weight[:3], self.conv_to_rgb.bias[:3]
        return torch.tanh(F.conv2d(z, w, b, padding=1))


class BigGANNet(nn.Module):
    """The port's `BigGAN`: class embedding (a bias-free linear on class vectors) + generator."""

    def __init__(self, z_dim: int = Z_DIM, ch: int = CHANNEL_WIDTH, num_classes: int = NUM_CLASSES,
                 layers: Sequence[Sequence[Any]] = LAYERS_128, attention_position: int = ATTENTION_POSITION,
                 n_stats: int = N_STATS, eps: float = EPS):
        super().__init__()
        self.embeddings = nn.Linear(num_classes, z_dim, bias=False)
        self.generator = BigGANGenerator(z_dim, ch, layers, attention_position, n_stats, eps)

    def forward(self, z: torch.Tensor, class_vector: torch.Tensor, truncation: float | torch.Tensor) -> torch.Tensor:
        cond = torch.cat((z, self.embeddings(class_vector)), dim=1)
        return self.generator(cond, truncation)


class BigGAN(Generator):
    """biggan-deep-*: class-conditional on ImageNet-1k; truncated-normal latents; truncation default 0.4."""

    latent_kind = "truncated"
    default_truncation = DEFAULT_TRUNCATION
    uses_truncation = True

    def __init__(self, spec: ModelSpec, net: BigGANNet, z_dim: int, num_classes: int):
        super().__init__(spec, net)
        self.latent_dim = z_dim
        self.num_classes = num_classes

    def forward(self, latents: torch.Tensor, classes: torch.Tensor | None = None,
                truncation: float | torch.Tensor | None = None) -> torch.Tensor:
        """`truncation`: a float, or [N, n_stats] weights from `stats_weights` (what preprocess gives, so that
        exported networks take the truncation as an input: every input of an exported network is a tensor)."""
        if classes is None:
            raise InputError(f"{self.spec.name} is class-conditional: give class vectors")
        if isinstance(truncation, torch.Tensor):
            return self.net(latents, classes.to(latents.dtype), truncation.to(latents.dtype))
        t = self.default_truncation if truncation is None else float(truncation)
        if not 0.0 < t <= 1.0:
            raise InputError(f"truncation must be in (0, 1], got {t}")
        return self.net(latents, classes.to(latents.dtype), t)

    def preprocess(self, request: Any = None, n: int | None = None, seed: int | None = None, classes: Any = None,
                   truncation: float | None = None, latents: Any = None,
                   class_weights: list[dict[int, float]] | None = None) -> tuple[tuple[Any, ...], Any]:
        """The generation task's preprocess, with the truncation handed to forward as stats weights."""
        (z, cls, trunc), meta = super().preprocess(request, n, seed, classes, truncation, latents, class_weights)
        weights = stats_weights(trunc, self.net.generator.bn.n_stats, z.shape[0]).to(z.device)
        return (z, cls, weights), meta


def build_biggan(spec: ModelSpec, z_dim: int = Z_DIM, channel_width: int = CHANNEL_WIDTH,
                 num_classes: int = NUM_CLASSES, layers: Sequence[Sequence[Any]] | None = None,
                 attention_layer_position: int = ATTENTION_POSITION, n_stats: int = N_STATS, eps: float = EPS,
                 output_dim: int | None = None) -> BigGAN:
    """Options are config.json's fields (output_dim, z_dim, channel_width, num_classes, layers, ...)."""
    layers = [tuple(x) for x in (layers or LAYERS_128)]
    ups = sum(bool(u) for u, _, _ in layers)
    if output_dim is not None and 4 * 2 ** ups != int(output_dim):
        raise SpecError(f"{spec.name}: {ups} upsampling layers give {4 * 2 ** ups} px, not output_dim {output_dim}")
    net = BigGANNet(z_dim, channel_width, num_classes, layers, attention_layer_position, n_stats, eps)
    return BigGAN(spec, net, z_dim, num_classes)
