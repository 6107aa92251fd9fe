"""CornerNet detectors: the reference's test-time sizing as `preprocess`, its decoding as `postprocess`.

Test-time sizing (CornerNet test/coco.py `kp_detection`, CornerNet-Lite core/test/cornernet.py): the image is
kept at its own size (or scaled so its longer side is `size`), placed at the centre of a zero canvas whose
sides are the next 128k - 1 (`side | 127`), BGR, divided by 255 and normalised with the COCO mean/std of
db/coco.py. Output maps are (side + 1) / stride; boxes go back through ratio = out / in, the border, clipping.
With flip test the mirrored canvas runs in the same batch and its detections are mirrored back and merged
before per-class Soft-NMS (gaussian, Nt 0.5) and the 100-per-image cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from zoo.errors import InputError, SpecError
from zoo.images import load_image
from zoo.model import as_image_list, with_source
from zoo.ops.resize import ImageMeta, boxes_to_original, stretch, to_float
from zoo.spec import ModelSpec
from zoo.tasks.detection import DetectionResult, Detector, make_result
from zoo_cornernet.decode import (
    NMS_METHODS,
    classwise_soft_nms,
    decode_corners,
    limit_per_image,
    merge_flipped,
)
from zoo_cornernet.hourglass import ARCHS, CornerMaps, CornerNet, arch_from_options

PAD_MASK = 127  # inp = side | 127: canvases are 128k - 1 pixels (test/coco.py)
# db/detection.py defaults (both repositories); per-model values come from the spec's options
AE_THRESHOLD = 0.5  # configs: "ae_threshold": 0.5
NMS_KERNEL = 3  # "nms_kernel": 3 (heatmap max-pool)
NMS = "soft-gaussian"  # "nms_algorithm": "exp_soft_nms"
NMS_THRESHOLD = 0.5  # "nms_threshold": 0.5
MAX_PER_IMAGE = 100  # "max_per_image": 100
SHOW_CONF = 0.5  # test/coco.py draws (debug mode) detections scoring above 0.5
REJECTED_CUT = -1.0  # test code: `keep_inds = detections[:, 4] > -1` drops the decoder's rejected pairs


@dataclass(frozen=True)
class CornerMeta(ImageMeta):
    """ImageMeta plus what decoding needs: the image's slot in a flip-test batch and the output map size."""

    flip: bool = False
    out_size: tuple[int, int] = (0, 0)


def check_size(size: Any) -> tuple[int, int]:
    """An int (the longer side) or an (h, w) box the image is scaled to fit -> (h, w), both positive ints."""
    pair = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
    if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0 for v in pair):
        raise InputError(f"CornerNet size must be a positive int (the longer image side, e.g. 511), got {size!r}")
    return int(pair[0]), int(pair[1])


class CornerNetDetector(Detector):
    """A CornerNet network with the reference's padding, flip test, corner decoding and Soft-NMS."""

    default_conf = SHOW_CONF

    def __init__(self, spec: ModelSpec, net: CornerNet, top_k: int, num_dets: int, flip: bool):
        super().__init__(spec, net)
        self.top_k, self.num_dets, self.flip = top_k, num_dets, flip
        self.stride = net.arch.stride

    # ------------------------------------------------------------------ pre
    def preprocess(self, images: Any, size: int | tuple[int, int] | None = None, flip: bool | None = None,
                   resize: str | None = None) -> tuple[torch.Tensor, list[CornerMeta]]:
        """Images -> (one zero-padded, normalised BGR batch; metas). `size`: scale each image so its longer
        side is `size` (or so it fits an (h, w) pair) first; default: native size, as the reference's test
        scale 1. `flip`: also run the mirrored images (flip test; default from the spec)."""
        if resize not in (None, "none"):
            raise InputError(f"{self.spec.name} pads images to 128k - 1 as the reference does; resize mode "
                             f"'{resize}' is not supported")
        size = None if size is None else check_size(size)
        flip = self.flip if flip is None else bool(flip)
        tensors, places = [], []
        for item in as_image_list(images):
            arr = load_image(item)
            h0, w0 = arr.shape[:2]
            if size is not None:
                s = min(size[0] / h0, size[1] / w0)
                t, _ = stretch(arr, (max(1, int(h0 * s)), max(1, int(w0 * s))))
            else:
                t = to_float(arr)
            tensors.append(t)
            places.append((item, h0, w0))
        sides = [((t.shape[2] | PAD_MASK), (t.shape[3] | PAD_MASK)) for t in tensors]
        ch, cw = max(s[0] for s in sides), max(s[1] for s in sides)
        batch = torch.zeros(len(tensors), 3, ch, cw)
        out_size = ((ch + 1) // self.stride, (cw + 1) // self.stride)
        metas = []
        for i, (t, (ih, iw), (item, h0, w0)) in enumerate(zip(tensors, sides, places)):
            h, w = t.shape[2:]
            top, left = ih // 2 - h // 2, iw // 2 - w // 2  # utils/image.py crop_image centred on (h//2, w//2)
            batch[i, :, top:top + h, left:left + w] = t[0]
            meta = CornerMeta((h0, w0), (ch, cw), (h / h0, w / w0), (float(top), float(left)), flip=flip,
                              out_size=out_size)
            metas.append(with_source(meta, item))
        batch = batch.flip(1)  # RGB -> BGR: the reference reads images with cv2 and trains on BGR
        batch = self.normalize(batch)
        if flip:
            batch = torch.cat([batch, batch.flip(3)])
        return batch, metas

    # ------------------------------------------------------------------ post
    def postprocess(self, raw: CornerMaps, metas: list[CornerMeta], conf: float | None = None,
                    top_k: int | None = None, ae_threshold: float = AE_THRESHOLD, nms: str = NMS,
                    iou: float = NMS_THRESHOLD, max_det: int = MAX_PER_IMAGE,
                    num_dets: int | None = None) -> list[DetectionResult]:
        """Decode corners, map boxes to the images, merge flip-test halves, per-class NMS, keep max_det."""
        conf = self.default_conf if conf is None else float(conf)
        if nms != "none" and nms not in NMS_METHODS:
            raise InputError(f"unknown nms '{nms}' ({', '.join(NMS_METHODS)}, none)")
        maps = CornerMaps(*raw)
        dets = decode_corners(maps, self.top_k if top_k is None else int(top_k), NMS_KERNEL, float(ae_threshold),
                              self.num_dets if num_dets is None else int(num_dets)).cpu()
        n = len(metas)
        in_h, in_w = maps.tl_heatmap.shape[2] * self.stride - 1, maps.tl_heatmap.shape[3] * self.stride - 1
        results = []
        for i, meta in enumerate(metas):
            d = dets[i]
            out_h, out_w = maps.tl_heatmap.shape[2:]
            if meta.flip:
                d = merge_flipped(d, dets[n + i], out_w)
            d = d[d[:, 4] > REJECTED_CUT]
            boxes = d[:, :4].clone()
            boxes[:, [0, 2]] *= in_w / out_w  # / width_ratio (out / inp)
            boxes[:, [1, 3]] *= in_h / out_h
            boxes = boxes_to_original(boxes, meta)
            scores, classes = d[:, 4], d[:, 7].long()
            if nms != "none":
                keep, scores = classwise_soft_nms(boxes, scores, classes, nms, float(iou))
                boxes, classes = boxes[keep], classes[keep]
            top = limit_per_image(scores, int(max_det))
            ok = top & (scores >= conf)
            results.append(make_result(boxes[ok], scores[ok], classes[ok], self.spec.categories, meta.source,
                                       meta.orig_size))
        return results


def build(spec: ModelSpec, arch: str = "hourglass104", top_k: int = 100, num_dets: int = 1000, flip: bool = True,
          arch_overrides: dict[str, Any] | None = None) -> CornerNetDetector:
    """Builder for every CornerNet spec. `arch`: hourglass104 | squeeze; `top_k` corners per type, `num_dets`
    pairs kept by the decoder and `flip` (flip test) are the reference config's top_k / num_dets /
    test_flipped. `arch_overrides` replaces fields of the architecture (small networks for tests)."""
    if arch not in ARCHS:
        raise SpecError(f"{spec.name}: unknown CornerNet arch '{arch}' (known: {', '.join(ARCHS)})")
    a = arch_from_options(arch, arch_overrides)
    if spec.categories is not None:
        from zoo.categories import categories

        if len(categories(spec.categories)) != a.num_classes:
            raise SpecError(f"{spec.name}: {a.num_classes} heatmap classes but categories '{spec.categories}' "
                            f"has {len(categories(spec.categories))}")
    return CornerNetDetector(spec, CornerNet(a), int(top_k), int(num_dets), bool(flip))
