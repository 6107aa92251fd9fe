"""ZooModels of the R-CNN family and the builder every registry row of family "rcnn" points at."""

from __future__ import annotations

from typing import Any

import torch

from zoo.errors import SpecError
from zoo.ops.proposals import ProposalParams, get_proposals
from zoo.ops.resize import ImageMeta
from zoo.spec import ModelSpec
from zoo.tasks.torchvision_detection import ImageListDetector, TorchvisionDetector

PROPOSAL_OPTIONS = {"proposal_mode": "mode", "proposal_max_side": "max_side", "max_proposals": "max_proposals",
                    "proposal_min_size": "min_size"}


class ProposalDetector(ImageListDetector):
    """R-CNN and Fast R-CNN: preprocessing also computes (or fetches from the cache) selective-search
    proposals, so the net's input is {"images": [...], "proposals": [...]}."""

    def __init__(self, spec: ModelSpec, net: torch.nn.Module, proposal_params: ProposalParams):
        super().__init__(spec, net)
        self.proposal_params = proposal_params

    def preprocess(self, images: Any, use_cache: bool = True) -> tuple[Any, list[ImageMeta]]:
        arrays, tensors, metas = self.read(images)
        props = [torch.from_numpy(get_proposals(a, self.proposal_params, use_cache).boxes).to(self.device) for a in arrays]
        return {"images": tensors, "proposals": props}, metas

    def example_inputs(self, batch_size: int = 1, input_size: int | tuple[int, int] | None = None) -> tuple[Any, ...]:
        """Random images with `max_proposals` random boxes each (proposal search itself is not part of forward)."""
        (images,) = super().example_inputs(batch_size, input_size)
        gen = torch.Generator().manual_seed(1)
        props = []
        for im in images:
            h, w = im.shape[-2:]
            n = self.proposal_params.max_proposals
            xy = torch.rand(n, 2, generator=gen) * torch.tensor([w * 0.8, h * 0.8])
            wh = (0.05 + torch.rand(n, 2, generator=gen) * 0.5) * torch.tensor([w, h])
            boxes = torch.cat([xy, (xy + wh).minimum(torch.tensor([w, h]))], 1)
            props.append(boxes.to(self.device))
        return ({"images": images, "proposals": props},)


TV_DETECTORS = ("faster-rcnn-r50-fpn", "faster-rcnn-r50-fpn-v2", "faster-rcnn-mobilenet-v3-fpn",
                     "mask-rcnn-r50-fpn", "mask-rcnn-r50-fpn-v2")


def build(spec: ModelSpec, **options: Any) -> ImageListDetector:
    """Builder for every row of family "rcnn" (dispatches on spec.arch); options go to the network."""
    if spec.arch in TV_DETECTORS:
        from zoo_rcnn.tv import make_net

        return TorchvisionDetector(spec, make_net(spec.arch, **options))
    params = ProposalParams(**{PROPOSAL_OPTIONS[k]: options.pop(k) for k in list(options) if k in PROPOSAL_OPTIONS})
    if spec.arch == "fast-rcnn":
        from zoo_rcnn.region_nets import FastRCNNNet

        return ProposalDetector(spec, FastRCNNNet(**options), params)
    if spec.arch == "rcnn":
        from zoo_rcnn.region_nets import RCNNNet

        return ProposalDetector(spec, RCNNNet(**options), params)
    raise SpecError(f"zoo_rcnn has no architecture '{spec.arch}' (it builds: {', '.join(TV_DETECTORS)}, "
                    "fast-rcnn, rcnn)")
