"""Neural style transfer (Gatys, Ecker & Bethge 2016) on the classic family's VGG-19 features.

The image is optimised in [0, 1] RGB; VGG-19 sees it normalised with ImageNet mean/std (the classic
family's vgg19 input spec). Features are the ReLU outputs, named as in Caffe's in-place ReLU blobs the
paper used (conv4_2 = relu after the 10th convolution), with torchvision's max pooling kept.

  content loss   L_c = mean((F_l - P_l)^2)                       over the content layers (conv4_2)
  Gram matrix    G_l = F_l F_l^T / (C_l H_l W_l)                  F_l: [C_l, H_l W_l]
  style loss     L_s = sum_l mean((G_l(x) - G_l(style))^2)        over conv1_1 .. conv5_1
  total          content_weight * L_c + style_weight * L_s + tv_weight * TV(x)
with TV(x) = mean |x[:, 1:] - x[:, :-1]| + mean |x[:, :, 1:] - x[:, :, :-1]| (optional smoothing).
These are the normalisations of PyTorch's neural style tutorial, whose defaults (style weight 1e6,
content weight 1) carry over.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from zoo.devices import resolve_device
from zoo.errors import InputError

CONTENT_LAYERS = ("conv4_2",)  # Gatys et al., section 2 / Fig. 2
STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # the classic family's vgg19 input spec (torchvision weights)
IMAGENET_STD = (0.229, 0.224, 0.225)
OPTIMIZERS = ("lbfgs", "adam")
ADAM_LR = 0.02  # in [0, 1] pixel units per step


def vgg_layer_names(features: nn.Sequential) -> dict[str, int]:
    """Caffe-style names -> index in torchvision's VGG `features`: convB_K is the ReLU after the K-th
    convolution of block B (in-place ReLU blobs keep the conv's name), poolB the block's max pool."""
    names: dict[str, int] = {}
    block, conv = 1, 0
    for i, layer in enumerate(features):
        if isinstance(layer, nn.Conv2d):
            conv += 1
        elif isinstance(layer, nn.ReLU):
            names[f"conv{block}_{conv}"] = i
        elif isinstance(layer, nn.MaxPool2d):
            names[f"pool{block}"] = i
            block, conv = block + 1, 0
    return names


class FeatureExtractor(nn.Module):
    """The VGG `features` up to the deepest requested layer; returns {name: activation}."""

    def __init__(self, features: nn.Sequential, layers: Sequence[str]):
        super().__init__()
        names = vgg_layer_names(features)
        unknown = [n for n in layers if n not in names]
        if unknown:
            import difflib

            hint = difflib.get_close_matches(unknown[0], list(names), n=1)
            raise InputError(f"unknown VGG layer '{unknown[0]}'" + (f"; did you mean '{hint[0]}'?" if hint else ""))
        self.index = {n: names[n] for n in layers}
        last = max(self.index.values())
        self.features = nn.Sequential(*[_not_inplace(m) for m in list(features)[:last + 1]]).eval()
        for p in self.features.parameters():
            p.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = (x - self.mean) / self.std
        wanted = {i: n for n, i in self.index.items()}
        out = {}
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in wanted:
                out[wanted[i]] = x
        return out


def _not_inplace(m: nn.Module) -> nn.Module:
    return nn.ReLU(inplace=False) if isinstance(m, nn.ReLU) else m


def gram_matrix(feat: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] -> [N, C, C]: F F^T / (C H W)."""
    n, c, h, w = feat.shape
    f = feat.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def content_loss(feat: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(feat, target)


def style_loss(feat: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(gram_matrix(feat), target_gram)


def total_variation(x: torch.Tensor) -> torch.Tensor:
    return (x[:, :, 1:] - x[:, :, :-1]).abs().mean() + (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().mean()


@dataclass
class Losses:
    total: float
    content: float
    style: float
    tv: float


@dataclass
class StyleResult:
    image: torch.Tensor  # [3, H, W] in [0, 1]
    losses: list[Losses] = field(default_factory=list)  # one entry per loss evaluation
    seconds: float = 0.0
    features: str = ""  # what VGG-19 weights were used

    def pil(self) -> Any:
        from PIL import Image

        arr = (self.image.detach().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)
        return Image.fromarray(arr)


class StyleObjective(nn.Module):
    """Losses of an image against fixed content features and style Gram matrices."""

    def __init__(self, extractor: FeatureExtractor, content: torch.Tensor, style: torch.Tensor,
                 content_layers: Sequence[str], style_layers: Sequence[str], content_weight: float,
                 style_weight: float, tv_weight: float):
        super().__init__()
        self.extractor = extractor
        self.content_layers, self.style_layers = tuple(content_layers), tuple(style_layers)
        self.weights = (float(content_weight), float(style_weight), float(tv_weight))
        with torch.no_grad():
            cf = extractor(content)
            sf = extractor(style)
        self.content_targets = {n: cf[n].detach() for n in self.content_layers}
        self.style_targets = {n: gram_matrix(sf[n]).detach() for n in self.style_layers}

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Losses]:
        feats = self.extractor(x)
        lc = sum((content_loss(feats[n], t) for n, t in self.content_targets.items()), x.new_zeros(()))
        ls = sum((style_loss(feats[n], t) for n, t in self.style_targets.items()), x.new_zeros(()))
        tv = total_variation(x) if self.weights[2] else x.new_zeros(())
        cw, sw, tw = self.weights
        total = cw * lc + sw * ls + tw * tv
        return total, Losses(total.item(), lc.item(), ls.item(), tv.item())


MIN_SIDE = 16  # VGG-19's conv5_1 (a style layer) sits after four 2x2 max-pools: 16 px make it 1x1


def output_size(h: int, w: int, size: int) -> tuple[int, int]:
    """(h, w) scaled so that the longer side is `size` (aspect kept)."""
    s = size / max(h, w)
    return (max(1, round(h * s)), max(1, round(w * s)))


def check_style_size(hw: tuple[int, int]) -> None:
    if min(hw) < MIN_SIDE:
        raise InputError(f"the image would be {hw[0]}x{hw[1]}: VGG-19's style layers need at least {MIN_SIDE} pixels "
                         "a side; give a larger --size")


def check_weights(style_weight: float, content_weight: float, tv_weight: float) -> None:
    """Loss weights are finite and at least 0 (a negative style weight pushes away from the style)."""
    import math

    for flag, value in (("--style-weight", style_weight), ("--content-weight", content_weight),
                        ("--tv-weight", tv_weight)):
        if not (math.isfinite(value) and value >= 0):
            raise InputError(f"{flag} must be at least 0, got {value}")


def load_resized(image: Any, size: int | tuple[int, int], device: torch.device) -> torch.Tensor:
    """An image -> [1, 3, h, w] in [0, 1]; an int size is the longer side (aspect kept), a pair is (h, w)."""
    from zoo.images import load_image

    arr = load_image(image)
    t = torch.from_numpy(np.array(arr)).permute(2, 0, 1).unsqueeze(0).float().div(255)
    if isinstance(size, int):
        size = output_size(*arr.shape[:2], size)
    if tuple(t.shape[-2:]) != tuple(size):
        t = F.interpolate(t, size=size, mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)
    return t.to(device)


def vgg19_features(device: torch.device | str = "cpu", warn: Callable[[str], None] | None = None
                   ) -> tuple[nn.Sequential, str]:
    """The classic family's vgg19 `features` with the cached ImageNet weights, or random ones with a warning."""
    import zoo
    from zoo.errors import WeightsError

    try:
        model = zoo.load("vgg19", device=str(device))
        source = model.weights_source
    except WeightsError as e:
        model = zoo.build("vgg19", device=str(device))
        source = "random init"
        if warn is not None:
            warn(f"vgg19 ImageNet weights are not available ({e}); running on random features: the result will not "
                 "carry the style. 'zoo download vgg19' fixes it.")
    return model.net.features, source


def stylize(content: Any, style: Any, size: int = 512, steps: int = 300, style_weight: float = 1e6,
            content_weight: float = 1.0, tv_weight: float = 0.0, optimizer: str = "lbfgs",
            device: torch.device | str = "cpu", seed: int = 0, features: nn.Sequential | None = None,
            content_layers: Sequence[str] = CONTENT_LAYERS, style_layers: Sequence[str] = STYLE_LAYERS,
            save_every: int | None = None, save_to: str | Path | None = None,
            callback: Callable[[int, Losses], None] | None = None, warn: Callable[[str], None] | None = None
            ) -> StyleResult:
    """Repaint `content` in the style of `style`, starting from the content image.

    `steps` counts loss evaluations (for L-BFGS: its function evaluations, as PyTorch's tutorial counts them).
    `features` is a VGG-19 `features` module (default: the classic family's vgg19, random with a warning if
    its weights are not cached). `save_every` writes intermediate images next to `save_to`.
    """
    if size <= 0:
        raise InputError(f"--size must be positive, got {size}")
    if steps <= 0:
        raise InputError(f"--steps must be positive, got {steps}")
    if optimizer not in OPTIMIZERS:
        raise InputError(f"unknown optimizer '{optimizer}' ({', '.join(OPTIMIZERS)})")
    if save_every is not None and save_every <= 0:
        raise InputError(f"--save-every must be positive, got {save_every}")
    check_weights(style_weight, content_weight, tv_weight)
    device = resolve_device(device)  # "auto": cuda when available
    source = "given"
    if features is None:
        features, source = vgg19_features(device, warn)
    torch.manual_seed(seed)
    c = load_resized(content, size, device)
    check_style_size(tuple(c.shape[-2:]))
    s = load_resized(style, tuple(c.shape[-2:]), device)
    extractor = FeatureExtractor(features, tuple(content_layers) + tuple(style_layers)).to(device)
    objective = StyleObjective(extractor, c, s, content_layers, style_layers, content_weight, style_weight, tv_weight)
    x = c.clone().requires_grad_(True)
    history: list[Losses] = []
    start = time.perf_counter()

    def evaluate() -> torch.Tensor:
        with torch.no_grad():
            x.clamp_(0, 1)
        opt.zero_grad()
        total, losses = objective(x)
        total.backward()
        history.append(losses)
        if callback is not None:
            callback(len(history), losses)
        if save_every and save_to is not None and len(history) % save_every == 0:
            _save_intermediate(x, save_to, len(history))
        return total

    if optimizer == "lbfgs":
        opt: torch.optim.Optimizer = torch.optim.LBFGS([x], lr=1.0, max_iter=steps, max_eval=steps,
                                                       tolerance_grad=0.0, tolerance_change=0.0, history_size=50)
        opt.step(evaluate)
    else:
        opt = torch.optim.Adam([x], lr=ADAM_LR)
        for _ in range(steps):
            evaluate()
            opt.step()
    with torch.no_grad():
        x.clamp_(0, 1)
    return StyleResult(x.detach()[0], history, time.perf_counter() - start, source)


def _save_intermediate(x: torch.Tensor, save_to: str | Path, step: int) -> None:
    from PIL import Image

    from zoo.fsutil import atomic_path

    arr = (x.detach()[0].clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)
    with atomic_path(intermediate_path(save_to, step)) as tmp:
        Image.fromarray(arr).save(tmp)


def intermediate_path(save_to: str | Path, step: int) -> Path:
    """Where `save_every` writes the image of `step`: OUT.stepNNNN.png beside OUT."""
    path = Path(save_to)
    return path.with_name(f"{path.stem}.step{step:04d}{path.suffix or '.png'}")
