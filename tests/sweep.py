"""One model per architecture for the tests that sweep a whole family (ONNX export, parity with torchvision, the
conformance kit): the others run under the `full` marker (`make test-all`, or `pytest -m full`), so the default
`make test` stays within its time budget while every model stays covered."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

# Each structure among the 20 classic models once: AlexNet, DenseNet, GoogLeNet, ResNet with basic (18) and with
# bottleneck (50) blocks, VGG without and with batch norm. The others differ from these in depth or width only.
CLASSIC_QUICK = frozenset({"alexnet", "densenet121", "googlenet", "resnet18", "resnet50", "vgg11", "vgg11_bn"})


def quick_or_full(names: Iterable[str], quick: frozenset[str] = CLASSIC_QUICK) -> list[Any]:
    """`names` as pytest parameters; those outside `quick` carry the `full` marker."""
    return [name if name in quick else pytest.param(name, marks=pytest.mark.full) for name in names]
