"""Builders for the classic classifiers: torchvision's architectures, so the zoo's weights layout
is torchvision's state_dict layout."""

from __future__ import annotations

import torchvision.models as tvm
from torch import nn

from zoo.errors import SpecError
from zoo.spec import ModelSpec
from zoo.tasks.classification import Classifier

TV_CLASSIFIERS = {
    "alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "densenet121", "densenet161", "densenet169", "densenet201",
}


def make_net(arch: str, num_classes: int = 1000) -> nn.Module:
    """The bare torchvision-layout network for `arch` (random init)."""
    if arch in TV_CLASSIFIERS:
        return getattr(tvm, arch)(weights=None, num_classes=num_classes)
    if arch == "googlenet":
        # the published ImageNet weights expect transform_input=True and no auxiliary heads at inference
        return tvm.GoogLeNet(num_classes=num_classes, aux_logits=False, transform_input=True, init_weights=True)
    if arch == "densenet264":
        # DenseNet-264 (Huang et al. 2017, Table 1): growth 32, blocks (6, 12, 64, 48)
        return tvm.DenseNet(growth_rate=32, block_config=(6, 12, 64, 48), num_init_features=64, num_classes=num_classes)
    raise SpecError(f"zoo_classic has no architecture '{arch}'")


def build(spec: ModelSpec, num_classes: int = 1000) -> Classifier:
    return Classifier(spec, make_net(spec.arch, num_classes))
