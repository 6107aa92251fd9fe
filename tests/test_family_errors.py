"""An unknown architecture is a SpecError (one line, "error: ..." from the CLI), never a bare ValueError,
in every built-in family."""

from __future__ import annotations

import dataclasses

import pytest

import zoo
from zoo.errors import SpecError
from zoo.plugin_manager import default_registry


@pytest.mark.parametrize("name", ["resnet18", "faster-rcnn-r50-fpn", "yolov3-tiny"])
def test_unknown_architecture_is_a_spec_error(name: str) -> None:
    spec = dataclasses.replace(default_registry().get(name), arch="no-such-arch", options={})
    with pytest.raises(SpecError, match="no-such-arch"):
        zoo.build(spec, device="meta")


@pytest.mark.parametrize("arch", ["fast-rcnn", "rcnn"])
def test_unknown_rcnn_backbone_is_a_spec_error(arch: str) -> None:
    name = next(n for n in default_registry().list(family="rcnn") if default_registry().get(n).arch == arch)
    spec = dataclasses.replace(default_registry().get(name), options={"backbone": "no-such-backbone"})
    with pytest.raises(SpecError, match="no-such-backbone"):
        zoo.build(spec, device="meta")


def test_torchvision_detector_builder_refuses_an_unknown_arch() -> None:
    from zoo_rcnn.tv import make_net

    with pytest.raises(SpecError, match="no-such-arch"):
        make_net("no-such-arch")
