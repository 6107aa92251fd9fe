"""Real YOLOv3-tiny weights on real images: the zoo against OpenCV's Darknet importer (cv2.dnn).

OpenCV is decoded here independently (numpy + cv2.dnn.NMSBoxes per class) with the same rule as the
zoo: every class whose objectness x p(class) passes the threshold, class-wise NMS at 0.45.
Match rule (issue #4): every reference detection above the threshold has a zoo detection of the same
class with IoU >= 0.9 and a score within 0.02, and the zoo has no unmatched detection above 0.3.

OpenCV's [yolo] importer defaults to thresh=0.2 (scores below it are zeroed in the output blob) and
nms_threshold=0.4 (NMS inside each yolo layer). The 0.25 comparison uses the shared cfg as it is; the
0.1 comparison and the raw-output comparison use a copy of it with thresh=0 and nms_threshold=0, so
that OpenCV reports every score.
"""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from clikit import trained_like_bn

import zoo

IOU_MATCH, SCORE_TOL, EXTRA_ABOVE, NMS = 0.9, 0.02, 0.3, 0.45
# OpenCV 5 removed the Darknet importer (opencv/opencv#24785): the reference is then not there to compare with
pytestmark = pytest.mark.skipif(not hasattr(cv2.dnn, "readNetFromDarknet"),
                                reason=f"OpenCV {cv2.__version__} has no Darknet importer (removed in OpenCV 5)")


@functools.cache
def tiny(data: Path) -> object:
    # on the CPU by name: OpenCV runs on the CPU, and on a GPU fp32 convolutions may use TF32 (cuDNN's default
    # in torch), which moves scores by more than this comparison's float-rounding tolerances
    return zoo.load("yolov3-tiny", weights=data / "yolov3-tiny.weights", device="cpu")


def raw_cfg(data: Path, folder: Path) -> Path:
    """The shared cfg with OpenCV's in-layer score threshold and NMS switched off."""
    text = (data / "yolov3-tiny.cfg").read_text().replace("[yolo]\n", "[yolo]\nthresh=0\nnms_threshold=0\n")
    assert text.count("nms_threshold=0") == 2
    path = folder / "yolov3-tiny-raw.cfg"
    path.write_text(text)
    return path


def opencv_net(cfg: Path, weights: Path) -> cv2.dnn.Net:
    net = cv2.dnn.readNetFromDarknet(str(cfg), str(weights))
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    return net


def opencv_outputs(net: cv2.dnn.Net, blob: np.ndarray) -> list[np.ndarray]:
    net.setInput(blob)
    return list(net.forward(net.getUnconnectedOutLayersNames()))


def iou(a: list[float], b: list[float]) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def decode_opencv(rows: np.ndarray, to_image: object, conf: float) -> list[tuple[int, float, list[float]]]:
    """OpenCV output rows [cx, cy, w, h (input-normalised), obj, score per class] -> (class, score, xyxy)."""
    dets = []
    for c in range(rows.shape[1] - 5):
        scores = rows[:, 5 + c]
        sel = np.nonzero(scores > conf)[0]
        if not sel.size:
            continue
        xywh = [[float(r[0] - r[2] / 2), float(r[1] - r[3] / 2), float(r[2]), float(r[3])] for r in rows[sel]]
        for k in np.array(cv2.dnn.NMSBoxes(xywh, scores[sel].astype(float).tolist(), conf, NMS)).reshape(-1):
            dets.append((c, float(scores[sel][k]), to_image(xywh[k])))
    return dets


def stretch_to_image(h: int, w: int):  # noqa: ANN201
    def f(b: list[float]) -> list[float]:
        x1, y1, x2, y2 = b[0] * w, b[1] * h, (b[0] + b[2]) * w, (b[1] + b[3]) * h
        return [min(max(x1, 0), w), min(max(y1, 0), h), min(max(x2, 0), w), min(max(y2, 0), h)]
    return f


def compare(ref: list, mine: list, ref_above: float) -> tuple[list[str], list[str], int]:
    """(unmatched reference detections, extra zoo detections above 0.3, matched count)."""
    pool = list(mine)
    missing, matched = [], 0
    for c, s, box in sorted(ref, key=lambda r: -r[1]):
        if s <= ref_above:
            continue
        cands = [d for d in pool if d.model_class_id == c and iou(d.box, box) >= IOU_MATCH and abs(d.score - s) <= SCORE_TOL]
        if not cands:
            near = [(d.label, round(d.score, 3), round(iou(d.box, box), 3)) for d in mine if d.model_class_id == c]
            missing.append(f"class {c} score {s:.3f} box {[round(v, 1) for v in box]}; zoo has {near}")
            continue
        pool.remove(max(cands, key=lambda d: iou(d.box, box)))
        matched += 1
    extras = [f"{d.label} {d.score:.3f} {[round(v, 1) for v in d.box]}" for d in mine if d.score > EXTRA_ABOVE
              and not any(d.model_class_id == c and iou(d.box, box) >= IOU_MATCH for c, _, box in ref)]
    return missing, extras, matched


def run_both(data: Path, images: list[Path], cfg: Path, conf: float, ref_conf: float) -> dict[str, tuple]:
    net = opencv_net(cfg, data / "yolov3-tiny.weights")
    model = tiny(data)
    out = {}
    for path in images:
        bgr = cv2.imread(str(path))
        h, w = bgr.shape[:2]
        blob = cv2.dnn.blobFromImage(bgr, 1 / 255.0, (416, 416), swapRB=True, crop=False)
        ref = decode_opencv(np.concatenate(opencv_outputs(net, blob)), stretch_to_image(h, w), ref_conf)
        mine = model.predict(str(path), conf=conf - SCORE_TOL, resize="stretch", size=416).detections
        out[path.name] = (ref, mine, *compare(ref, mine, conf))
    return out


def test_detections_match_opencv_above_025(shared_data: Path, images: list[Path]) -> None:
    results = run_both(shared_data, images, shared_data / "yolov3-tiny.cfg", conf=0.25, ref_conf=0.2)
    for name, (_ref, _mine, missing, extras, _n) in results.items():
        assert not missing, f"{name}: reference detections the zoo lacks: {missing}"
        assert not extras, f"{name}: zoo detections OpenCV does not have: {extras}"
    ref, mine, *_ = results["grace_hopper.jpg"]
    assert {c for c, s, _ in ref if s > 0.25} == {27}  # above 0.25 the reference finds ties only
    assert max(s for _, s, _ in ref) == pytest.approx(0.87, abs=0.01)  # the tie, about 0.87
    assert mine[0].label == "tie" and mine[0].score == pytest.approx(0.87, abs=0.01)


def test_detections_match_opencv_at_01(shared_data: Path, images: list[Path], tmp_path: Path) -> None:
    results = run_both(shared_data, images, raw_cfg(shared_data, tmp_path), conf=0.1, ref_conf=0.08)
    total = 0
    for name, (_ref, _mine, missing, extras, matched) in results.items():
        assert not missing, f"{name}: reference detections the zoo lacks: {missing}"
        assert not extras, f"{name}: zoo detections OpenCV does not have: {extras}"
        total += matched
    assert total >= 6  # more than one box is compared
    ref = results["grace_hopper.jpg"][0]
    labels = {c for c, s, _ in ref if s > 0.1}
    assert {0, 27} <= labels  # person (about 0.21) and tie
    person = max(s for c, s, _ in ref if c == 0)
    assert person == pytest.approx(0.21, abs=0.02)


def test_raw_yolo_outputs_match_opencv_blobs(shared_data: Path, images: list[Path], tmp_path: Path) -> None:
    """Same input tensor into both networks: every [yolo] output row agrees to float rounding."""
    net = opencv_net(raw_cfg(shared_data, tmp_path), shared_data / "yolov3-tiny.weights")
    model = tiny(shared_data)
    for path in [p for p in images if p.name != "chelsea.png"]:  # the cat scores nothing above 0.1
        batch, _ = model.preprocess(str(path), resize="stretch", size=416)
        theirs = opencv_outputs(net, batch.numpy())
        with torch.no_grad():
            ours = model.net.forward_layers(batch)
        assert [o.shape for o in theirs] == [(13 * 13 * 3, 85), (26 * 26 * 3, 85)]
        assert max(t[:, 4].max() for t in theirs) > 0.1  # a real signal, not arrays of near-zeros
        for t, o in zip(theirs, ours):
            o = o[0].numpy().copy()
            o[:, :4] /= 416.0  # OpenCV normalises boxes by the input size
            assert o.shape == t.shape
            np.testing.assert_allclose(o[:, :4], t[:, :4], rtol=1e-4, atol=1e-5, err_msg=f"{path.name}: boxes")
            np.testing.assert_allclose(o[:, 4:], t[:, 4:], rtol=0, atol=1e-4, err_msg=f"{path.name}: scores")


def test_letterbox_matches_opencv_letterbox(shared_data: Path, images: list[Path], tmp_path: Path) -> None:
    """The zoo's Darknet letterbox against OpenCV's (blobFromImageWithParams, DNN_PMODE_LETTERBOX, gray 127.5).

    The image goes in as float32 so that OpenCV resizes in float and keeps the 127.5 border (in uint8 it
    would round to 128). Boxes are mapped back with OpenCV's letterbox geometry, written out here:
    OpenCV's own blobRectToImageRect works on integer rectangles and moves small boxes by pixels.
    """
    net = opencv_net(raw_cfg(shared_data, tmp_path), shared_data / "yolov3-tiny.weights")
    model = tiny(shared_data)
    matched = 0
    for path in images:
        bgr = cv2.imread(str(path))
        h, w = bgr.shape[:2]
        params = cv2.dnn.Image2BlobParams()
        params.scalefactor, params.size, params.swapRB = (1 / 255.0,) * 3, (416, 416), True
        params.paddingmode, params.borderValue = cv2.dnn.DNN_PMODE_LETTERBOX, (127.5,) * 3
        blob = cv2.dnn.blobFromImageWithParams(bgr.astype(np.float32), params)
        batch, _ = model.preprocess(str(path), size=416)  # letterbox is the default
        assert np.abs(batch.numpy() - blob).max() < 1e-3, f"{path.name}: letterboxed inputs differ"
        f = min(416 / w, 416 / h)
        rw, rh = int(w * f), int(h * f)
        left, top = (416 - rw) // 2, (416 - rh) // 2

        def to_image(b: list[float], h: int = h, w: int = w, rw: int = rw, rh: int = rh, left: int = left,
                     top: int = top) -> list[float]:
            x1, y1 = (b[0] * 416 - left) * w / rw, (b[1] * 416 - top) * h / rh
            x2, y2 = x1 + b[2] * 416 * w / rw, y1 + b[3] * 416 * h / rh
            return [min(max(x1, 0), w), min(max(y1, 0), h), min(max(x2, 0), w), min(max(y2, 0), h)]

        ref = decode_opencv(np.concatenate(opencv_outputs(net, blob)), to_image, 0.08)
        mine = model.predict(str(path), conf=0.08, size=416).detections
        missing, extras, n = compare(ref, mine, 0.1)
        assert not missing and not extras, f"{path.name}: missing {missing}, extra {extras}"
        matched += n
    assert matched >= 6


@pytest.mark.parametrize("name", ["yolov3", "yolov3-spp"])
def test_full_size_networks_match_opencv_with_random_weights(name: str, tmp_path: Path) -> None:
    """The bundled yolov3 / yolov3-spp cfgs (Darknet-53 shortcuts, SPP maxpools 5/9/13, 4-way route) through
    OpenCV's importer with the same random weights, on a small non-square input."""
    from zoo_yolo.convert import write_weights
    from zoo_yolo.models import cfg_path

    torch.manual_seed(0)
    model = zoo.build(name, device="cpu")
    trained_like_bn(model, seed=1)  # batch-norm statistics that are not the identity
    weights = tmp_path / f"{name}.weights"
    write_weights(weights, model.net)
    cfg = tmp_path / f"{name}.cfg"
    cfg.write_text(cfg_path(model.spec).read_text().replace("[yolo]\n", "[yolo]\nthresh=0\nnms_threshold=0\n"))
    net = opencv_net(cfg, weights)
    x = torch.rand(1, 3, 128, 160)
    theirs = opencv_outputs(net, x.numpy())
    with torch.no_grad():
        ours = model.net.forward_layers(x)
    assert [t.shape for t in theirs] == [(4 * 5 * 3, 85), (8 * 10 * 3, 85), (16 * 20 * 3, 85)]
    for t, o in zip(theirs, ours):
        o = o[0].numpy().copy()
        o[:, [0, 2]] /= 160.0
        o[:, [1, 3]] /= 128.0
        np.testing.assert_allclose(o[:, :4], t[:, :4], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(o[:, 4:], t[:, 4:], rtol=0, atol=1e-5)
