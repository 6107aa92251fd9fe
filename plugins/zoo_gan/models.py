"""One builder for the family: the spec's `arch` picks the network's builder, whose keyword parameters are the
options the family takes (checked here, as the core checks a builder's own)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from torch import nn

from zoo.errors import InputError, SpecError
from zoo.spec import ModelSpec


def _builder(spec: ModelSpec) -> Callable[..., nn.Module]:
    arch = spec.arch
    if arch.startswith("dcgan"):
        from zoo_gan.dcgan import build_dcgan

        return build_dcgan
    if arch.startswith("biggan-deep"):
        from zoo_gan.biggan import build_biggan

        return build_biggan
    if arch.startswith("cyclegan"):
        from zoo_gan.cyclegan import build_cyclegan

        return build_cyclegan
    raise SpecError(f"{spec.name}: unknown GAN architecture '{arch}' (dcgan*, biggan-deep*, cyclegan*)")


def build(spec: ModelSpec, **options: Any) -> nn.Module:
    """dcgan* -> DCGAN, biggan-deep* -> BigGAN-deep, cyclegan* -> CycleGAN ResnetGenerator."""
    fn = _builder(spec)
    valid = list(inspect.signature(fn).parameters)[1:]
    unknown = [k for k in options if k not in valid]
    if unknown:
        raise InputError(f"{spec.name} does not take builder option{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(repr(k) for k in unknown)} (it takes: {', '.join(valid) or 'none'})")
    return fn(spec, **options)
