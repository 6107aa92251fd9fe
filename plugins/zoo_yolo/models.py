"""YOLOv3 models: a Darknet network from a cfg plus the detector protocol (letterbox/stretch, decode, NMS)."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

import torch

from zoo.errors import InputError, SpecError
from zoo.ops.boxes import batched_classwise_nms, classwise_nms, cxcywh_to_xyxy
from zoo.ops.resize import ImageMeta, boxes_to_original_batched
from zoo.spec import ModelSpec
from zoo.tasks.detection import DetectionResult, Detector, make_result
from zoo_yolo.cfg import Section, read_cfg
from zoo_yolo.darknet import Darknet

CFG_DIR = Path(__file__).with_name("cfg")
NMS_IOU = 0.45  # Darknet's detector test default (do_nms_sort with nms=.45)
PRE_NMS_TOPK = 30_000  # candidates kept for NMS; trained nets pass a few hundred at most, random ones ~500k
STRIDE = 32  # YOLOv3's coarsest grid: input sides must be multiples of it


def cfg_path(spec: ModelSpec, cfg: str | Path | None = None) -> Path:
    """The cfg file of a spec: `cfg` option (a path, or a name in the package's cfg folder), else <arch>.cfg."""
    name = cfg or spec.options.get("cfg") or f"{spec.arch}.cfg"
    path = Path(name).expanduser()
    if not path.is_file():
        path = CFG_DIR / str(name)
    if not path.is_file():
        known = ", ".join(sorted(p.name for p in CFG_DIR.glob("*.cfg")))
        raise SpecError(f"{spec.name}: Darknet cfg '{name}' not found (bundled: {known})")
    return path


@functools.lru_cache(maxsize=16)
def _read_cached(path: str, mtime: float) -> tuple[Section, ...]:
    return tuple(read_cfg(path))


def sections_for(spec: ModelSpec, cfg: str | Path | None = None) -> list[Section]:
    path = cfg_path(spec, cfg)
    return list(_read_cached(str(path), path.stat().st_mtime))


def check_size(size: int | tuple[int, int] | list[int]) -> tuple[int, int]:
    """(h, w) from an int or pair; both must be positive multiples of 32."""
    h, w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    if h <= 0 or w <= 0 or h % STRIDE or w % STRIDE:
        raise InputError(f"YOLO input size must be a positive multiple of {STRIDE}, got {h}x{w} (e.g. 320, 416, 608)")
    return h, w


class YoloDetector(Detector):
    """A Darknet YOLO network with letterbox/stretch pre-processing, box decoding and class-wise NMS."""

    default_conf = 0.25
    default_iou = NMS_IOU
    device_images = True  # preprocess is ZooModel's (after a size check): give it the loader's device images

    def preprocess(self, images: Any, resize: str | None = None,
                   size: int | tuple[int, int] | None = None) -> tuple[torch.Tensor, list[ImageMeta]]:
        if size is not None:
            size = check_size(size)
        return super().preprocess(images, resize=resize, size=size)

    def postprocess(self, raw: torch.Tensor, metas: list[ImageMeta], conf: float | None = None,
                    iou: float | None = None, max_det: int = 300, pre_nms_topk: int | None = PRE_NMS_TOPK) -> list[DetectionResult]:
        """Rows [cx, cy, w, h, obj, obj*p(class)...] -> detections per image.

        Like Darknet, every class whose score obj * p(class) exceeds `conf` gives a detection (one box can
        carry several labels), and NMS runs per class.
        """
        conf = self.default_conf if conf is None else float(conf)
        iou = self.default_iou if iou is None else float(iou)
        dets = batch_detections(raw, metas, conf, iou, max_det, pre_nms_topk)
        return [make_result(d[:, :4], d[:, 4], d[:, 5].long(), self.spec.categories, meta.source, meta.orig_size)
                for d, meta in zip(dets, metas)]


def batch_detections(raw: torch.Tensor | list[torch.Tensor], metas: list[ImageMeta], conf: float, iou: float,
                     max_det: int = 300, pre_nms_topk: int | None = PRE_NMS_TOPK) -> list[torch.Tensor]:
    """Rows [cx, cy, w, h, obj, obj*p(class)...] of a batch -> per image a CPU tensor [K, 6] of (x1, y1, x2, y2
    in original pixels, score, class), best first.

    Thresholds, box decoding, class-wise NMS (one batched_nms for the whole batch) and the mapping back to the
    original images run on the outputs' device; the host gets one copy of the final detections.
    """
    rows_per_image = list(raw) if isinstance(raw, (list, tuple)) else None
    if rows_per_image is not None:  # images of different sizes: flatten with image ids
        image_of_row = torch.cat([torch.full((len(r),), i, dtype=torch.long, device=r.device)
                                  for i, r in enumerate(rows_per_image)])
        flat = torch.cat([r.reshape(-1, r.shape[-1]) for r in rows_per_image])
        keep_rows = (flat[:, 4] > conf).nonzero(as_tuple=True)[0]
        img, rows = image_of_row[keep_rows], flat[keep_rows].float()
    else:
        img, r = (raw[..., 4] > conf).nonzero(as_tuple=True)  # obj >= obj * p(class): a cheap first cut
        rows = raw[img, r].float()
    scores = rows[:, 5:]
    idx, cls = (scores > conf).nonzero(as_tuple=True)
    boxes = cxcywh_to_xyxy(rows[idx, :4])
    s = scores[idx, cls]
    img = img[idx]
    if len(metas) == 1:  # one image: its own NMS, without the batch bookkeeping
        keep = classwise_nms(boxes, s, cls, iou, max_det, pre_nms_topk)
    else:
        keep = batched_classwise_nms(boxes, s, cls, img, iou, max_det, pre_nms_topk)
    img = img[keep]
    out = torch.cat([boxes_to_original_batched(boxes[keep], img, metas), s[keep, None].float(),
                     cls[keep, None].float(), img[:, None].float()], dim=1).cpu()  # the one transfer to the host
    counts = torch.bincount(out[:, 6].long(), minlength=len(metas)).tolist()
    return [d[:, :6] for d in out.split(counts)]  # grouped by image already (batched_classwise_nms)


def build(spec: ModelSpec, size: int | tuple[int, int] | list[int] | None = None,
          cfg: str | Path | None = None) -> YoloDetector:
    """Builder for every Darknet YOLO spec; `size` (320, 416, 608, ...) sets the default input size."""
    sections = sections_for(spec, cfg)
    net = Darknet(sections)
    if spec.categories is not None and net.num_classes is not None:
        from zoo.categories import categories

        if len(categories(spec.categories)) != net.num_classes:
            raise SpecError(f"{spec.name}: the cfg has {net.num_classes} classes but categories "
                            f"'{spec.categories}' has {len(categories(spec.categories))}")
    if size is not None:
        spec = dataclasses.replace(spec, input=dataclasses.replace(spec.input, size=check_size(size)))
    return YoloDetector(spec, net)
