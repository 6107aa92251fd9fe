"""Issue 16 item 5, images: every PIL mode read as what it means, EXIF orientation applied, and broken files
(0-byte, truncated, decompression bombs, frameless videos) refused alone in one line while the rest run."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from clikit import zoo
from hostile import TRIED, asymmetric_rgb, png_claiming, with_exif_orientation
from PIL import Image

from zoo.errors import InputError
from zoo.images import load_image, read_video


@pytest.mark.parametrize("orientation,expected", [
    (1, lambda a: a), (3, lambda a: np.rot90(a, 2)), (6, lambda a: np.rot90(a, -1)), (8, lambda a: np.rot90(a, 1)),
    (2, lambda a: a[:, ::-1]), (5, lambda a: np.rot90(a[:, ::-1], 1)),
])
def test_exif_orientation_is_applied(tmp_path: Path, orientation: int, expected) -> None:
    arr = asymmetric_rgb()
    TRIED["images"] += 1
    got = load_image(with_exif_orientation(tmp_path / f"o{orientation}.png", arr, orientation))
    np.testing.assert_array_equal(got, expected(arr))


def test_16bit_grayscale_is_scaled_not_clipped(tmp_path: Path) -> None:
    values = np.array([[0, 257, 32896, 65535], [128, 129, 1000, 65000]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode == "I;16"
    TRIED["images"] += 1
    got = load_image(tmp_path / "g16.png")
    want = np.round(values / 65535 * 255).astype(np.uint8)
    np.testing.assert_array_equal(got, np.repeat(want[:, :, None], 3, axis=2))
    assert got.mean() < 200  # PIL's convert("RGB") gives nearly all 255 here


def test_32bit_and_float_grayscale(tmp_path: Path) -> None:
    ints = Image.fromarray(np.array([[0, 65535], [257, 514]], dtype=np.int32), mode="I")
    np.testing.assert_array_equal(load_image(ints)[:, :, 0], [[0, 255], [1, 2]])
    floats = Image.fromarray(np.array([[0.0, 1.0], [0.5, 0.25]], dtype=np.float32), mode="F")
    np.testing.assert_array_equal(load_image(floats)[:, :, 0], [[0, 255], [128, 64]])
    wide = Image.fromarray(np.array([[0, 1 << 20]], dtype=np.int32), mode="I")
    with pytest.raises(InputError, match="outside 0..65535"):
        load_image(wide)
    TRIED["images"] += 3


@pytest.mark.parametrize("mode", ["L", "1", "LA", "RGBA", "P", "CMYK", "YCbCr"])
def test_every_mode_reads_as_rgb_like_pil(tmp_path: Path, mode: str) -> None:
    arr = asymmetric_rgb()
    im = Image.fromarray(arr).convert(mode)
    path = tmp_path / f"x.{'tif' if mode in ('CMYK', 'YCbCr') else 'png'}"
    if mode == "YCbCr":
        path = tmp_path / "x.jpg"
    im.save(path)
    TRIED["images"] += 1
    got = load_image(path)
    assert got.dtype == np.uint8 and got.shape == arr.shape
    with Image.open(path) as ref:
        want = np.asarray(ref.convert("RGBA").convert("RGB") if ref.mode in ("P", "PA") else ref.convert("RGB"))
    np.testing.assert_array_equal(got, want)
    if mode in ("RGBA", "CMYK"):
        np.testing.assert_array_equal(got, arr)  # alpha dropped, CMYK round-trips through PIL exactly


def test_palette_with_transparency_reads_without_warnings(tmp_path: Path) -> None:
    im = Image.fromarray(asymmetric_rgb()).convert("P")
    im.info["transparency"] = 3
    im.save(tmp_path / "t.png", transparency=3)
    TRIED["images"] += 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = load_image(tmp_path / "t.png")
    assert got.shape == (6, 9, 3)


def test_one_pixel_image(tmp_path: Path) -> None:
    Image.fromarray(np.array([[[10, 20, 30]]], dtype=np.uint8)).save(tmp_path / "one.png")
    TRIED["images"] += 1
    np.testing.assert_array_equal(load_image(tmp_path / "one.png"), [[[10, 20, 30]]])


def test_broken_files_are_one_input_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "empty.png").write_bytes(b"")
    Image.fromarray(asymmetric_rgb(64, 64)).save(tmp_path / "full.jpg", quality=90)
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.png").write_text("not an image")
    bomb = png_claiming(tmp_path / "bomb.png", 20000, 20000)
    png_claiming(tmp_path / "near.png", 10000, 10000)  # 1e8 > 89.5M: PIL only warns; we refuse
    cases = {"empty.png": "empty file", "cut.jpg": "not a readable image", "text.png": "not a readable image",
             "bomb.png": "decompression-bomb limit", "near.png": "decompression-bomb limit"}
    for name, words in cases.items():
        TRIED["images"] += 1
        with pytest.raises(InputError, match=words) as info:
            load_image(tmp_path / name)
        assert "\n" not in str(info.value) and name in str(info.value)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    Image.fromarray(asymmetric_rgb(11, 10)).save(tmp_path / "small.png")
    with pytest.raises(InputError, match="110 pixels|11x10|10x11"):
        load_image(tmp_path / "small.png")
    assert bomb.stat().st_size < 200


def test_downloaded_images_follow_the_rules_of_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A URL's bytes are decoded the way a file is: EXIF orientation, 16-bit scaling, the bomb limit."""
    import zoo.images

    arr = asymmetric_rgb()
    with_exif_orientation(tmp_path / "o6.png", arr, 6)
    Image.fromarray(np.array([[0, 65535]], dtype=np.uint16)).save(tmp_path / "g16.png")
    png_claiming(tmp_path / "bomb.png", 20000, 20000)
    served = {f"http://127.0.0.1/{p.name}": p.read_bytes() for p in tmp_path.iterdir()}
    monkeypatch.setattr(zoo.images, "fetch_url", lambda url: served[url])
    for name in ("o6.png", "g16.png"):
        TRIED["images"] += 1
        np.testing.assert_array_equal(load_image(f"http://127.0.0.1/{name}"), load_image(tmp_path / name))
    np.testing.assert_array_equal(load_image("http://127.0.0.1/o6.png"), np.rot90(arr, -1))
    with pytest.raises(InputError, match=r"http://127\.0\.0\.1/bomb\.png: over the decompression-bomb limit"):
        load_image("http://127.0.0.1/bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50)  # 54 pixels: within 2x PIL only warns; the zoo refuses
    with pytest.raises(InputError, match=r"/o6\.png: 9x6 pixels is over the decompression-bomb limit of 50"):
        load_image("http://127.0.0.1/o6.png")


def test_video_without_frames(tmp_path: Path) -> None:
    import cv2

    writer = cv2.VideoWriter(str(tmp_path / "none.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (32, 32))
    writer.release()
    (tmp_path / "zero.mp4").write_bytes(b"")
    (tmp_path / "junk.mp4").write_bytes(b"\0" * 4096)
    for name in ("none.mp4", "zero.mp4", "junk.mp4"):
        TRIED["videos"] += 1
        with pytest.raises(InputError, match="not a readable video"):
            read_video(tmp_path / name)


def test_predict_folder_skips_each_bad_file_alone(tmp_path: Path) -> None:
    """The issue's run: a folder with a 20000x20000 PNG stopped at it. Now every bad file is one stderr line,
    the good ones (16-bit, CMYK, EXIF-rotated, 1x1 included) are predicted, and the exit code says 'some failed'."""
    folder = tmp_path / "in"
    folder.mkdir()
    arr = asymmetric_rgb(40, 30)
    Image.fromarray(arr).save(folder / "a_good.png")
    with_exif_orientation(folder / "b_rotated.png", arr, 8)
    Image.fromarray(arr[:, :, 0].astype(np.uint16) * 257).save(folder / "c_16bit.png")
    Image.fromarray(arr).convert("CMYK").save(folder / "d_cmyk.tif")
    Image.fromarray(arr[:1, :1]).save(folder / "e_one.png")
    png_claiming(folder / "f_bomb.png", 20000, 20000)
    (folder / "g_empty.jpg").write_bytes(b"")
    (folder / "h_cut.png").write_bytes((folder / "a_good.png").read_bytes()[:60])
    (tmp_path / "nothing.mp4").write_bytes(b"\0" * 512)
    TRIED["images"] += 8
    TRIED["videos"] += 1
    res = zoo("predict", "resnet18", "--random-init", str(folder), str(tmp_path / "nothing.mp4"), "--json",
              "--size", "64", "--resize", "stretch")
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 4, res.stderr
    for bad in ("f_bomb.png", "g_empty.jpg", "h_cut.png", "nothing.mp4"):
        assert sum(bad in ln for ln in lines) == 1, (bad, lines)
    doc = json.loads(res.stdout)
    assert sorted(Path(r["source"]).name for r in doc["results"]) == [
        "a_good.png", "b_rotated.png", "c_16bit.png", "d_cmyk.tif", "e_one.png"]
    assert len(doc["errors"]) == 4
