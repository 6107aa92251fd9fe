"""CycleGAN's generator (Zhu et al., 2017): the ResnetGenerator of junyanz/pytorch-CycleGAN-and-pix2pix
(models/networks.py) with the pretrained models' options: reflection padding, 9 residual blocks, InstanceNorm
without affine parameters or running statistics, transposed-conv upsampling, tanh.

Module indices are the reference's, so `latest_net_G.pth` keys (`model.1.weight`,
`model.10.conv_block.1.weight`, ...) are the zoo's keys; the converter only drops stale InstanceNorm statistics.

CycleGAN translates images, so it is an image-input model (`inputs = "images"`) whose results are
GenerationResults recording the source image each output came from.
"""

from __future__ import annotations

import functools
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from zoo.errors import InputError
from zoo.images import load_image
from zoo.model import ZooModel, as_image_list, source_of
from zoo.spec import ModelSpec
from zoo.tasks.generation import GenerationResult, to_uint8

NGF = 64  # reference default --ngf
N_DOWNSAMPLING = 2  # fixed in ResnetGenerator
SIZE_MULTIPLE = 4  # two stride-2 downsamplings: sides must be multiples of 4 (the reference's __make_power_2 base)
DEFAULT_SIZE = 256  # the reference's --crop_size for the pretrained models


class ResnetBlock(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=True), _norm(dim), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=True), _norm(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


def _norm(dim: int) -> nn.Module:
    return nn.InstanceNorm2d(dim, affine=False, track_running_stats=False)


class ResnetGenerator(nn.Module):
    """ResnetGenerator(input_nc, output_nc, ngf, norm='instance', use_dropout=False, n_blocks) of the reference;
    dropout (absent from the pretrained models, `--no_dropout`) would sit at conv_block.3 and shift indices."""

    def __init__(self, input_nc: int = 3, output_nc: int = 3, ngf: int = NGF, n_blocks: int = 9):
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7, bias=True), _norm(ngf), nn.ReLU(True)]
        for i in range(N_DOWNSAMPLING):
            mult = 2 ** i
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1, bias=True), _norm(ngf * mult * 2),
                       nn.ReLU(True)]
        mult = 2 ** N_DOWNSAMPLING
        layers += [ResnetBlock(ngf * mult) for _ in range(n_blocks)]
        for i in range(N_DOWNSAMPLING):
            mult = 2 ** (N_DOWNSAMPLING - i)
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1, output_padding=1, bias=True),
                       _norm(ngf * mult // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


@functools.cache
def instance_norm_modules(n_blocks: int = 9) -> frozenset[str]:
    """Names of the InstanceNorm modules (where pre-0.4 checkpoints carry running statistics to drop)."""
    with torch.device("meta"):
        net = ResnetGenerator(n_blocks=n_blocks)
    return frozenset(n for n, m in net.named_modules() if isinstance(m, nn.InstanceNorm2d))


class CycleGAN(ZooModel):
    """An image -> translated image model; results are GenerationResults with `sources` set."""

    inputs = "images"

    def preprocess(self, images: Any, size: int | tuple[int, int] | str | None = None
                   ) -> tuple[torch.Tensor | list[torch.Tensor], list[Any]]:
        """Images -> [-1, 1] tensors at `size` x `size` (default 256; (height, width) as the other families take
        it: an export's input shape), or at their own size rounded to a multiple of 4 with size="original" or 0
        (the reference's `--preprocess none`)."""
        tensors, metas = [], []
        for item in as_image_list(images):
            arr = load_image(item)
            h, w = arr.shape[:2]
            if size in ("original", 0):
                oh, ow = translated_size(h, w)
            else:
                sides = size if isinstance(size, (tuple, list)) else (DEFAULT_SIZE if size is None else size,) * 2
                if len(sides) != 2:
                    raise InputError(f"size must be N or (height, width), got {size!r}")
                oh, ow = (_positive_int(s) for s in sides)
                if oh % SIZE_MULTIPLE or ow % SIZE_MULTIPLE:
                    side = oh if oh == ow else f"{oh}x{ow}"
                    raise InputError(f"CycleGAN input size must be a multiple of {SIZE_MULTIPLE}, got {side}")
            t = torch.from_numpy(arr).permute(2, 0, 1)[None].float() / 255.0
            if (oh, ow) != (h, w):  # the reference resizes PIL images bicubically
                t = F.interpolate(t, size=(oh, ow), mode="bicubic", align_corners=False, antialias=True).clamp(0, 1)
            tensors.append((t * 2 - 1).to(self.device))
            metas.append({"source": source_of(item), "size": (h, w)})
        batch = torch.cat(tensors) if len({t.shape for t in tensors}) == 1 else tensors
        return batch, metas

    def forward(self, batch: Any) -> Any:
        if isinstance(batch, list):
            return [self.net(b) for b in batch]
        return self.net(batch)

    def postprocess(self, raw: Any, metas: list[Any]) -> list[GenerationResult]:
        outs = raw if isinstance(raw, list) else list(raw.split(1))
        results = []
        for out, meta in zip(outs, metas):
            img = to_uint8(out)[0]
            results.append(GenerationResult(source=meta["source"], image_size=img.shape[:2], model=self.spec.name,
                                            images=[img], sources=[meta["source"]]))
        return results

    def example_inputs(self, batch_size: int = 1, input_size: Any = None) -> tuple[Any, ...]:
        side = DEFAULT_SIZE if input_size is None else (input_size if isinstance(input_size, int) else input_size[0])
        return (torch.rand(batch_size, 3, side, side, device=self.device) * 2 - 1,)


def _positive_int(value: Any) -> int:
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise InputError(f"size must be a positive multiple of {SIZE_MULTIPLE} or 'original', got {value!r}") from None
    if v <= 0:
        raise InputError(f"size must be positive, got {v}")
    return v


def build_cyclegan(spec: ModelSpec, ngf: int = NGF, n_blocks: int = 9) -> CycleGAN:
    net = ResnetGenerator(3, 3, ngf, n_blocks)
    for m in net.modules():  # the reference's init_weights('normal', 0.02)
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            nn.init.zeros_(m.bias)
    return CycleGAN(spec, net)


def translated_size(h: int, w: int) -> tuple[int, int]:
    """Each side rounded to the nearest multiple of 4 (what size="original" feeds the network)."""
    return tuple(max(SIZE_MULTIPLE, round(s / SIZE_MULTIPLE) * SIZE_MULTIPLE) for s in (h, w))  # type: ignore[return-value]

