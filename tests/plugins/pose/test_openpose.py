"""OpenPose body: converter, network parity with the reference layout, grouping equal to the reference's
loops (synthetic people and random maps), the folded resize chain equal to OpenCV's, and the model end to end."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

import zoo
from zoo.errors import WeightsMismatchError
from zoo.tasks.keypoints import KeypointResult
from zoo_pose import grouping
from zoo_pose.convert import convert_openpose_body, from_openpose_body_pth
from zoo_pose.openpose import image_maps, prepare_images
from zoo_pose.openpose_net import OpenPoseBody

sys.path.insert(0, str(Path(__file__).parent))
from openpose_reference import ReferenceBodyPose, reference_group  # noqa: E402

from zoo.api import expected_state


def reference_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """The reference module with activation-preserving random weights, as a flat body_pose_model.pth dict."""
    return dict(_reference_state(seed))


@functools.lru_cache(maxsize=2)
def _reference_state(seed: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    ref = ReferenceBodyPose()
    for m in ref.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.uniform_(m.bias, -0.1, 0.1)
    return {k.split(".", 1)[1]: v for k, v in ref.state_dict().items()}


# ------------------------------------------------------------------------------------------------ converter

def test_converter_loads_reference_names_strictly(tmp_path: Path) -> None:
    state = reference_state()
    assert len(state) == 2 * (12 + 5 * 2 + 5 * 2 * 7) and "Mconv7_stage6_L2.bias" in state
    net = OpenPoseBody()
    converted = convert_openpose_body(state)
    assert set(converted) == set(net.state_dict())
    net.load_state_dict(converted, strict=True)
    path = tmp_path / "body_pose_model.pth"
    torch.save({f"model0.{k}" if k.startswith("conv") and "CPM_L" not in k else k: v for k, v in state.items()}, path)
    assert set(from_openpose_body_pth(path)) == set(converted)  # the port's module-prefixed names work too


def test_converter_names_a_wrong_key_and_a_wrong_shape() -> None:
    state = reference_state()
    bad = dict(state)
    bad["Mconv3_stage4_L9.weight"] = bad.pop("Mconv3_stage4_L2.weight")
    with pytest.raises(WeightsMismatchError, match=r"missing key Mconv3_stage4_L2\.weight.*unexpected key Mconv3_stage4_L9\.weight"):
        convert_openpose_body(bad)
    bad = dict(state)
    bad["conv5_5_CPM_L2.weight"] = torch.zeros(18, 512, 1, 1)
    with pytest.raises(WeightsMismatchError, match=r"conv5_5_CPM_L2\.weight has shape \(18, 512, 1, 1\).*\(19, 512, 1, 1\)"):
        convert_openpose_body(bad)


def test_zoo_import_path_reads_the_pth(tmp_path: Path) -> None:
    from zoo.convert import convert_any

    path = tmp_path / "body_pose_model.pth"
    torch.save(reference_state(), path)
    spec = zoo.get_spec("openpose-body")
    state, fmt = convert_any(spec, spec.default_weights(), path, expected=expected_state(spec))
    assert fmt == "pytorch-openpose-body" and len(state) == 2 * 92


# ------------------------------------------------------------------------------------------------ network

def test_network_equals_reference_layout_module() -> None:
    state = reference_state(1)
    ref = ReferenceBodyPose().eval()
    ref.load_state_dict({f"{prefix}.{k}": v for prefix, mod in ref.named_children()
                         for k, v in ((n, state[n]) for n in (name.split(".", 1)[0] + "." + name.split(".", 1)[1]
                                                              for name in mod.state_dict()))})
    ours = OpenPoseBody().eval()
    ours.load_state_dict(convert_openpose_body(state))
    x = torch.rand(1, 3, 32, 48) - 0.5
    with torch.inference_mode():
        (rp, rh), (op, oh) = ref(x), ours(x)
    assert op.shape == (1, 38, 4, 6) and oh.shape == (1, 19, 4, 6)
    assert rp.abs().mean() > 1e-2 and rh.abs().mean() > 1e-2  # activations survive the 6 stages: a real check
    assert (op - rp).abs().max() < 1e-5 and (oh - rh).abs().max() < 1e-5
    assert isinstance(ours.stages[-1].heat[-1], nn.ReLU)  # the port's ReLU on the last heatmap output
    caffe = OpenPoseBody(final_relu=False)
    assert isinstance(caffe.stages[-1].heat[-1], nn.Conv2d) and isinstance(caffe.stages[-1].paf[-1], nn.Conv2d)


# ------------------------------------------------------------------------------------------------ grouping

# A standing person in a unit box, OpenPose-18 order (nose, neck, r/l shoulder-elbow-wrist, r/l hip-knee-ankle,
# r/l eye, r/l ear).
TEMPLATE = np.array([(0.5, 0.1), (0.5, 0.2), (0.3, 0.2), (0.22, 0.36), (0.18, 0.5), (0.7, 0.2), (0.78, 0.36),
                     (0.82, 0.5), (0.4, 0.55), (0.4, 0.75), (0.4, 0.95), (0.6, 0.55), (0.6, 0.75), (0.6, 0.95),
                     (0.44, 0.06), (0.56, 0.06), (0.36, 0.08), (0.64, 0.08)])


def render(people: list[np.ndarray], h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Ideal maps for people given as (18, 2) integer pixel positions: Gaussian part peaks, unit PAF vectors
    within 1.5 px of each limb."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    heat = np.zeros((h, w, 19))
    paf = np.zeros((h, w, 38))
    for pts in people:
        for p in range(18):
            heat[:, :, p] = np.maximum(heat[:, :, p], np.exp(-((xx - pts[p, 0]) ** 2 + (yy - pts[p, 1]) ** 2) / (2 * 1.5 ** 2)))
        for k, (a, b) in enumerate(grouping.LIMBS):
            d = pts[b] - pts[a]
            length = np.hypot(*d)
            u = d / length
            t = (xx - pts[a, 0]) * u[0] + (yy - pts[a, 1]) * u[1]
            dist = np.abs((xx - pts[a, 0]) * u[1] - (yy - pts[a, 1]) * u[0])
            on = (t >= -1) & (t <= length + 1) & (dist <= 1.5)
            cx, cy = grouping.PAF_CHANNELS[k]
            paf[:, :, cx][on], paf[:, :, cy][on] = u[0], u[1]
    heat[:, :, 18] = 1 - heat[:, :, :18].max(2)
    return heat, paf


def vectorised(heat: np.ndarray, paf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    maps = grouping.FullMaps(torch.from_numpy(heat).permute(2, 0, 1), torch.from_numpy(paf).permute(2, 0, 1))
    return grouping.group(maps)


def assert_same(ours: tuple[np.ndarray, np.ndarray], ref: tuple[np.ndarray, np.ndarray]) -> None:
    (cand, subset), (rcand, rsubset) = ours, ref
    assert cand.shape == (len(rcand), 4)
    if len(rcand):
        np.testing.assert_array_equal(cand, rcand)
    assert subset.shape == rsubset.shape
    np.testing.assert_array_equal(subset[:, :18], rsubset[:, :18])
    np.testing.assert_allclose(subset[:, 18:], rsubset[:, 18:], rtol=1e-12, atol=1e-12)


def test_grouping_finds_known_people_like_the_reference() -> None:
    h, w = 96, 128
    people = [np.round(TEMPLATE * [40, 80] + [8, 8]), np.round(TEMPLATE * [36, 84] + [70, 6])]
    heat, paf = render(people, h, w)
    ours = vectorised(heat, paf)
    assert_same(ours, reference_group(heat, paf, h))
    cand, subset = ours
    assert len(subset) == 2 and (subset[:, -1] == 18).all()
    pts18, coco, score = grouping.people_arrays(cand, subset)
    got = sorted(pts18[:, :, :2].tolist())
    assert got == sorted(p.tolist() for p in people)
    np.testing.assert_array_equal(coco[:, 5, :2], pts18[:, 5, :2])  # COCO left shoulder = OpenPose 5
    np.testing.assert_array_equal(coco[:, 2, :2], pts18[:, 14, :2])  # COCO right eye = OpenPose 14


@pytest.mark.parametrize("seed", [0, 1])
def test_grouping_equals_reference_loops_on_random_maps(seed: int) -> None:
    from scipy.ndimage import gaussian_filter

    g = np.random.default_rng(seed)
    h, w = 60, 80
    heat = gaussian_filter(g.random((h, w, 19)), (2, 2, 0)) * 2.0 - 0.6
    heat += 0.6 * (g.random((h, w, 19)) > 0.995)
    paf = gaussian_filter(g.normal(0.25, 0.5, (h, w, 38)), (4, 4, 0)) * 4.0
    ours = vectorised(heat, paf)
    ref = reference_group(heat, paf, h)
    assert_same(ours, ref)
    assert len(ref[0]) > 30  # enough candidates for the pair scoring to be exercised


def test_greedy_match_equals_sorted_greedy_with_ties() -> None:
    g = np.random.default_rng(3)
    for _ in range(50):
        n = int(g.integers(1, 40))
        i, j = g.integers(0, 7, n), g.integers(0, 6, n)
        s = np.round(g.random(n), 1)  # many ties
        pairs = list(dict.fromkeys(zip(i.tolist(), j.tolist())))  # each (i, j) once, first kept
        i, j = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
        s = s[: len(pairs)]
        want, used_i, used_j = [], set(), set()
        for k in sorted(range(len(s)), key=lambda k: s[k], reverse=True):
            if i[k] not in used_i and j[k] not in used_j:
                want.append(k)
                used_i.add(i[k])
                used_j.add(j[k])
        assert grouping.greedy_match(i, j, s).tolist() == want


# ------------------------------------------------------------------------------------------------ resize chain

def cv2_chain(low: np.ndarray, scaled: tuple[int, int], full: tuple[int, int], resample: str) -> np.ndarray:
    """The reference's map post-processing for one scale (low: (h, w, C) float32): Hzzone's cv2.resize
    calls, or controlnet_aux's smart_resize_k / smart_resize (area to shrink, Lanczos-4 to enlarge)."""
    if resample == "cubic":
        m = cv2.resize(low, (0, 0), fx=8, fy=8, interpolation=cv2.INTER_CUBIC)[:scaled[0], :scaled[1], :]
        return cv2.resize(m, (full[1], full[0]), interpolation=cv2.INTER_CUBIC)
    h, w = low.shape[:2]
    m = np.stack([cv2.resize(low[:, :, c], (w * 8, h * 8), interpolation=cv2.INTER_LANCZOS4)
                  for c in range(low.shape[2])], 2)[:scaled[0], :scaled[1], :]
    shrink = (full[0] + full[1]) / (scaled[0] + scaled[1]) < 1
    return np.stack([cv2.resize(m[:, :, c], (full[1], full[0]), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LANCZOS4)
                     for c in range(m.shape[2])], 2)


@pytest.mark.parametrize("scales,resample", [((0.5,), "cubic"), ((0.5, 1.0), "cubic"), ((0.5,), "area-lanczos"),
                                             ((1.2,), "area-lanczos")])
def test_folded_resize_chain_equals_opencv(scales: tuple[float, ...], resample: str) -> None:
    image = np.random.default_rng(0).integers(0, 255, (90, 130, 3), dtype=np.uint8)
    batch, metas = prepare_images(image, scales=scales, box_size=100, resample=resample)
    meta = metas[0]
    g = np.random.default_rng(5)
    raw, heat_avg, paf_avg = [], 0.0, 0.0
    for t, padded, scaled in zip(batch, meta.padded, meta.scaled):
        assert t.shape[2:] == padded and padded[0] % 8 == 0 and 0 <= padded[0] - scaled[0] < 8
        hl, wl = padded[0] // 8, padded[1] // 8
        heat = gaussian_blur(g.random((hl, wl, 19)).astype(np.float32)) * 1.6 - 0.3
        paf = (g.normal(0.3, 0.6, (hl, wl, 38))).astype(np.float32)
        raw.append((torch.from_numpy(paf).permute(2, 0, 1)[None], torch.from_numpy(heat).permute(2, 0, 1)[None]))
        heat_avg = heat_avg + cv2_chain(heat, scaled, meta.orig_size, resample).astype(np.float64) / len(scales)
        paf_avg = paf_avg + cv2_chain(paf, scaled, meta.orig_size, resample).astype(np.float64) / len(scales)
    folded = image_maps(raw, meta)
    full = grouping.FullMaps(torch.from_numpy(heat_avg).permute(2, 0, 1), torch.from_numpy(paf_avg).permute(2, 0, 1))
    smooth_ref = full.smoothed_heat(3.0)
    assert (folded.smoothed_heat(3.0).double() - smooth_ref).abs().max() < 1e-5
    ys, xs = torch.meshgrid(torch.arange(0, 90, 7), torch.arange(0, 130, 9), indexing="ij")
    c = torch.full_like(ys.reshape(-1), 11)
    assert np.abs(folded.paf_at(c, ys.reshape(-1), xs.reshape(-1)) - full.paf_at(c, ys.reshape(-1), xs.reshape(-1))).max() < 1e-5
    ours, ref = grouping.group(folded), reference_group(heat_avg, paf_avg, 90)
    assert len(ref[0]) > 5
    np.testing.assert_array_equal(ours[0][:, [0, 1, 3]], ref[0][:, [0, 1, 3]])
    np.testing.assert_allclose(ours[0][:, 2], ref[0][:, 2], atol=1e-5)
    np.testing.assert_array_equal(ours[1][:, :18], ref[1][:, :18])


def gaussian_blur(a: np.ndarray) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(a, (1, 1, 0))


# ------------------------------------------------------------------------------------------------ model

def test_predict_end_to_end_and_empty_when_nobody(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "x.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8)).save(path)
    model = zoo.build("openpose-body")
    with torch.no_grad():
        for m in model.net.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.zero_()
                m.bias.zero_()
    r = model.predict(str(path), box_size=64)
    assert isinstance(r, KeypointResult) and r.people == [] and r.image_size == (60, 80) and r.source == str(path)
    assert r.to_json()["people"] == []


def test_bench_rows_for_openpose() -> None:
    """The harness's forward and end-to-end rows run for openpose-body (grouping timed as postprocess)."""
    from zoo.bench.report import END_TO_END, FORWARD

    rep = zoo.benchmark("openpose-body", batch_sizes=[1], input_size=64, iters=1, warmup=0, memory=False,
                        flops=False)
    fwd, e2e = rep.row("openpose-body", 1, FORWARD), rep.row("openpose-body", 1, END_TO_END)
    assert fwd.status == "ok" and e2e.status == "ok", (fwd.error, e2e.error)
    assert e2e.preprocess_ms > 0 and e2e.forward_ms > 0 and e2e.postprocess_ms > 0
