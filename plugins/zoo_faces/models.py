"""Face models: the MTCNN detector (boxes + 5 landmarks) and, by arch, the family's other networks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from zoo.errors import InputError, SpecError
from zoo.images import load_image
from zoo.model import as_image_list, square_size, with_source
from zoo.ops.resize import ImageMeta
from zoo.spec import ModelSpec
from zoo.tasks.detection import Detection, DetectionResult, Detector
from zoo_faces import mtcnn

FACE_LABEL = "face"
LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")  # MTCNN's order (image left/right)


class FaceDetector(Detector):
    """MTCNN: P-Net over an image pyramid, R-Net and O-Net on crops; each image at its own resolution.

    `preprocess` only turns images into float pixel tensors (the cascade resamples internally), `forward`
    runs the whole cascade per image and returns `mtcnn.Faces`, and `postprocess` makes detections with
    landmarks. The cascade's settings are builder options (`min_face_size`, `thresholds`, `factor`).
    """

    default_conf = 0.0  # O-Net's threshold (0.7) already decides; `conf` can only raise it

    def __init__(self, spec: ModelSpec, net: mtcnn.MTCNNNet, min_face_size: float = mtcnn.MIN_FACE_SIZE,
                 thresholds: Sequence[float] = mtcnn.THRESHOLDS, factor: float = mtcnn.FACTOR):
        super().__init__(spec, net)
        if min_face_size <= 0:
            raise InputError(f"min_face_size must be positive, got {min_face_size}")
        if not 0 < factor < 1:
            raise InputError(f"factor must be in (0, 1), got {factor}")
        if len(thresholds) != 3:
            raise InputError(f"thresholds must be three numbers (P-Net, R-Net, O-Net), got {list(thresholds)}")
        self.min_face_size = float(min_face_size)
        self.thresholds = tuple(float(t) for t in thresholds)
        self.factor = float(factor)

    def preprocess(self, images: Any) -> tuple[list[torch.Tensor], list[ImageMeta]]:
        """Images -> ([3, H, W] uint8 pixels on the model's device, one per image), metas."""
        tensors, metas = [], []
        for item in as_image_list(images):
            arr = load_image(item)
            tensors.append(torch.tensor(arr, device=self.device).permute(2, 0, 1))
            metas.append(with_source(ImageMeta(arr.shape[:2], arr.shape[:2]), item))
        return tensors, metas

    def forward(self, batch: torch.Tensor | list[torch.Tensor]) -> list[mtcnn.Faces]:
        """The cascade on each image ([N, 3, H, W] or a list of [3, H, W]; uint8, or floats in [0, 255])."""
        return [mtcnn.detect_one(self.net, img, self.min_face_size, self.thresholds, self.factor) for img in batch]

    def postprocess(self, raw: list[mtcnn.Faces], metas: list[ImageMeta], conf: float | None = None
                    ) -> list[DetectionResult]:
        """Faces -> detections (label "face", best score first) with 5 landmarks each."""
        conf = self.default_conf if conf is None else float(conf)
        results = []
        for faces, meta in zip(raw, metas):
            keep = faces.scores >= conf
            boxes, scores, points = (t[keep].float().cpu() for t in (faces.boxes, faces.scores, faces.landmarks))
            order = scores.argsort(descending=True, stable=True).tolist()
            dets = [Detection(boxes[i].tolist(), FACE_LABEL, 0, float(scores[i]), landmarks=points[i].tolist())
                    for i in order]
            results.append(DetectionResult(meta.source, tuple(meta.orig_size), dets))
        return results

    def example_inputs(self, batch_size: int = 1, input_size: int | tuple[int, int] | None = None
                       ) -> tuple[list[torch.Tensor]]:
        h, w = square_size(input_size) if input_size is not None else self.input_size
        gen = torch.Generator().manual_seed(0)
        return ([torch.randint(0, 256, (3, h, w), generator=gen, dtype=torch.uint8).to(self.device)
                 for _ in range(batch_size)],)


def build(spec: ModelSpec, **options: Any) -> torch.nn.Module:
    """Builder for every spec of the family, by `arch`."""
    arch = spec.arch or spec.name
    if arch == "mtcnn":
        known = {"min_face_size", "thresholds", "factor"}
        unknown = set(options) - known
        if unknown:
            raise InputError(f"mtcnn: unknown option(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
        return FaceDetector(spec, mtcnn.MTCNNNet(), **options)
    raise SpecError(f"{spec.name}: unknown faces architecture '{arch}' (known: mtcnn)")
