"""MobileNet V2 / V3 networks exactly as torchvision builds them; the core's Classifier does the rest
(resize-crop preprocessing from the spec, softmax top-k). The state dict is torchvision's, so torchvision's
.pth files import with the core's plain "pytorch" converter."""

from __future__ import annotations

import torchvision.models as tvm

from zoo.errors import SpecError
from zoo.spec import ModelSpec
from zoo.tasks.classification import Classifier

ARCHS = {"mobilenet-v2": tvm.mobilenet_v2, "mobilenet-v3-large": tvm.mobilenet_v3_large,
         "mobilenet-v3-small": tvm.mobilenet_v3_small}


def build(spec: ModelSpec, num_classes: int = 1000) -> Classifier:
    if spec.arch not in ARCHS:
        raise SpecError(f"zoo_mobilenet has no architecture '{spec.arch}' (has: {', '.join(ARCHS)})")
    return Classifier(spec, ARCHS[spec.arch](weights=None, num_classes=num_classes))
