"""ZooModels of the R-CNN family and the builder every registry row of family "rcnn" points at."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from zoo.errors import SpecError
from zoo.images import load_image
from zoo.model import as_image_list, square_size, with_source
from zoo.ops.proposals import ProposalParams, get_proposals
from zoo.ops.resize import ImageMeta
from zoo.spec import ModelSpec
from zoo.tasks.detection import DetectionResult, Detector, results_from_outputs

PROPOSAL_OPTIONS = {"proposal_mode": "mode", "proposal_max_side": "max_side", "max_proposals": "max_proposals",
                    "proposal_min_size": "min_size"}


def _to_tensor(arr: np.ndarray, device: torch.device) -> torch.Tensor:
    """HWC uint8 -> CHW float in [0, 1] (what torchvision's detection transforms expect; /255 like its own)."""
    return torch.from_numpy(arr).permute(2, 0, 1).float().div(255).to(device)


class RCNNFamilyDetector(Detector):
    """Detectors whose net takes a list of CHW [0, 1] images of any size and resizes/normalises itself
    (GeneralizedRCNNTransform), returning torchvision-style dicts with boxes already in image pixels."""

    def read(self, images: Any) -> tuple[list[np.ndarray], list[torch.Tensor], list[ImageMeta]]:
        """Images -> (RGB arrays, CHW float tensors in [0, 1] on the model's device, metas)."""
        items = as_image_list(images)
        arrays = [load_image(item) for item in items]
        metas = [with_source(ImageMeta(a.shape[:2], a.shape[:2]), item) for a, item in zip(arrays, items)]
        return arrays, [_to_tensor(a, self.device) for a in arrays], metas

    def preprocess(self, images: Any) -> tuple[Any, list[ImageMeta]]:
        """Images -> (list of CHW float tensors in [0, 1], metas); `resize`/`size` do not apply (own transform)."""
        _, tensors, metas = self.read(images)
        return tensors, metas

    def postprocess(self, raw: list[dict[str, torch.Tensor]], metas: list[ImageMeta], conf: float | None = None,
                    mask_threshold: float = 0.5) -> list[DetectionResult]:
        """Keep detections scoring >= conf; Mask R-CNN's soft masks become bool HxW masks (> mask_threshold)."""
        return results_from_outputs(raw, metas, self.spec.categories, self.default_conf if conf is None else conf,
                                    mask_threshold)

    def example_inputs(self, batch_size: int = 1, input_size: int | tuple[int, int] | None = None) -> tuple[Any, ...]:
        """A list of random CHW images (what torchvision's detectors take)."""
        h, w = square_size(input_size) if input_size is not None else self.input_size
        gen = torch.Generator().manual_seed(0)
        return ([torch.rand(3, h, w, generator=gen).to(self.device) for _ in range(batch_size)],)


class TorchvisionDetector(RCNNFamilyDetector):
    """Faster / Mask R-CNN: torchvision's networks with the zoo's pre/post-processing around them."""

    # torchvision computes anchors and transform constants in __init__ as plain tensors, not buffers
    supports_meta_init = False


class ProposalDetector(RCNNFamilyDetector):
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


def build(spec: ModelSpec, **options: Any) -> RCNNFamilyDetector:
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
