"""The device-side input pipeline (zoo.ops.batch, zoo.data) against the per-image CPU path it replaces.

References: the per-image functions of zoo.ops.resize with the previous ZooModel.normalize arithmetic, and the
previous per-image YOLO postprocess (class-wise NMS per image, boxes mapped back per image). The tensor path
must give the same metas, pixels within 1/255, the same detections (0.5 px) and the same top-1; on the CPU it
runs the same kernels, so most comparisons here are in fact exact. CUDA-only tests (device decode, pinned
copies, the pipeline on the GPU) skip without a GPU.
"""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import zoo
from zoo.data.decode import host_to_device, load_images, to_device
from zoo.data.loader import image_batches, video_batches
from zoo.errors import InputError
from zoo.images import load_image, read_video
from zoo.ops.batch import normalize_, resize_batch
from zoo.ops.boxes import batched_classwise_nms, classwise_nms, cxcywh_to_xyxy
from zoo.ops.resize import boxes_to_original, letterbox, resize_crop, stretch

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (benchmarks/gpu_check.sh runs it)")
DEVICES = ["cpu", pytest.param("cuda", marks=CUDA)]
LEVEL = 1.0  # 1/255 of the [0, 255] range the resize works in

# (height, width): odd, portrait and landscape, smaller and larger than the 96x128 target, tiny and thin
SIZES = [(37, 91), (500, 333), (96, 128), (37, 91), (417, 10), (5, 7), (300, 200), (1, 1), (64, 301)]


def random_images(sizes: list[tuple[int, int]], seed: int = 0) -> list[np.ndarray]:
    gen = np.random.default_rng(seed)
    return [gen.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in sizes]


def reference_resize(image: np.ndarray, mode: str, size: tuple[int, int], resize_size: int) -> tuple[torch.Tensor, object]:
    if mode == "letterbox":
        return letterbox(image, size, fill=127.5)
    if mode == "stretch":
        return stretch(image, size)
    return resize_crop(image, size, resize_size)


@pytest.mark.parametrize("stack", [None, True, False])
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", ["letterbox", "stretch", "resize-crop"])
def test_batched_resize_equals_per_image_path(mode: str, device: str, stack: bool | None) -> None:
    """Per image (the CPU default) and stacked by size (the CUDA default; forced here on either device)."""
    images = random_images(SIZES)
    tensors = [torch.from_numpy(a).permute(2, 0, 1).to(device) for a in images]
    batch, metas = resize_batch(tensors, mode, (96, 128), fill=127.5, resize_size=110, stack=stack)
    assert batch.shape == (len(images), 3, 96, 128) and batch.device.type == device
    for k, image in enumerate(images):
        ref, meta = reference_resize(image, mode, (96, 128), 110)
        assert metas[k] == meta, (mode, image.shape)
        diff = (ref[0] - batch[k].cpu()).abs().max().item()
        assert diff <= LEVEL, (mode, image.shape, diff)
        if device == "cpu":
            assert diff == 0.0  # the same kernels on the same device: not just close


@pytest.mark.parametrize("device", DEVICES)
def test_mode_none_keeps_sizes_and_normalize_matches_the_old_arithmetic(device: str) -> None:
    images = random_images([(20, 30), (20, 30)], seed=1)
    batch, metas = resize_batch([torch.from_numpy(a).permute(2, 0, 1).to(device) for a in images], "none", (0, 0))
    assert batch.shape == (2, 3, 20, 30) and [m.orig_size for m in metas] == [(20, 30)] * 2
    mixed, _ = resize_batch([torch.from_numpy(a).permute(2, 0, 1) for a in random_images([(20, 30), (9, 4)])],
                            "none", (0, 0))
    assert isinstance(mixed, list) and [t.shape[-2:] for t in mixed] == [(20, 30), (9, 4)]
    mean, std, scale = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), 1 / 255
    old = batch.cpu() * scale
    old = (old - torch.tensor(mean).view(1, -1, 1, 1)) / torch.tensor(std).view(1, -1, 1, 1)
    new = normalize_(batch.clone(), scale, mean, std).cpu()
    assert (new - old).abs().max().item() <= (0 if device == "cpu" else 1e-5)


def reference_preprocess(model: zoo.ZooModel, images: list[np.ndarray]) -> torch.Tensor:
    """The previous ZooModel.preprocess: per-image zoo.ops.resize functions, torch.cat, normalize."""
    inp = model.spec.input
    hw = model.input_size
    ratio = (inp.resize_size / inp.size[0]) if inp.resize_size else 1 / 0.875
    outs = []
    for arr in images:
        if inp.resize == "letterbox":
            t, _ = letterbox(arr, hw, fill=0.5 / inp.scale)
        elif inp.resize == "stretch":
            t, _ = stretch(arr, hw)
        else:
            t, _ = resize_crop(arr, hw, int(round(hw[0] * ratio)))
        outs.append(t)
    batch = torch.cat(outs) * inp.scale
    if inp.mean is not None and inp.std is not None:
        batch = (batch - torch.tensor(inp.mean).view(1, -1, 1, 1)) / torch.tensor(inp.std).view(1, -1, 1, 1)
    return batch


@functools.cache
def tiny(data: Path) -> zoo.ZooModel:
    return zoo.load("yolov3-tiny", weights=data / "yolov3-tiny.weights", device="cpu")


def reference_postprocess(raw: torch.Tensor, metas: list, conf: float, iou: float, max_det: int = 300,
                          pre_nms_topk: int | None = 30_000) -> list[torch.Tensor]:
    """The previous YoloDetector.postprocess, image by image: [K, 6] (box, score, class) per image."""
    out = []
    for rows, meta in zip(raw, metas):
        rows = rows[rows[:, 4] > conf].float()
        scores = rows[:, 5:]
        idx, cls = (scores > conf).nonzero(as_tuple=True)
        boxes = cxcywh_to_xyxy(rows[idx, :4])
        s = scores[idx, cls]
        keep = classwise_nms(boxes, s, cls, iou, max_det, pre_nms_topk)
        out.append(torch.cat([boxes_to_original(boxes[keep].cpu(), meta), s[keep, None].cpu(),
                              cls[keep, None].float().cpu()], 1))
    return out


def as_rows(results: list) -> list[torch.Tensor]:
    return [torch.tensor([[*d.box, d.score, d.model_class_id] for d in r.detections]).reshape(-1, 6) for r in results]


def assert_same_detections(got: list[torch.Tensor], want: list[torch.Tensor], px: float = 0.5,
                           score_tol: float = 1e-5) -> None:
    """Same detections per image (compared best first, as make_result orders them): classes equal, boxes
    within `px`, scores within `score_tol`."""
    assert len(got) == len(want)
    for g, w in zip(got, want):
        g = g[g[:, 4].argsort(descending=True, stable=True)]
        w = w[w[:, 4].argsort(descending=True, stable=True)]
        assert g.shape == w.shape, (g.shape, w.shape)
        assert torch.equal(g[:, 5], w[:, 5])
        assert (g[:, :4] - w[:, :4]).abs().max().item() <= px if len(g) else True
        assert (g[:, 4] - w[:, 4]).abs().max().item() <= score_tol if len(g) else True


def test_yolov3_tiny_real_weights_same_boxes_through_both_paths(shared_data: Path, images: list[Path]) -> None:
    model = tiny(shared_data)
    arrays = [load_image(p) for p in images]
    with torch.inference_mode():
        ref_batch = reference_preprocess(model, arrays)
        batch, metas = model.preprocess([str(p) for p in images])
        assert torch.equal(batch, ref_batch)
        raw = model(ref_batch)
        want = reference_postprocess(raw, metas, 0.05, 0.45)
        got = as_rows(model.postprocess(raw, metas, conf=0.05))
    assert sum(len(w) for w in want) >= 10  # real detections on the shared photos, not an empty comparison
    assert_same_detections(got, want)
    assert_same_detections(as_rows(model.predict([str(p) for p in images], conf=0.05)), want)


@pytest.mark.parametrize("topk", [None, 40])
def test_batched_nms_equals_per_image_nms_on_crowded_outputs(topk: int | None) -> None:
    """Synthetic network rows: hundreds of overlapping candidates per image and class, images of different
    sizes (different metas); pre_nms_topk 40 makes the per-image cut bite, max_det 50 the per-image cap."""
    model = zoo.build("yolov3-tiny", size=128)
    gen = torch.Generator().manual_seed(0)
    n, rows, classes = 3, 600, 80
    centre = torch.rand(n, rows, 2, generator=gen) * 128
    size = torch.rand(n, rows, 2, generator=gen) * 50 + 4
    obj = torch.rand(n, rows, 1, generator=gen)
    cls = obj * torch.rand(n, rows, classes, generator=gen) ** 4
    raw = torch.cat([centre, size, obj, cls], dim=2)
    _, metas = model.preprocess(random_images([(128, 128), (70, 200), (300, 90)], seed=3))
    want = reference_postprocess(raw, metas, 0.3, 0.45, max_det=50, pre_nms_topk=topk)
    got = as_rows(model.postprocess(raw, metas, conf=0.3, max_det=50, pre_nms_topk=topk))
    assert all(len(w) > 30 for w in want)
    assert_same_detections(got, want, px=1e-3)


def test_batched_classwise_nms_keeps_images_apart_and_caps_each() -> None:
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 10], [50, 50, 60, 60]], dtype=torch.float32)
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6])
    cls = torch.tensor([0, 0, 0, 0])
    img = torch.tensor([0, 0, 1, 1])
    keep = batched_classwise_nms(boxes, scores, cls, img, 0.5)
    assert keep.tolist() == [0, 2, 3]  # box 2 overlaps box 0 but lives in another image
    assert batched_classwise_nms(boxes, scores, cls, img, 0.5, max_det=1).tolist() == [0, 2]
    assert batched_classwise_nms(boxes[:0], scores[:0], cls[:0], img[:0], 0.5).numel() == 0


def test_resnet_top1_identical_through_both_paths(shared_data: Path, images: list[Path]) -> None:
    torch.manual_seed(0)
    model = zoo.build("resnet18").eval()
    arrays = [load_image(p) for p in images]
    with torch.inference_mode():
        ref = model(reference_preprocess(model, arrays))
        batch, metas = model.preprocess([str(p) for p in images])
        new = model(batch)
    assert [m.input_size for m in metas] == [(224, 224)] * len(images)
    assert torch.equal(ref.argmax(1), new.argmax(1))
    assert torch.allclose(ref, new, atol=1e-5)
    top1 = [r.topk[0].class_id for r in model.predict([str(p) for p in images])]
    assert top1 == ref.argmax(1).tolist()


def test_inputs_of_every_kind_become_device_images(tmp_path: Path) -> None:
    arr = random_images([(9, 13)])[0]
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), arr[:, :, ::-1])
    chw = torch.from_numpy(arr).permute(2, 0, 1)
    out = load_images([str(path), arr, chw, chw.float() / 255, np.ascontiguousarray(arr[:, :, 0])], torch.device("cpu"))
    for t in out[:4]:
        assert t.dtype == torch.uint8 and torch.equal(t, chw)
    assert torch.equal(out[4], torch.from_numpy(arr[:, :, 0]).expand(3, 9, 13))
    with pytest.raises(InputError, match="no such file"):
        load_images([str(tmp_path / "missing.jpg")], torch.device("cpu"))


def write_folder(folder: Path, n: int = 5) -> list[Path]:
    folder.mkdir()
    paths = []
    for i, (h, w) in enumerate([(120, 90), (64, 64), (90, 160), (33, 47), (120, 90)][:n]):
        p = folder / f"{i}.{'jpg' if i % 2 else 'png'}"
        cv2.imwrite(str(p), random_images([(h, w)], seed=i)[0])
        paths.append(p)
    return paths


@pytest.mark.parametrize("workers", [0, 2])
def test_dataloader_batches_equal_the_list_path(tmp_path: Path, shared_data: Path, images: list[Path],
                                                workers: int) -> None:
    paths = write_folder(tmp_path / "imgs")
    bad = tmp_path / "imgs" / "9.png"
    bad.write_bytes(b"not a png")
    model = tiny(shared_data)
    files = [*images[:2], *paths[:2], bad, *paths[2:]]
    seen, errors, got = [], [], []
    for batch in image_batches(files, 3, "cpu", workers=workers):
        for item in batch:
            if item.error is not None:
                errors.append(item.error)
            else:
                assert torch.equal(item.image, torch.from_numpy(load_image(files[item.index])).permute(2, 0, 1))
        seen.extend(item.index for item in batch)
        good = [item for item in batch if item.image is not None]
        results = model.predict([item.image for item in good], conf=0.1)
        assert [r.source for r in results] == [str(files[item.index]) for item in good]  # tagged by the loader
        got.extend(as_rows(results))
    assert seen == list(range(len(files)))
    assert len(errors) == 1 and "9.png: not a readable image" in errors[0]
    want = as_rows(model.predict([str(f) for f in files if f != bad], conf=0.1))
    assert_same_detections(got, want, px=0.0)


def test_models_with_their_own_preprocess_get_checked_paths(tmp_path: Path) -> None:
    """A family whose preprocess may need the file itself gets the path (checked by the workers) unless it says
    `device_images = True`; the shared preprocess and YOLO's get decoded device images."""
    from zoo.data.loader import takes_device_images
    from zoo.model import ZooModel

    class OwnPreprocess(ZooModel):
        def preprocess(self, images: object) -> tuple:  # type: ignore[override]
            return images, []

    class SaysSo(OwnPreprocess):
        device_images = True

    spec = zoo.get_spec("resnet18")
    assert takes_device_images(zoo.build("yolov3-tiny", size=64)) and takes_device_images(ZooModel(spec, torch.nn.Identity()))
    assert not takes_device_images(OwnPreprocess(spec, torch.nn.Identity()))
    assert takes_device_images(SaysSo(spec, torch.nn.Identity()))
    paths = write_folder(tmp_path / "imgs", n=3)
    (tmp_path / "imgs" / "bad.png").write_bytes(b"nope")
    items = [i for b in image_batches([*paths, tmp_path / "imgs" / "bad.png"], 2, "cpu", workers=1, decode=False)
             for i in b]
    assert [i.image for i in items[:3]] == [str(p) for p in paths] and items[3].image is None
    assert "bad.png: not a readable image" in items[3].error
    unchecked = [i for b in image_batches([*paths, tmp_path / "imgs" / "bad.png"], 2, "cpu", workers=0, decode=False,
                                          check=False) for i in b]  # eval: the model's preprocess reads (and refuses)
    assert [i.image for i in unchecked] == [str(p) for p in [*paths, tmp_path / "imgs" / "bad.png"]]


def test_predict_cli_on_a_folder_reports_the_bad_file_and_predicts_the_rest(tmp_path: Path, shared_data: Path,
                                                                           monkeypatch: pytest.MonkeyPatch,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from clikit import zoo_in_process

    paths = write_folder(tmp_path / "imgs", n=4)
    (tmp_path / "imgs" / "bad.jpg").write_bytes(b"\xff\xd8 not really")
    monkeypatch.setenv("ZOO_LOADER_WORKERS", "2")
    code, stdout, err = zoo_in_process(capsys, "predict", "yolov3-tiny", str(tmp_path / "imgs"), "--weights",
                                       str(shared_data / "yolov3-tiny.weights"), "--json", "--batch-size", "3",
                                       "--conf", "0.01")
    assert code == 2, err
    doc = json.loads(stdout)
    assert [Path(r["source"]).name for r in doc["results"]] == [p.name for p in paths]
    assert len(doc["errors"]) == 1 and "bad.jpg" in doc["errors"][0]
    model = tiny(shared_data)
    want = model.predict([str(p) for p in paths], conf=0.01)
    assert [r["detections"] for r in doc["results"]] == [r.to_json()["detections"] for r in want]


@pytest.mark.parametrize("workers", [0, 1])
def test_video_batches_are_the_frames_read_video_gives(tmp_path: Path, workers: int) -> None:
    path = tmp_path / "v.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (48, 32))
    for i in range(7):
        writer.write(random_images([(32, 48)], seed=i)[0])
    writer.release()
    _, frames = read_video(path, 2)
    want = list(frames)
    fps, batches = video_batches(path, 3, "cpu", every=2, workers=workers)
    got = [item for batch in batches for item in batch]
    assert fps == 10.0 and [g.index for g in got] == [i for i, _ in want] == [0, 2, 4, 6]
    for g, (_, frame) in zip(got, want):
        assert torch.equal(g.image, torch.from_numpy(frame).permute(2, 0, 1))
    with pytest.raises(InputError, match="not a readable video"):
        (tmp_path / "bad.mp4").write_bytes(b"nope")
        video_batches(tmp_path / "bad.mp4", 3, "cpu")


class EchoModel:
    """Stands in for a model: each result is the image it was given (what the predict loop hands over)."""

    device = torch.device("cpu")
    device_images = True  # given the loader's decoded images

    def predict(self, images: list[torch.Tensor]) -> list[object]:
        import types

        return [types.SimpleNamespace(source=None, image=im) for im in images]


def test_track_frames_through_the_predict_loop_equal_the_decoded_frames(tmp_path: Path) -> None:
    """zoo track reads frames through the library's predict loop (zoo.data.predict, the loader behind it): the
    same names and pixels as reading each file or frame directly, for a folder and a video, every 2nd frame."""
    from zoo.data.predict import predict_files
    from zoo.track.run import track_inputs

    paths = write_folder(tmp_path / "imgs")
    video = tmp_path / "v.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (48, 32))
    for i in range(5):
        writer.write(random_images([(32, 48)], seed=i)[0])
    writer.release()
    wants = {tmp_path / "imgs": [(str(p), load_image(p)) for p in paths[::2]],
             video: [(f"{video}#frame={i}", f) for i, f in read_video(video, 2)[1]]}
    for source, want in wants.items():
        got = [(p.source, p.result.image) for p in predict_files(EchoModel(), track_inputs(source, 2), 1, 2)]
        assert [n for n, _ in got] == [n for n, _ in want] and len(want) == 3
        for (_, g), (_, w) in zip(got, want):
            assert torch.equal(g, torch.from_numpy(w).permute(2, 0, 1))


# ---------------------------------------------------------------------------------------------- CUDA only
def jpeg_variants(folder: Path, photo: np.ndarray) -> list[Path]:
    """The photo (and odd-sized crops of it) as JPEGs of every chroma subsampling, baseline and progressive, two
    qualities, plus a gray one: what cameras, browsers and PIL write."""
    from PIL import Image

    folder.mkdir()
    paths = []
    crops = [photo, photo[:17, :33], photo[3:250, 5:401]]
    for sub in (0, 1, 2):  # 4:4:4, 4:2:2, 4:2:0
        for progressive in (False, True):
            for quality in (50, 95):
                for k, crop in enumerate(crops):
                    p = folder / f"s{sub}p{int(progressive)}q{quality}c{k}.jpg"
                    Image.fromarray(np.ascontiguousarray(crop)).save(p, "JPEG", subsampling=sub,
                                                                     progressive=progressive, quality=quality)
                    paths.append(p)
    gray = folder / "gray.jpg"
    Image.fromarray(np.ascontiguousarray(photo[:, :, 1])).save(gray, "JPEG")
    return [*paths, gray]


def test_host_jpeg_decode_is_pil_bit_for_bit(tmp_path: Path, shared_data: Path) -> None:
    """On the CPU plain JPEGs skip PIL (zoo.data.decode): the pixels must be PIL's exactly, through load_images
    and through the loader's workers; a truncated JPEG is still one InputError, an EXIF-rotated one still
    comes out upright (load_image's path)."""
    from PIL import Image

    photo = load_image(shared_data / "images" / "coffee.png")
    paths = [*jpeg_variants(tmp_path / "jpegs", photo), shared_data / "images" / "grace_hopper.jpg"]
    out = load_images([str(p) for p in paths], torch.device("cpu"))
    loaded = [item for batch in image_batches(paths, 7, "cpu", workers=2) for item in batch]
    for p, t, item in zip(paths, out, loaded):
        pil = torch.from_numpy(load_image(p)).permute(2, 0, 1)
        assert torch.equal(t, pil), p.name
        assert item.error is None and torch.equal(item.image, pil), p.name
    truncated = tmp_path / "truncated.jpg"
    data = paths[-1].read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated.jpg: not a readable image"):
        load_images([str(truncated)], torch.device("cpu"))
    rotated = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display"
    Image.fromarray(np.ascontiguousarray(photo[:40, :60])).save(rotated, "JPEG", exif=exif)
    assert tuple(load_images([str(rotated)], torch.device("cpu"))[0].shape) == (3, 60, 40)


@CUDA
def test_pinned_non_blocking_copies_arrive_intact() -> None:
    arr = random_images([(300, 200)])[0]
    t = host_to_device(arr, torch.device("cuda"))
    pinned = torch.from_numpy(arr).pin_memory()
    u = to_device(pinned, torch.device("cuda"))
    torch.cuda.synchronize()
    assert t.is_cuda and t.shape == (3, 300, 200) and torch.equal(t.cpu(), torch.from_numpy(arr).permute(2, 0, 1))
    assert u.is_cuda and torch.equal(u.cpu(), pinned)


@CUDA
def test_jpegs_decode_on_the_device_close_to_the_host_decode(tmp_path: Path, shared_data: Path,
                                                              images: list[Path]) -> None:
    """nvJPEG against PIL's libjpeg-turbo: the same image up to IDCT and chroma-upsampling rounding (mean
    absolute difference under 2 levels, torchvision's own bound in test_decode_jpegs_cuda) on the real photo
    and a smooth synthetic one; noise images (worst case for chroma upsampling) only have to decode."""
    smooth = tmp_path / "smooth.jpg"
    y, x = np.mgrid[0:123, 0:157]
    cv2.imwrite(str(smooth), np.stack([x * 255 // 157, y * 255 // 123, (x + y) * 255 // 280], -1).astype(np.uint8))
    jpegs = [p for p in images if p.suffix == ".jpg"] + [smooth]
    out = load_images([str(p) for p in jpegs], torch.device("cuda"))
    for p, t in zip(jpegs, out):
        host = torch.from_numpy(load_image(p)).permute(2, 0, 1)
        assert t.is_cuda and t.shape == host.shape
        diff = (t.cpu().float() - host.float()).abs()
        assert diff.mean().item() < 2.0, (p, diff.mean().item())
    noise = write_folder(tmp_path / "imgs")
    items = [item for batch in image_batches([*jpegs, *noise], 2, "cuda", workers=2) for item in batch]
    assert [item.index for item in items] == list(range(len(jpegs) + len(noise)))
    assert all(item.error is None and item.image.is_cuda and item.image.dtype == torch.uint8 for item in items)
    for item, path in zip(items, [*jpegs, *noise]):
        assert tuple(item.image.shape[1:]) == load_image(path).shape[:2]


@CUDA
def test_yolo_on_cuda_gives_the_cpu_boxes(shared_data: Path, images: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """With host decoding (bit-equal inputs) the CUDA pipeline's boxes are the CPU's within 0.5 px; with nvJPEG
    decoding the same objects are found (IoU >= 0.9, score within 0.02, the OpenCV parity rule)."""
    cpu = tiny(shared_data)
    want = as_rows(cpu.predict([str(p) for p in images], conf=0.25))
    gpu = zoo.load("yolov3-tiny", weights=shared_data / "yolov3-tiny.weights", device="cuda")
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)  # TF32 would move scores past rounding
    monkeypatch.setenv("ZOO_GPU_DECODE", "0")
    # another device's float rounding in the forward: scores move by ~1e-6, not by 1e-3
    assert_same_detections(as_rows(gpu.predict([str(p) for p in images], conf=0.25)), want, px=0.5, score_tol=1e-3)
    monkeypatch.setenv("ZOO_GPU_DECODE", "1")
    from torchvision.ops import box_iou

    for g, w in zip(as_rows(gpu.predict([str(p) for p in images], conf=0.25)), want):
        strong = w[w[:, 4] > 0.3]
        if len(strong):
            assert len(g), "detections lost"
            ious = box_iou(strong[:, :4], g[:, :4])
            same_class = strong[:, 5:6] == g[:, 5][None]
            assert ((ious >= 0.9) & same_class).any(1).all()
