"""MTCNN against facenet-pytorch 2.6.0 with its real weights: each stage's network, the packed pyramid,
and whole detections on the shared photos (faces, scores, boxes, landmarks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision.ops import box_iou

from zoo.errors import ConversionError
from zoo.tasks.detection import DetectionResult
from zoo_faces import mtcnn
from zoo_faces.convert import MTCNN_FILES, read_mtcnn_folder

FACES = ("grace_hopper.jpg", "astronaut.png")
NO_FACES = ("chelsea.png", "coffee.png")


def image_tensor(path: Path) -> torch.Tensor:
    return torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1)


def test_stage_networks_equal_reference(mtcnn_model, reference_mtcnn) -> None:
    gen = torch.Generator().manual_seed(0)
    net, ref = mtcnn_model.net, reference_mtcnn
    with torch.inference_mode():
        x = torch.rand(2, 3, 57, 70, generator=gen) * 2 - 1
        for a, b in zip(net.pnet(x), ref.pnet(x)):
            assert a.shape == b.shape and (a - b).abs().max() < 1e-5
        x = torch.rand(7, 3, 24, 24, generator=gen) * 2 - 1
        for a, b in zip(net.rnet(x), ref.rnet(x)):
            assert a.shape == b.shape and (a - b).abs().max() < 1e-5
        x = torch.rand(5, 3, 48, 48, generator=gen) * 2 - 1
        for a, b in zip(net.onet(x), ref.onet(x)):
            assert a.shape == b.shape and (a - b).abs().max() < 1e-5


def test_pyramid_levels_equal_area_interpolation(shared_images: Path) -> None:
    """Levels read off the integral image are the reference's interpolate(mode="area") pixels, bit for bit."""
    img = image_tensor(shared_images / "grace_hopper.jpg")
    h, w = img.shape[1:]
    scales = mtcnn.pyramid_scales(h, w)
    for pixels in (img, img.float()):  # uint8 (int32 sums) and float (float64 sums)
        levels = mtcnn.level_images(pixels)
        assert len(levels) == len(scales) > 5
        for lvl, s in zip(levels, scales):
            ref = F.interpolate(img[None].float(), size=(int(h * s + 1), int(w * s + 1)), mode="area")
            assert torch.equal(lvl, (ref - 127.5) * 0.0078125)


def test_crops_equal_area_interpolation(shared_images: Path) -> None:
    img = image_tensor(shared_images / "astronaut.png")
    ii = mtcnn.integral_image(img)
    y0, y1 = torch.tensor([0, 10, 100, 500]), torch.tensor([512, 37, 101, 512])
    x0, x1 = torch.tensor([0, 3, 200, 0]), torch.tensor([512, 90, 230, 7])
    for size in (24, 48):
        crops = mtcnn.area_crops(ii, y0, y1, x0, x1, size)
        for k in range(4):
            ref = F.interpolate(img[None, :, y0[k]:y1[k], x0[k]:x1[k]].float(), size=(size, size), mode="area")
            assert torch.equal(crops[k:k + 1], ref)


def test_normalized_crops_equal_normalized_interpolation(shared_images: Path) -> None:
    """Normalisation folded into the division (by 128 x the window width) gives detect_face's pixels exactly."""
    img = image_tensor(shared_images / "grace_hopper.jpg")
    ii = mtcnn.integral_image(img)
    y0, y1, x0, x1 = torch.tensor([0, 57, 300]), torch.tensor([600, 170, 333]), torch.tensor([0, 41, 9]), torch.tensor([512, 99, 500])
    for size in (24, 48):
        crops = mtcnn.area_crops(ii, y0, y1, x0, x1, size, normalized=True)
        for k in range(len(y0)):
            ref = F.interpolate(img[None, :, y0[k]:y1[k], x0[k]:x1[k]].float(), size=(size, size), mode="area")
            assert torch.equal(crops[k:k + 1], (ref - 127.5) * 0.0078125)


def test_packed_pnet_equals_per_level_reference(mtcnn_model, reference_mtcnn, shared_images: Path) -> None:
    """One P-Net call on the packed pyramid gives each level's per-level output (edges included)."""
    img = image_tensor(shared_images / "grace_hopper.jpg")
    with torch.inference_mode():
        packed = mtcnn.pnet_levels(mtcnn_model.net, img)
        for (reg, prob), level in zip(packed, mtcnn.level_images(img)):
            ref_reg, ref_prob = reference_mtcnn.pnet(level)
            assert reg.shape == ref_reg.shape and prob.shape == ref_prob.shape
            assert (reg - ref_reg).abs().max() < 1e-5
            assert (prob - ref_prob).abs().max() < 1e-5


@pytest.mark.parametrize("source", ["chelsea.png", "coffee.png", (67, 93), (125, 61), (201, 131)])
def test_packed_pnet_levels_equal_per_level_runs(mtcnn_model, reference_mtcnn, shared_images: Path, source) -> None:
    """Packed-canvas P-Net outputs equal per-level runs of the reference's P-Net on the reference's levels, for
    photos and for odd image sizes (odd level heights and widths: the -inf edges before the ceil-mode pool)."""
    if isinstance(source, str):
        img = image_tensor(shared_images / source)
    else:
        img = torch.randint(0, 256, (3, *source), generator=torch.Generator().manual_seed(sum(source)), dtype=torch.uint8)
    h, w = img.shape[1:]
    sizes = [(int(h * s + 1), int(w * s + 1)) for s in mtcnn.pyramid_scales(h, w)]
    assert any(a % 2 for a, _ in sizes) and any(b % 2 for _, b in sizes)
    with torch.inference_mode():
        packed = mtcnn.pnet_levels(mtcnn_model.net, img)
        assert len(packed) == len(sizes)
        for (reg, prob), size in zip(packed, sizes):
            level = F.interpolate(img[None].float(), size=size, mode="area")
            ref_reg, ref_prob = reference_mtcnn.pnet((level - 127.5) * 0.0078125)
            assert reg.shape == ref_reg.shape and prob.shape == ref_prob.shape
            assert (reg - ref_reg).abs().max() < 1e-5
            assert (prob - ref_prob).abs().max() < 1e-5


@pytest.mark.parametrize("sizes", [[(361, 308), (256, 219), (182, 155), (129, 110), (92, 78), (65, 56), (46, 40),
                                    (33, 28), (23, 20), (17, 14), (12, 11)], [(13, 400), (12, 284)], [(99, 99)]])
def test_pack_levels_even_disjoint_inside(sizes) -> None:
    offsets, (ch, cw) = mtcnn.pack_levels(sizes)
    taken = torch.zeros(ch, cw, dtype=torch.int32)
    for (h, w), (oy, ox) in zip(sizes, offsets):
        assert oy % 2 == 0 and ox % 2 == 0 and oy + h <= ch and ox + w <= cw
        taken[oy:oy + h, ox:ox + w] += 1
    assert taken.max() == 1
    assert ch * cw <= 1.4 * sum(h * w for h, w in sizes) or len(sizes) < 3


@pytest.mark.parametrize("name", FACES + NO_FACES)
def test_detections_match_reference(mtcnn_model, reference_mtcnn, shared_images: Path, name: str) -> None:
    pil = Image.open(shared_images / name).convert("RGB")
    ref_boxes, ref_probs, ref_points = reference_mtcnn.detect(pil, landmarks=True)
    result = mtcnn_model.predict(str(shared_images / name))
    assert isinstance(result, DetectionResult)
    if ref_boxes is None:
        assert name in NO_FACES and result.detections == []
        return
    assert name in FACES
    dets = result.detections
    assert len(dets) == len(ref_boxes) >= 1
    ours = torch.tensor([d.box for d in dets])
    iou = box_iou(ours, torch.as_tensor(np.asarray(ref_boxes, dtype=np.float32)))
    match = iou.argmax(1)
    assert sorted(match.tolist()) == list(range(len(dets)))
    for i, d in enumerate(dets):
        j = int(match[i])
        assert iou[i, j] >= 0.95
        assert abs(d.score - float(ref_probs[j])) < 1e-3
        assert d.label == "face" and len(d.landmarks) == 5
        assert np.abs(np.asarray(d.landmarks) - np.asarray(ref_points[j])).max() < 1.0


def test_cascade_runs_in_any_grad_mode(mtcnn_model, shared_images: Path) -> None:
    """The cached pyramid is no inference tensor and the cascade runs without recording, inside inference_mode
    or not (a first call inside it used to break a later call with grad enabled)."""
    img = image_tensor(shared_images / "astronaut.png")
    with torch.inference_mode():
        inside = mtcnn.detect_one(mtcnn_model.net, img)
    outside = mtcnn.detect_one(mtcnn_model.net, img)
    assert not outside.boxes.requires_grad and len(outside.boxes) == len(inside.boxes) == 1
    assert torch.equal(outside.boxes, inside.boxes) and torch.equal(outside.landmarks, inside.landmarks)


def test_result_json_and_drawing(mtcnn_model, shared_images: Path) -> None:
    result = mtcnn_model.predict(str(shared_images / "astronaut.png"))
    js = result.to_json()
    assert js["detections"][0]["label"] == "face"
    assert mtcnn_model.label_set().keypoints == ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
    assert len(js["detections"][0]["landmarks"]) == 5 and all(len(p) == 2 for p in js["detections"][0]["landmarks"])
    drawn = np.asarray(result.draw(str(shared_images / "astronaut.png")))
    x, y = (round(v) for v in result.detections[0].landmarks[2])  # the nose point is painted
    assert not np.array_equal(drawn[y, x], np.asarray(Image.open(shared_images / "astronaut.png").convert("RGB"))[y, x])


def test_batch_of_images_and_tiny_image(mtcnn_model, shared_images: Path) -> None:
    paths = [str(shared_images / n) for n in ("astronaut.png", "chelsea.png")]
    both = mtcnn_model.predict(paths)
    assert [len(r.detections) for r in both] == [1, 0]
    tiny = np.zeros((10, 30, 3), dtype=np.uint8)  # smaller than a 20 px face: no pyramid level at all
    assert mtcnn_model.predict(tiny).detections == []


def test_boxes_are_clipped_to_the_image(mtcnn_model, shared_images: Path) -> None:
    """A face cut by the image's edge: the reference's box reaches past it, ours stops at the edge."""
    arr = np.asarray(Image.open(shared_images / "astronaut.png").convert("RGB"))
    full = mtcnn_model.predict(arr).detections[0].box
    top = int(full[1] + (full[3] - full[1]) * 0.3)  # cut off the top third of the face
    cut = np.ascontiguousarray(arr[top:])
    dets = mtcnn_model.predict(cut).detections
    assert dets, "the cut face is still found"
    h, w = cut.shape[:2]
    for d in dets:
        x1, y1, x2, y2 = d.box
        assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
    assert min(d.box[1] for d in dets) == 0  # the regression wanted more above the edge


def test_converter_checks_the_folder(mtcnn_weights_dir: Path, tmp_path: Path) -> None:
    for name in MTCNN_FILES[:2]:
        (tmp_path / name).write_bytes((mtcnn_weights_dir / name).read_bytes())
    with pytest.raises(ConversionError, match="missing onet.pt"):
        read_mtcnn_folder(tmp_path)
    with pytest.raises(ConversionError, match="give the folder"):
        read_mtcnn_folder(tmp_path / "pnet.pt")
    state = read_mtcnn_folder(mtcnn_weights_dir)
    assert {k.split(".")[0] for k in state} == {"pnet", "rnet", "onet"}
    target = {k: v.shape for k, v in state.items()}
    target["onet.extra"] = torch.Size([1])
    with pytest.raises(ConversionError, match=r"1 missing \[onet.extra\]"):
        read_mtcnn_folder(mtcnn_weights_dir, None, target)


@pytest.mark.parametrize("shape,k,s", [((2, 10, 22, 22), 3, 2), ((3, 5, 9, 9), 3, 2), ((1, 4, 7, 10), 2, 2),
                                       ((2, 3, 12, 13), 2, 2), ((1, 2, 3, 3), 3, 2)])
def test_max_pool_ceil_equals_aten(shape, k, s) -> None:
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    assert torch.equal(mtcnn.max_pool_ceil(x, k, s), F.max_pool2d(x, k, s, ceil_mode=True))
