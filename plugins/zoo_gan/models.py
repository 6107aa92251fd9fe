"""One builder for the family: the spec's `arch` picks the network."""

from __future__ import annotations

from typing import Any

from torch import nn

from zoo.errors import SpecError
from zoo.spec import ModelSpec


def build(spec: ModelSpec, **options: Any) -> nn.Module:
    """dcgan* -> DCGAN, biggan-deep* -> BigGAN-deep, cyclegan* -> CycleGAN ResnetGenerator."""
    arch = spec.arch or spec.name
    if arch.startswith("dcgan"):
        from zoo_gan.dcgan import build_dcgan

        return build_dcgan(spec, **options)
    if arch.startswith("biggan-deep"):
        from zoo_gan.biggan import build_biggan

        return build_biggan(spec, **options)
    if arch.startswith("cyclegan"):
        from zoo_gan.cyclegan import build_cyclegan

        return build_cyclegan(spec, **options)
    raise SpecError(f"{spec.name}: unknown GAN architecture '{arch}' (dcgan*, biggan-deep*, cyclegan*)")
