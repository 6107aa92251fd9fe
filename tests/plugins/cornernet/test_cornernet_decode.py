"""Decoding from hand-built corner maps: known corners give exactly the expected boxes, classes and scores;
mismatched embeddings, classes and inverted boxes are not paired; flip-test halves merge as the reference
does; Soft-NMS equals a transliteration of the reference's Cython loop; the preprocess geometry is the
reference's crop_image."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

import zoo
from zoo.errors import InputError
from zoo_cornernet.decode import decode_corners, limit_per_image, merge_flipped, soft_nms
from zoo_cornernet.hourglass import CornerMaps
from zoo_cornernet.models import CornerMeta, CornerNetDetector

H = W = 16
C = 3


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def hand_maps() -> CornerMaps:
    """Two objects (class 1 and 2) plus decoys: a class-1 top-left whose embedding is far from every
    bottom-right, a class-0 bottom-right with no class-0 top-left, and a class-1 bottom-right above-left of
    the class-1 top-left (an inverted box)."""
    tl_h = torch.full((1, C, H, W), -12.0)
    br_h = torch.full((1, C, H, W), -12.0)
    tl_e = torch.full((1, 1, H, W), 10.0)  # background top-lefts (the top-K fill) pair with nothing
    br_e = torch.zeros(1, 1, H, W)
    tl_o = torch.zeros(1, 2, H, W)
    br_o = torch.zeros(1, 2, H, W)
    tl_h[0, 1, 2, 3], tl_e[0, 0, 2, 3], tl_o[0, :, 2, 3] = logit(0.8), 0.1, torch.tensor([0.25, 0.5])
    br_h[0, 1, 10, 12], br_e[0, 0, 10, 12], br_o[0, :, 10, 12] = logit(0.6), 0.3, torch.tensor([0.5, 0.75])
    tl_h[0, 2, 5, 6], tl_e[0, 0, 5, 6] = logit(0.9), 2.0
    br_h[0, 2, 12, 14], br_e[0, 0, 12, 14] = logit(0.8), 2.4
    tl_h[0, 1, 3, 8], tl_e[0, 0, 3, 8] = logit(0.95), 5.0  # no bottom-right within 0.5 of 5.0
    br_h[0, 0, 9, 9], br_e[0, 0, 9, 9] = logit(0.97), 0.1  # class 0: no class-0 top-left
    br_h[0, 1, 1, 1], br_e[0, 0, 1, 1] = logit(0.99), 0.1  # class 1, left of and above every class-1 top-left
    return CornerMaps(tl_h, br_h, tl_e, br_e, tl_o, br_o)


def test_known_corners_decode_to_exactly_the_expected_boxes() -> None:
    maps = hand_maps()
    dets = decode_corners(maps, top_k=4, kernel=3, ae_threshold=0.5, num_dets=16)[0]
    good = dets[dets[:, 4] > 0.01]
    expected = torch.tensor([[6.0, 5.0, 14.0, 12.0, (0.9 + 0.8) / 2, 0.9, 0.8, 2.0],
                             [3.25, 2.5, 12.5, 10.75, (0.8 + 0.6) / 2, 0.8, 0.6, 1.0]])
    torch.testing.assert_close(good, expected)
    # every other pair of the 4 x 4 was rejected: the decoys and the cross-class pairs
    assert torch.all(dets[2:, 4] == -1)


def test_embedding_threshold_and_classes_decide_the_pairing() -> None:
    maps = hand_maps()
    loose = decode_corners(maps, top_k=4, kernel=3, ae_threshold=4.95, num_dets=16)[0]
    good = loose[loose[:, 4] > 0.01]
    # with any distance accepted, the far-embedding class-1 top-left (3, 8) pairs with the class-1 bottom-right
    assert len(good) == 3 and good[:, :2].tolist().count([8.0, 3.0]) == 1
    assert set(good[:, 7].tolist()) == {1.0, 2.0}  # the class-0 bottom-right never pairs


def test_max_pool_nms_keeps_only_the_local_peak() -> None:
    maps = hand_maps()
    maps.tl_heatmap[0, 2, 5, 7] = logit(0.85)  # a weaker neighbour of the (5, 6) corner, same embedding
    maps.tl_embedding[0, 0, 5, 7] = 2.0
    dets = decode_corners(maps, top_k=4, kernel=3, ae_threshold=0.5, num_dets=16)[0]
    assert not torch.any((dets[:, 0] == 7) & (dets[:, 4] > 0))
    dets = decode_corners(maps, top_k=5, kernel=1, ae_threshold=0.5, num_dets=25)[0]
    assert torch.any((dets[:, 0] == 7) & (dets[:, 4] > 0))


def test_flip_merge_is_the_reference_mirror() -> None:
    flipped = torch.tensor([[2.0, 1.0, 5.0, 4.0, 0.7, 0.6, 0.8, 3.0]])
    plain = torch.tensor([[1.0, 1.0, 2.0, 2.0, 0.5, 0.5, 0.5, 0.0]])
    merged = merge_flipped(plain, flipped, out_width=32)
    assert torch.equal(merged, torch.tensor([plain[0].tolist(), [27.0, 1.0, 30.0, 4.0, 0.7, 0.6, 0.8, 3.0]]))


def _reference_soft_nms(boxes: np.ndarray, sigma: float = 0.5, nt: float = 0.3, threshold: float = 0.001,
                        method: int = 0) -> np.ndarray:
    """external/nms.pyx soft_nms, line for line (in float32), returning the first N rows it leaves."""
    boxes = boxes.astype(np.float32).copy()
    n = boxes.shape[0]
    i = 0
    while i < n:
        maxpos = i + int(np.argmax(boxes[i:n, 4]))  # first max, as `maxscore < boxes[pos, 4]`
        boxes[[i, maxpos]] = boxes[[maxpos, i]]
        tx1, ty1, tx2, ty2, _ = boxes[i, :5]
        pos = i + 1
        while pos < n:
            x1, y1, x2, y2, _ = boxes[pos, :5]
            area = (x2 - x1 + 1) * (y2 - y1 + 1)
            iw = min(tx2, x2) - max(tx1, x1) + 1
            if iw > 0:
                ih = min(ty2, y2) - max(ty1, y1) + 1
                if ih > 0:
                    ua = float((tx2 - tx1 + 1) * (ty2 - ty1 + 1) + area - iw * ih)
                    ov = iw * ih / ua
                    if method == 1:
                        weight = 1 - ov if ov > nt else 1
                    elif method == 2:
                        weight = np.exp(-(ov * ov) / sigma)
                    else:
                        weight = 0 if ov > nt else 1
                    boxes[pos, 4] = weight * boxes[pos, 4]
                    if boxes[pos, 4] < threshold:
                        boxes[pos] = boxes[n - 1]
                        n -= 1
                        pos -= 1
            pos += 1
        i += 1
    return boxes[:n]


@pytest.mark.parametrize(("method", "code"), [("hard", 0), ("soft-linear", 1), ("soft-gaussian", 2)])
def test_soft_nms_equals_the_reference_loop(method: str, code: int) -> None:
    rng = np.random.default_rng(code)
    xy = rng.uniform(0, 60, (40, 2))
    wh = rng.uniform(5, 40, (40, 2))
    rows = np.concatenate([xy, xy + wh, rng.uniform(0.0005, 1, (40, 1))], 1).astype(np.float32)
    ref = _reference_soft_nms(rows, nt=0.5, method=code)
    idx, scores = soft_nms(torch.from_numpy(rows[:, :4]), torch.from_numpy(rows[:, 4]), method, iou=0.5)
    assert len(idx) == len(ref)
    np.testing.assert_allclose(rows[idx.numpy(), :4], ref[:, :4])
    np.testing.assert_allclose(scores.numpy(), ref[:, 4], rtol=1e-5, atol=1e-7)


def test_limit_per_image_keeps_ties_at_the_cut() -> None:
    keep = limit_per_image(torch.tensor([0.9, 0.5, 0.5, 0.1]), 2)
    assert keep.tolist() == [True, True, True, False]


@pytest.fixture(scope="module")
def squeeze() -> CornerNetDetector:
    return zoo.build("cornernet-squeeze")


def test_preprocess_is_the_reference_crop_image_and_normalisation(squeeze) -> None:
    img = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    batch, metas = squeeze.preprocess([img], flip=True)
    # test/coco.py: inp = side | 127, image centred (crop_image), BGR / 255, (x - mean) / std, then the mirror
    inp_h, inp_w = 120 | 127, 160 | 127
    canvas = np.zeros((inp_h, inp_w, 3), np.float32)
    top, left = inp_h // 2 - 60, inp_w // 2 - 80
    canvas[top:top + 120, left:left + 160] = img[:, :, ::-1]
    mean = np.array([0.40789654, 0.44719302, 0.47026115], np.float32)
    std = np.array([0.28863828, 0.27408164, 0.27809835], np.float32)
    expected = ((canvas / 255.0 - mean) / std).transpose(2, 0, 1)
    assert batch.shape == (2, 3, inp_h, inp_w)
    np.testing.assert_allclose(batch[0].numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(batch[1].numpy(), expected[:, :, ::-1], rtol=1e-5, atol=1e-5)
    assert metas[0].pad == (float(top), float(left)) and metas[0].out_size == ((inp_h + 1) // 8, (inp_w + 1) // 8)


def test_postprocess_maps_boxes_back_and_merges_flip_halves(squeeze) -> None:
    maps = hand_maps()
    stride = squeeze.stride
    in_side = H * stride - 1
    meta = CornerMeta((100, 90), (in_side, in_side), (1.0, 1.0), (10.0, 20.0), flip=False, out_size=(H, W))
    res = squeeze.postprocess(maps, [meta], conf=0.3, top_k=4)
    r = in_side / H  # / ratio, ratio = out / inp
    got = [(d.class_id, d.score, d.box) for d in res[0].detections]
    assert [g[0] for g in got] == [2, 1]
    assert got[0][1] == pytest.approx(0.85) and got[1][1] == pytest.approx(0.7)
    exp1 = [6 * r - 20, 5 * r - 10, min(14 * r - 20, 90), min(12 * r - 10, 100)]
    exp2 = [3.25 * r - 20, 2.5 * r - 10, 12.5 * r - 20, 10.75 * r - 10]
    assert got[0][2] == pytest.approx(exp1, abs=1e-3) and got[1][2] == pytest.approx(exp2, abs=1e-3)
    # flip test: the mirrored image sees the class-2 object mirrored (top-left at x' = 16 - 14 = 2, bottom-right
    # at x' = 16 - 6 = 10); merged back it is the same box, and Soft-NMS decays the twin by exp(-1 / 0.5)
    tl_h, br_h = torch.full((1, C, H, W), -12.0), torch.full((1, C, H, W), -12.0)
    tl_e, br_e = torch.full((1, 1, H, W), 10.0), torch.zeros(1, 1, H, W)
    tl_h[0, 2, 5, 2], tl_e[0, 0, 5, 2] = logit(0.9), 2.0
    br_h[0, 2, 12, 10], br_e[0, 0, 12, 10] = logit(0.8), 2.4
    mirrored = CornerMaps(tl_h, br_h, tl_e, br_e, torch.zeros(1, 2, H, W), torch.zeros(1, 2, H, W))
    pair = CornerMaps(*[torch.cat([a, b]) for a, b in zip(maps, mirrored)])
    flip_meta = dataclasses.replace(meta, flip=True)
    merged = squeeze.postprocess(pair, [flip_meta], conf=0.01, top_k=4)[0].detections
    assert [(d.class_id, round(d.score, 5)) for d in merged] == [(2, 0.85), (1, 0.7), (2, round(0.85 * math.exp(-2), 5))]
    assert merged[2].box == pytest.approx(merged[0].box, abs=1e-4)
    unmerged = squeeze.postprocess(pair, [flip_meta], conf=0.01, top_k=4, nms="none")[0].detections
    assert [round(d.score, 5) for d in unmerged] == [0.85, 0.85, 0.7]
    with pytest.raises(InputError, match="unknown nms"):
        squeeze.postprocess(maps, [meta], nms="fancy")


def test_bad_size_and_unknown_option_are_input_errors(squeeze) -> None:
    img = np.zeros((32, 32, 3), np.uint8)
    for bad in (0, -5, 2.5, "x", (0, 10), (1, 2, 3)):
        with pytest.raises(InputError, match="positive int"):
            squeeze.predict(img, size=bad)
    with pytest.raises(InputError, match="does not take option .colour."):
        squeeze.predict(img, colour="red")


def test_heatmap_ops_peaks_and_gather() -> None:
    from zoo.ops.heatmaps import gather_at, heatmap_nms, topk_peaks

    heat = torch.zeros(1, 2, 4, 5)
    heat[0, 1, 2, 3] = 0.9
    heat[0, 1, 2, 4] = 0.5  # beside the 0.9: suppressed by the 3x3 max-pool
    heat[0, 0, 0, 0] = 0.7
    peaks = topk_peaks(heatmap_nms(heat, 3), 2)
    assert peaks.scores[0].tolist() == pytest.approx([0.9, 0.7])
    assert peaks.classes.tolist() == [[1, 0]] and peaks.ys.tolist() == [[2.0, 0.0]] and peaks.xs.tolist() == [[3.0, 0.0]]
    feat = torch.arange(2 * 20, dtype=torch.float32).view(1, 2, 4, 5)
    assert gather_at(feat, peaks.inds).tolist() == [[[13.0, 33.0], [0.0, 20.0]]]
