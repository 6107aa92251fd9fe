"""DCGAN (Radford et al., 2015) in the layout of the PyTorch DCGAN tutorial and pytorch/examples dcgan/main.py:
`main.0.weight` ... for both networks, so tutorial checkpoints load with no renaming.

Generator: z [N, nz, 1, 1] -> 4 transposed convs with BatchNorm + ReLU -> transposed conv -> tanh, 64x64 RGB.
Discriminator: 64x64 RGB -> conv + LeakyReLU(0.2) -> 3 x (conv, BatchNorm, LeakyReLU) -> conv -> sigmoid.
"""

from __future__ import annotations

import torch
from torch import nn

from zoo.spec import ModelSpec
from zoo.tasks.generation import Generator

NZ = 100  # latent size (tutorial: nz = 100)
NGF = 64  # generator feature maps (tutorial: ngf = 64)
NDF = 64  # discriminator feature maps (tutorial: ndf = 64)
NC = 3  # image channels
LEAK = 0.2  # LeakyReLU slope in the discriminator (tutorial and paper)
INIT_STD = 0.02  # tutorial's weights_init: conv N(0, 0.02), BatchNorm weight N(1, 0.02), bias 0


class DCGANGenerator(nn.Module):
    """The tutorial's `Generator` (its module indices are the checkpoint's keys)."""

    def __init__(self, nz: int = NZ, ngf: int = NGF, nc: int = NC):
        super().__init__()
        self.nz = nz
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),  # 4x4
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),  # 8x8
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),  # 16x16
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),  # 32x32
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),  # 64x64
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z.reshape(z.shape[0], self.nz, 1, 1))


class DCGANDiscriminator(nn.Module):
    """The tutorial's `Discriminator`: 64x64 RGB in [-1, 1] -> probability of real, shape [N]."""

    def __init__(self, ndf: int = NDF, nc: int = NC, sigmoid: bool = True):
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(LEAK, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(LEAK, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(LEAK, inplace=True),
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 8),
            nn.LeakyReLU(LEAK, inplace=True),
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
        ]
        if sigmoid:
            layers.append(nn.Sigmoid())
        self.main = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x).view(-1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Pre-sigmoid scores (training uses BCE-with-logits on these: the same loss, numerically safer)."""
        return self.main[:12](x).view(-1)


def weights_init(m: nn.Module) -> None:
    """The tutorial's init: conv weights N(0, 0.02); BatchNorm weight N(1, 0.02), bias 0."""
    name = type(m).__name__
    if "Conv" in name:
        nn.init.normal_(m.weight.data, 0.0, INIT_STD)
    elif "BatchNorm" in name:
        nn.init.normal_(m.weight.data, 1.0, INIT_STD)
        nn.init.constant_(m.bias.data, 0)


class DCGAN(Generator):
    """dcgan-64: the generator as a zoo model (its state_dict is the tutorial's netG layout)."""

    latent_kind = "gaussian"

    def __init__(self, spec: ModelSpec, net: DCGANGenerator, ndf: int = NDF):
        super().__init__(spec, net)
        self.latent_dim = net.nz
        self.ndf = ndf

    def forward(self, latents: torch.Tensor, classes: torch.Tensor | None = None,
                truncation: float | None = None) -> torch.Tensor:
        return self.net(latents)

    def discriminator(self) -> DCGANDiscriminator:
        """A fresh discriminator with the tutorial's init, on the generator's device (for training)."""
        d = DCGANDiscriminator(self.ndf)
        d.apply(weights_init)
        return d.to(self.device)


def build_dcgan(spec: ModelSpec, nz: int = NZ, ngf: int = NGF, ndf: int = NDF) -> DCGAN:
    net = DCGANGenerator(nz, ngf)
    net.apply(weights_init)
    return DCGAN(spec, net, ndf)
