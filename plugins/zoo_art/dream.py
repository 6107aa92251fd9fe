"""DeepDream (Mordvintsev, Olah & Tyka 2015) on the classic family's classifiers.

Gradient ascent on 0.5 * mean(activation^2) of one layer (Google's `objective_L2`), image by image over
octaves: the image is shrunk by `octave_scale` per octave, processed smallest first, and the detail the
ascent added is carried up to the next octave (deepdream.ipynb's `deepdream()`). Each step rolls the
image by a random jitter (undone afterwards) and takes a step normalised by the mean absolute gradient.
The image lives in the model's normalised input space, clipped to what [0, 1] pixels map to.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from zoo.devices import resolve_device
from zoo.errors import InputError, first_line

OCTAVE_SCALE = 1.4  # deepdream.ipynb defaults: octave_n=4, octave_scale=1.4, iter_n=10, step_size=1.5, jitter=32
STEP_SIZE = 1.5 / 255 * 4  # the notebook's 1.5 in 0..255 Caffe units, here in normalised units (std ~0.25)
JITTER = 32


def layer_names(net: nn.Module) -> list[str]:
    return [n for n, _ in net.named_modules() if n]


def resolve_layer(net: nn.Module, name: str) -> nn.Module:
    """A submodule by its dotted name; unknown names raise InputError with did-you-mean."""
    modules = dict(net.named_modules())
    if name in modules and name:
        return modules[name]
    names = layer_names(net)
    hints = difflib.get_close_matches(name, names, n=3)
    tops = ", ".join(n for n in names if "." not in n)
    raise InputError(f"unknown layer '{name}'" + (f"; did you mean {', '.join(repr(h) for h in hints)}?" if hints
                                                  else f" (top-level layers: {tops})"))


def octave_sizes(h: int, w: int, octaves: int, scale: float = OCTAVE_SCALE) -> list[tuple[int, int]]:
    """Sizes processed, smallest first: the image shrunk by scale^k for k = octaves-1 .. 0 (k = 0: (h, w))."""
    if octaves <= 0:
        raise InputError(f"--octaves must be positive, got {octaves}")
    return [(max(1, round(h / scale ** k)), max(1, round(w / scale ** k))) for k in range(octaves - 1, -1, -1)]


def capped_size(h: int, w: int, size: int | None) -> tuple[int, int]:
    """(h, w) shrunk so that the longer side is at most `size` (what `dream` works on)."""
    if size is None or max(h, w) <= size:
        return h, w
    s = size / max(h, w)
    return round(h * s), round(w * s)


def check_octaves(model: Any, sizes: list[tuple[int, int]]) -> None:
    """One forward at the smallest octave (cheap: it is the smallest) so that a network that cannot take it
    is one line before any work, not torch's 'Output size is too small' after some."""
    h, w = sizes[0]
    try:
        with torch.no_grad():
            model.net(torch.zeros(1, 3, h, w, device=model.device))
    except RuntimeError as e:
        raise InputError(f"the smallest octave would be {h}x{w}, too small for {model.spec.name} "
                         f"({first_line(e)}); use fewer --octaves or a larger --size") from None


@dataclass
class DreamResult:
    image: torch.Tensor  # [3, H, W] in [0, 1]
    norms: list[float] = field(default_factory=list)  # the layer's activation RMS before each step
    sizes: list[tuple[int, int]] = field(default_factory=list)
    seconds: float = 0.0
    weights: str = ""

    def pil(self) -> Any:
        from PIL import Image

        arr = (self.image.detach().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)
        return Image.fromarray(arr)


def load_classifier(name: str, device: torch.device | str, warn: Callable[[str], None] | None = None) -> Any:
    """A classic-family model with its cached weights, or random ones with a warning."""
    import zoo
    from zoo.errors import WeightsError

    try:
        return zoo.load(name, device=str(device))
    except WeightsError as e:
        if warn is not None:
            warn(f"{name} weights are not available ({e}); dreaming on random features. 'zoo download {name}' fixes it.")
        return zoo.build(name, device=str(device))


def dream(image: Any, model: Any = "googlenet", layer: str = "inception4c", octaves: int = 4, steps: int = 20,
          octave_scale: float = OCTAVE_SCALE, step_size: float = STEP_SIZE, jitter: int = JITTER,
          size: int | None = None, device: torch.device | str = "cpu", seed: int = 0,
          callback: Callable[[int, float], None] | None = None, warn: Callable[[str], None] | None = None
          ) -> DreamResult:
    """DeepDream `image` on `layer` of `model` (a zoo model or its name). `size` caps the longer side."""
    from zoo.images import load_image

    if steps <= 0:
        raise InputError(f"--steps must be positive, got {steps}")
    if octave_scale <= 1:
        raise InputError(f"octave scale must be > 1, got {octave_scale}")
    if size is not None and size <= 0:
        raise InputError(f"--size must be positive, got {size}")
    device = resolve_device(device)  # "auto": cuda when available
    zm = load_classifier(model, device, warn) if isinstance(model, str) else model
    zm = zm.to(device).eval()
    target = resolve_layer(zm.net, layer)
    arr = load_image(image)
    base = torch.from_numpy(np.array(arr)).permute(2, 0, 1).unsqueeze(0).float().div(255).to(device)
    if size is not None and max(base.shape[-2:]) > size:
        base = F.interpolate(base, size=capped_size(base.shape[2], base.shape[3], size), mode="bilinear",
                             align_corners=False, antialias=True)
    inp = zm.spec.input
    mean = torch.tensor(inp.mean or (0.0, 0.0, 0.0), device=device).view(1, 3, 1, 1)
    std = torch.tensor(inp.std or (1.0, 1.0, 1.0), device=device).view(1, 3, 1, 1)
    lo, hi = (0 - mean) / std, (1 - mean) / std
    x0 = (base - mean) / std
    sizes = octave_sizes(x0.shape[2], x0.shape[3], octaves, octave_scale)
    check_octaves(zm, sizes)
    bases = [F.interpolate(x0, size=hw, mode="bilinear", align_corners=False) if hw != tuple(x0.shape[-2:]) else x0
             for hw in sizes]
    captured: dict[str, torch.Tensor] = {}
    hook = target.register_forward_hook(lambda _m, _i, out: captured.__setitem__("act", out))
    gen = torch.Generator().manual_seed(seed)
    norms: list[float] = []
    start = time.perf_counter()
    for p in zm.parameters():
        p.requires_grad_(False)
    try:
        detail = torch.zeros_like(bases[0])
        for octave_base in bases:
            if detail.shape[-2:] != octave_base.shape[-2:]:
                detail = F.interpolate(detail, size=octave_base.shape[-2:], mode="bilinear", align_corners=False)
            x = octave_base + detail
            for _ in range(steps):
                ox, oy = (int(v) for v in torch.randint(-jitter, jitter + 1, (2,), generator=gen))
                x = torch.roll(x, (oy, ox), (2, 3)).detach().requires_grad_(True)
                zm.net(x)
                act = captured["act"]
                if not isinstance(act, torch.Tensor):
                    raise InputError(f"layer '{layer}' does not output a tensor")
                norms.append(float(act.detach().pow(2).mean().sqrt()))
                if callback is not None:
                    callback(len(norms), norms[-1])
                (0.5 * act.pow(2).mean()).backward()
                g = x.grad
                with torch.no_grad():
                    x = x + step_size / (g.abs().mean() + 1e-8) * g
                    x = torch.roll(x, (-oy, -ox), (2, 3))
                    x = torch.maximum(torch.minimum(x, hi), lo)
            detail = (x - octave_base).detach()
    finally:
        hook.remove()
    out = (x.detach() * std + mean).clamp(0, 1)[0]
    return DreamResult(out, norms, sizes, time.perf_counter() - start, zm.weights_source)


def activation_rms(model: Any, layer: str, image: torch.Tensor) -> float:
    """RMS of `layer`'s activation for an image [3, H, W] in [0, 1] (normalised as the model's spec says)."""
    target = resolve_layer(model.net, layer)
    captured: dict[str, torch.Tensor] = {}
    hook = target.register_forward_hook(lambda _m, _i, out: captured.__setitem__("act", out))
    try:
        inp = model.spec.input
        mean = torch.tensor(inp.mean or (0.0, 0.0, 0.0)).view(1, 3, 1, 1)
        std = torch.tensor(inp.std or (1.0, 1.0, 1.0)).view(1, 3, 1, 1)
        with torch.no_grad():
            model.net((image.unsqueeze(0) - mean) / std)
    finally:
        hook.remove()
    return float(captured["act"].pow(2).mean().sqrt())
