"""Face models: the MTCNN detector (boxes + 5 landmarks) and, by arch, the family's other networks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from zoo.errors import InputError, SpecError
from zoo.images import load_image
from zoo.model import ZooModel, as_image_list, square_size, with_source
from zoo.ops.resize import ImageMeta
from zoo.spec import ModelSpec
from zoo.tasks.detection import Detection, DetectionResult, Detector
from zoo_faces import mtcnn
from zoo_faces.inception_resnet_v1 import EMBEDDING_DIM
from zoo_faces.results import EmbeddingResult, FaceComparison, l2_distance

FACE_LABEL = "face"
FACE_SIZE = 160  # facenet-pytorch MTCNN(image_size=160): the crops InceptionResnetV1 was trained on
# Same-person rule on the L2 distance of unit embeddings. Neither facenet-pytorch nor davidsandberg/facenet
# publishes one number (facenet's LFW validation picks the threshold by 10-fold cross-validation), so 1.1 is
# an unvalidated default, a common choice for unit-norm FaceNet embeddings. Pass `threshold=` to set it.
SAME_PERSON_THRESHOLD = 1.1


class FaceDetector(Detector):
    """MTCNN: P-Net over an image pyramid, R-Net and O-Net on crops; each image at its own resolution.

    `preprocess` only turns images into float pixel tensors (the cascade resamples internally), `forward`
    runs the whole cascade per image and returns `mtcnn.Faces`, and `postprocess` makes detections with
    landmarks. The cascade's settings are builder options (`min_face_size`, `thresholds`, `factor`).
    """

    default_conf = 0.0  # O-Net's threshold (0.7) already decides; `conf` can only raise it
    # zoo.runtimes' one line for `zoo export mtcnn` / `--backend`: why this forward is no single graph
    export_refusal = ("the MTCNN cascade is not one graph: the image pyramid's sizes, NMS and the candidate "
                      "counts between P-Net, R-Net and O-Net decide what runs next (its stage networks "
                      "export one by one: docs/runtimes.md)")

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
        """Faces -> detections (label "face", best score first) with 5 landmarks each, in MTCNN's order: the
        eyes, the nose, the mouth corners (each pair image-left first; the "face" label set names them)."""
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


@dataclass(frozen=True)
class FaceMeta(ImageMeta):
    box: list[float] | None = None  # the face that was cropped (compare mode)
    error: str | None = None  # compare mode: why this image has no embedding ("no face found")


class FaceEmbedder(ZooModel):
    """InceptionResnetV1: a face crop -> a 512-d unit embedding (distances compare identities).

    `predict` embeds whole images stretched to 160x160 (give it face crops); with `compare=True` it first
    finds each image's largest face with mtcnn and crops it as facenet-pytorch's MTCNN(...)(img) does, and
    each result carries its distance to the first image's embedding and the same-person verdict.
    """

    threshold = SAME_PERSON_THRESHOLD

    def __init__(self, spec: ModelSpec, net: torch.nn.Module):
        super().__init__(spec, net)
        self._detector: FaceDetector | None = None

    def detector(self) -> FaceDetector:
        """The mtcnn model that finds faces for compare mode (loaded once, from the zoo's cache)."""
        if self._detector is None:
            import zoo

            self._detector = zoo.load("mtcnn", device=str(self.device))
        return self._detector

    def preprocess(self, images: Any, resize: str | None = None, size: int | tuple[int, int] | None = None,
                   compare: bool = False) -> tuple[torch.Tensor, list[ImageMeta]]:
        if not compare:
            return super().preprocess(images, resize=resize, size=size)
        if resize is not None or size is not None:
            raise InputError("compare mode crops faces to 160x160 itself: drop --resize/--size")
        crops, metas = [], []
        for item in as_image_list(images):
            image = load_image(item)
            face = largest_face(self.detector().predict(image))
            if face is None:  # this image gets a result saying so; the others are still compared
                metas.append(with_source(FaceMeta(image.shape[:2], (FACE_SIZE, FACE_SIZE), error="no face found"),
                                         item))
                continue
            crops.append(extract_face(image, face.box))
            metas.append(with_source(FaceMeta(image.shape[:2], (FACE_SIZE, FACE_SIZE), box=face.box), item))
        batch = torch.stack([torch.tensor(c).permute(2, 0, 1).float() for c in crops]) if crops else \
            torch.zeros(0, 3, FACE_SIZE, FACE_SIZE)  # no face in any image: each result says so
        return self.normalize(batch), metas

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        if batch.shape[0] == 0:  # the network's flatten cannot take an empty batch
            return batch.new_zeros((0, EMBEDDING_DIM))
        return self.net(batch)

    def postprocess(self, raw: torch.Tensor, metas: list[ImageMeta], compare: bool = False,
                    threshold: float | None = None) -> list[EmbeddingResult]:
        """Embeddings -> results; in compare mode each also gets its distance to the first one and a verdict."""
        if threshold is not None and not compare:
            raise InputError("--threshold applies to --compare")
        rows = iter(raw.float().cpu())
        out = [EmbeddingResult(m.source, tuple(m.orig_size), error=m.error) if getattr(m, "error", None) else
               EmbeddingResult(m.source, tuple(m.orig_size), next(rows).tolist(), getattr(m, "box", None))
               for m in metas]
        if compare:
            limit = float(self.threshold if threshold is None else threshold)
            found = [r for r in out if r.error is None]  # the first image with a face is the reference
            for r in found:
                r.reference, r.threshold = found[0].source, limit
                r.distance = l2_distance(found[0].embedding, r.embedding)
                r.same = r.distance < limit
        return out

    def embed_faces(self, faces: list[np.ndarray]) -> torch.Tensor:
        """Face crops (HxWx3 uint8, already 160x160 as `extract_face` makes them) -> embeddings [N, 512]."""
        batch = torch.stack([torch.tensor(f).permute(2, 0, 1).float() for f in faces])
        with torch.inference_mode():
            return self(self.normalize(batch))


def extract_face(image: np.ndarray, box: Sequence[float], size: int = FACE_SIZE, margin: int = 0) -> np.ndarray:
    """facenet-pytorch's extract_face for a PIL image: the box (plus margin, in output pixels) truncated to
    ints and clipped, cropped, and resized to size x size with PIL's bilinear filter -> HxWx3 uint8."""
    from PIL import Image

    mx = margin * (box[2] - box[0]) / (size - margin)
    my = margin * (box[3] - box[1]) / (size - margin)
    h, w = image.shape[:2]
    crop = (int(max(box[0] - mx / 2, 0)), int(max(box[1] - my / 2, 0)),
            int(min(box[2] + mx / 2, w)), int(min(box[3] + my / 2, h)))
    return np.asarray(Image.fromarray(image).crop(crop).resize((size, size), Image.BILINEAR))


def largest_face(result: DetectionResult) -> Detection | None:
    """facenet-pytorch's default selection (select_largest=True): the face with the largest box."""
    if not result.detections:
        return None
    return max(result.detections, key=lambda d: (d.box[2] - d.box[0]) * (d.box[3] - d.box[1]))


def compare(a: Any, b: Any, embedder: FaceEmbedder | None = None, detector: FaceDetector | None = None,
            threshold: float = SAME_PERSON_THRESHOLD) -> FaceComparison:
    """Are the largest faces in photos `a` and `b` the same person? Detect with mtcnn, align (crop to 160),
    embed, and compare the L2 distance with `threshold`. A photo without a face raises InputError naming it."""
    import zoo

    embedder = embedder if embedder is not None else zoo.load("facenet-inception-resnet-v1")
    if detector is not None:
        embedder._detector = detector
    first, second = embedder.predict([a, b], compare=True, threshold=threshold)
    for r in (first, second):
        if r.error is not None:
            raise InputError(f"{r.source or 'image'}: {r.error}")
    return FaceComparison(first, second, float(second.distance), float(threshold), bool(second.same))


def build(spec: ModelSpec, **options: Any) -> torch.nn.Module:
    """Builder for every spec of the family, by `arch`."""
    arch = spec.arch
    if arch == "mtcnn":
        known = {"min_face_size", "thresholds", "factor"}
        unknown = set(options) - known
        if unknown:
            raise InputError(f"mtcnn: unknown option(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
        return FaceDetector(spec, mtcnn.MTCNNNet(), **options)
    if arch == "facenet-inception-resnet-v1":
        if options:
            raise InputError(f"{spec.name}: unknown option(s) {', '.join(sorted(options))}")
        from zoo_faces.inception_resnet_v1 import InceptionResnetV1

        return FaceEmbedder(spec, InceptionResnetV1())
    raise SpecError(f"{spec.name}: unknown faces architecture '{arch}' (known: mtcnn, facenet-inception-resnet-v1)")
