"""Issue 9, everyday use: each rough edge a new user hit, as the CLI command that showed it (in-process
`zoo.cli.main`), its exit code and its one line. Small random-init models and 32-64 px images keep it fast."""

from __future__ import annotations

import functools
import http.server
import io
import json
import os
import stat
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from clikit import zoo_in_process as run
from PIL import Image

import zoo
from zoo.errors import InputError


def one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "Traceback" not in err and len(lines) == 1, err
    return lines[0]


def image(path: Path, size: int = 32, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    Image.fromarray(arr).save(path)
    return path


@pytest.fixture(scope="module")
def resnet18_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """resnet18's zoo-layout weights (random) as a safetensors file."""
    from zoo.weights import save_safetensors

    path = tmp_path_factory.mktemp("weights") / "resnet18.safetensors"
    save_safetensors(zoo.build("resnet18").net.state_dict(), path)
    return path


# ---------------------------------------------------------------- 1. convert: DST == SRC, --force

def test_convert_refuses_its_source_and_asks_for_force(tmp_path: Path, resnet18_state: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "resnet18.safetensors"
    src.write_bytes(resnet18_state.read_bytes())
    before = src.read_bytes()
    code, _, err = run(capsys, "convert", "safetensors", str(src), str(src), "--model", "resnet18")
    assert code == 2 and "is the source file" in one_line(err) and src.read_bytes() == before
    dst = tmp_path / "out.safetensors"
    dst.write_text("keep me")
    code, _, err = run(capsys, "convert", "safetensors", str(src), str(dst), "--model", "resnet18")
    assert code == 2 and "exists; pass --force" in one_line(err) and dst.read_text() == "keep me"
    code, out, _ = run(capsys, "convert", "safetensors", str(src), str(dst), "--model", "resnet18", "--force")
    assert code == 0 and out.startswith(f"wrote {dst}")
    # 13: files the zoo writes honour the umask (mkstemp's 0600 is not what a user expects)
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(dst.stat().st_mode) == 0o666 & ~mask


# ---------------------------------------------------------------- 2. predict --out: unique names

def test_predict_out_names_keep_extension_and_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fmt = tmp_path / "fmt"
    for suffix in (".bmp", ".tiff", ".webp"):
        image(fmt / f"img{suffix}")
    out = tmp_path / "out"
    code, _, err = run(capsys, "predict", "resnet18", str(fmt), "--random-init", "--size", "32", "--out", str(out))
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["img.resnet18.bmp", "img.resnet18.tiff", "img.resnet18.webp"]
    for folder in ("a", "b"):
        image(tmp_path / folder / "grace_hopper.jpg")
    out2 = tmp_path / "out2"
    code, _, err = run(capsys, "predict", "resnet18", str(tmp_path / "a"), str(tmp_path / "b"), "--random-init",
                       "--size", "32", "--out", str(out2))
    assert code == 0, err
    wrote = sorted(str(p.relative_to(out2)) for p in out2.rglob("*") if p.is_file())
    assert wrote == ["a/grace_hopper.resnet18.jpg", "b/grace_hopper.resnet18.jpg"]
    assert len({ln for ln in err.splitlines() if ln.startswith("wrote")}) == 2


# ---------------------------------------------------------------- 4. option ranges

@pytest.mark.parametrize("args,message", [
    (["yolov3-tiny", "--conf", "1.5"], "--conf must be a number in [0, 1], got 1.5"),
    (["yolov3-tiny", "--conf", "-0.5"], "--conf must be a number in [0, 1], got -0.5"),
    (["yolov3-tiny", "--conf", "nan"], "--conf must be a number in [0, 1], got nan"),
    (["yolov3-tiny", "--iou", "2"], "--iou must be a number in [0, 1]"),
    (["resnet18", "--conf", "0.5"], "--conf: not an option of classification models"),
    (["resnet18", "--topk", "-1"], "--topk must be at least 1, got -1"),
    (["resnet18", "--size", "0"], "--size must be at least 1, got 0"),
    (["resnet18", "--every", "0"], "--every must be at least 1, got 0"),
    (["resnet18", "--batch-size", "0"], "--batch-size must be at least 1, got 0"),
])
def test_predict_option_ranges(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                               message: str) -> None:
    img = image(tmp_path / "a.png")
    code, _, err = run(capsys, "predict", args[0], str(img), "--random-init", *args[1:])
    assert code == 2 and message in one_line(err)


def test_api_and_eval_option_ranges(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    img = np.zeros((32, 32, 3), np.uint8)
    det = zoo.build("yolov3-tiny")
    for bad in (1.5, -0.5, float("nan")):
        with pytest.raises(InputError, match=r"conf must be a number in \[0, 1\]"):
            det.predict(img, conf=bad)
    with pytest.raises(InputError, match="topk must be at least 1"):
        zoo.build("resnet18").predict(img, topk=-1)
    with pytest.raises(InputError, match=r"does not take option 'conf'"):  # not silently ignored
        zoo.build("resnet18").predict(img, conf=0.5)
    with pytest.raises(InputError, match="must be at least 1"):
        zoo.images.read_video(tmp_path / "v.mp4", every=0)
    code, _, err = run(capsys, "eval", "yolov3-tiny", "--coco", str(tmp_path), "--conf", "nan", "--random-init")
    assert code == 2 and "--conf must be a number in [0, 1], got nan" in one_line(err)
    code, _, err = run(capsys, "eval", "resnet18", "--imagenet", str(tmp_path), "--conf", "0.5", "--random-init")
    assert code == 2 and "--conf: not an option of classification models" in one_line(err)
    code, _, err = run(capsys, "eval", "yolov3-tiny", "--coco", str(tmp_path), "--batch-size", "0")
    assert code == 2 and "--batch-size must be at least 1" in one_line(err)
    with pytest.raises(InputError, match=r"^conf must be a number in \[0, 1\], got 2"):  # the library's name
        zoo.evaluate("yolov3-tiny", coco=tmp_path, conf=2, pretrained=False)


# ---------------------------------------------------------------- 5. unknown or contradictory options

def test_list_filters_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "list", "--task", "detecton")
    assert code == 2 and "unknown task 'detecton'; did you mean 'detection'?" in one_line(err)
    code, _, err = run(capsys, "list", "--family", "yollo")
    assert code == 2 and "unknown family 'yollo'; did you mean 'yolo'?" in one_line(err)
    with pytest.raises(InputError, match="unknown task"):
        zoo.list_models(task="detecton")


def test_load_plugins_naming_a_missing_plugin_warns(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from zoo.plugin_manager import build_registry

    monkeypatch.setenv("ZOO_LOAD_PLUGINS", "classic,nonexistent")
    registry, infos, _ = build_registry()
    err = capsys.readouterr().err
    assert "warning: ZOO_LOAD_PLUGINS names 'nonexistent', not an installed plugin" in err and "yolo" in err
    assert [i.name for i in infos] == ["classic"] and "resnet18" in registry


def test_unknown_and_contradictory_options(tmp_path: Path, resnet18_state: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    img = image(tmp_path / "a.png")
    code, _, err = run(capsys, "predict", "resnet18", str(img), "--weights", str(resnet18_state), "--random-init")
    assert code == 2 and "--weights FILE and --random-init contradict each other" in one_line(err)
    code, _, err = run(capsys, "eval", "resnet18", "--imagenet", str(tmp_path), "--weights", str(resnet18_state),
                       "--random-init")
    assert code == 2 and "--weights FILE and --random-init contradict each other" in one_line(err)
    with pytest.raises(InputError, match="contradict"):
        zoo.load("resnet18", pretrained=False, weights=resnet18_state)
    code, _, err = run(capsys, "bench", "resnet18", "--compile-mode", "max-autotune")
    assert code == 2 and "--compile-mode needs --compile" in one_line(err)
    code, _, err = run(capsys, "predict", "yolov3-tiny", str(img), "--random-init", "--topk", "3")
    assert code == 2 and "--topk: not an option of detection models" in one_line(err)
    with pytest.raises(InputError, match="does not take option 'bogus'"):
        zoo.build("resnet18").predict(np.zeros((32, 32, 3), np.uint8), bogus=3)
    with pytest.raises(InputError, match="does not take builder option 'bogus'"):
        zoo.load("resnet18", pretrained=False, bogus=1)
    code, _, err = run(capsys, "eval", "resnet18", "--imagenet", str(tmp_path), "--random-init", "--set", "foo=bar")
    assert code == 2 and "does not take builder option 'foo'" in one_line(err)


# ---------------------------------------------------------------- 7. errors that crashed

def test_eval_annotations_without_bbox_and_empty_tensor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    root = tmp_path / "coco"
    image(root / "images" / "1.png")
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / "instances_val.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "1.png", "width": 32, "height": 32}],
        "annotations": [{"id": 7, "image_id": 1, "category_id": 1, "area": 4.0, "iscrowd": 0}],
        "categories": [{"id": 1, "name": "person"}]}))
    code, _, err = run(capsys, "eval", "yolov3-tiny", "--coco", str(root), "--random-init", "--no-progress")
    assert code == 2 and "annotation id 7 has no 'bbox'" in one_line(err)
    with pytest.raises(InputError, match="empty"):
        zoo.build("resnet18").predict(torch.zeros(3, 0, 0))


# ---------------------------------------------------------------- 8. wrong-format files

def test_wrong_format_files_say_what_they_are(tmp_path: Path, resnet18_state: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    import struct

    import torch

    darknet = tmp_path / "yolov3-tiny.weights"
    darknet.write_bytes(struct.pack("<3iQ", 0, 2, 5, 0) + np.zeros(64, np.float32).tobytes())
    code, _, err = run(capsys, "import", "resnet18", str(darknet))
    line = one_line(err)
    assert code == 1 and "Darknet weights (version 0.2.5); expected a safetensors file or a PyTorch checkpoint" in line
    pth = tmp_path / "resnet18.pth"
    torch.save({"w": torch.zeros(2)}, pth)
    code, _, err = run(capsys, "convert", "darknet", str(pth), str(tmp_path / "o.safetensors"), "--model", "yolov3-tiny")
    assert code == 1 and "a PyTorch checkpoint (torch.save zip archive); format 'darknet' expects Darknet" in one_line(err)
    text = tmp_path / "notes.pth"
    text.write_text("these are not weights\n")
    code, _, err = run(capsys, "import", "resnet18", str(text))
    assert code == 1 and f"{text}: a text file, not a weights file" in one_line(err)
    code, _, err = run(capsys, "import", "yolov3-tiny", str(resnet18_state))
    assert code == 1 and "does not fit the model: 59 missing [layers.0.conv.weight" in one_line(err)  # right kind, wrong model: the checker says


# ---------------------------------------------------------------- 11. exit codes

def test_unknown_model_is_exit_2_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["info", "resnt18"], ["download", "resnt18"], ["import", "resnt18", "x.pth"],
                 ["predict", "resnt18", "x.jpg"], ["bench", "resnt18"], ["cache", "rm", "resnt18"],
                 ["eval", "resnt18", "--imagenet", "x"]):
        code, _, err = run(capsys, *args)
        assert code == 2 and "unknown model 'resnt18'; did you mean 'resnet18'" in one_line(err), args
    code, out, _ = run(capsys, "cache", "rm", "resnet18")  # known, nothing cached: not an error
    assert code == 0 and "resnet18: nothing cached" in out


# ---------------------------------------------------------------- 12. one name and one default per option

def test_canonical_option_names(capsys: pytest.CaptureFixture[str]) -> None:
    _, bench_help, _ = run(capsys, "bench", "--help")
    assert "--size" in bench_help and "--random-init" in bench_help and "--input-size" not in bench_help
    assert "auto|random" not in bench_help
    _, predict_help, _ = run(capsys, "predict", "--help")
    assert "--device TEXT" in predict_help and "[default: auto]" in predict_help
    code, _, err = run(capsys, "bench", "resnet18", "--size", "32", "--input-size", "64")
    assert code == 2 and "--size and --input-size (its old spelling) disagree" in one_line(err)


# ---------------------------------------------------------------- 13. results a user compares

def test_detections_name_coco_classes_one_way() -> None:
    import torch

    from zoo.categories import categories
    from zoo.tasks.detection import make_result

    boxes = torch.tensor([[0.0, 0, 4, 4], [1, 1, 5, 5]])
    yolo = make_result(boxes, torch.tensor([0.9, 0.8]), torch.tensor([60, 62]), "coco80", "a", (8, 8))
    rcnn = make_result(boxes, torch.tensor([0.9, 0.8]), torch.tensor([67, 72]), "coco91", "a", (8, 8))
    assert [(d.label, d.class_id) for d in yolo.detections] == [("dining table", 67), ("tv", 72)]
    assert [(d.label, d.class_id) for d in rcnn.detections] == [("dining table", 67), ("tv", 72)]
    assert [d.model_class_id for d in yolo.detections] == [60, 62] and categories("coco80")[60] == "diningtable"
    assert yolo.to_json()["detections"][0] == {"box": [0.0, 0.0, 4.0, 4.0], "label": "dining table", "class_id": 67,
                                               "score": 0.9, "model_class_id": 60}


def test_list_counts_and_int_params(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list", "resnet18")
    assert code == 0 and out.splitlines()[0].strip() == "1 model"
    _, out, _ = run(capsys, "list", "resnet*", "--json")
    assert all(isinstance(m["num_params"], int) for m in json.loads(out))
    _, out, _ = run(capsys, "info", "resnet18", "--json")
    assert json.loads(out)["num_params"] == 11689512


# ---------------------------------------------------------------- 14. inputs people expect

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local HTTP server on 127.0.0.1 serving a folder (no outside network)."""
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def test_predict_reads_urls_and_stdin(tmp_path: Path, http_root: tuple[str, Path], monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    base, root = http_root
    image(root / "cat.png")
    url = f"{base}/cat.png"
    code, _, err = run(capsys, "predict", "resnet18", url, "--random-init", "--size", "32")
    assert code == 2 and "cannot download while the zoo is offline" in one_line(err)
    monkeypatch.delenv("ZOO_OFFLINE")
    code, out, err = run(capsys, "predict", "resnet18", url, "--random-init", "--size", "32", "--json",
                         "--out", str(tmp_path / "out"))
    assert code == 0, err
    assert json.loads(out)["results"][0]["source"] == url and (tmp_path / "out" / "cat.resnet18.png").is_file()
    code, _, err = run(capsys, "predict", "resnet18", f"{base}/missing.png", "--random-init")
    assert code == 2 and "missing.png: download failed (HTTP 404" in one_line(err)
    png = io.BytesIO()
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(png, format="PNG")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(png.getvalue())))
    code, out, err = run(capsys, "predict", "resnet18", "-", "--random-init", "--size", "32", "--json")
    assert code == 0, err
    assert json.loads(out)["results"][0]["source"] == "-"


def test_predict_recursive_folders_and_globs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image(tmp_path / "shots" / "day1" / "a.png")
    image(tmp_path / "shots" / "day2" / "a.png")
    code, _, err = run(capsys, "predict", "resnet18", str(tmp_path / "shots"), "--random-init")
    assert code == 2 and "folder holds no images (its sub-folders do: add --recursive)" in one_line(err)
    code, out, err = run(capsys, "predict", "resnet18", str(tmp_path / "shots"), "--recursive", "--random-init",
                         "--size", "32", "--json", "--out", str(tmp_path / "out"))
    assert code == 0, err
    assert len(json.loads(out)["results"]) == 2
    assert sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*.png")) == [
        "day1/a.resnet18.png", "day2/a.resnet18.png"]
    code, out, err = run(capsys, "predict", "resnet18", str(tmp_path / "shots" / "*" / "a.png"), "--random-init",
                         "--size", "32", "--json")
    assert code == 0 and len(json.loads(out)["results"]) == 2, err
    code, _, err = run(capsys, "predict", "resnet18", str(tmp_path / "*.jpg"), "--random-init")
    assert code == 2 and "*.jpg: no files match" in one_line(err)


def test_mistyped_subcommand_gets_did_you_mean(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "lst")
    assert code == 2 and "no such command 'lst'; did you mean 'list'?" in err


def test_sizes_a_network_cannot_take_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    img = image(tmp_path / "a.png")
    code, _, err = run(capsys, "predict", "alexnet", str(img), "--random-init", "--size", "32")
    assert code == 2 and "alexnet cannot take a 32x32 input (torch: " in one_line(err) and "Output size" in err


# ---------------------------------------------------------------- 3. bench: failed rows, -q, labels

BENCH_FAST = ("--iters", "1", "--warmup", "0", "--no-flops", "--no-e2e")


def test_bench_failed_rows_exit_1_and_say_which(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "bench", "yolov3-tiny", "--size", "100", *BENCH_FAST, "-q")
    assert code == 1 and out == ""
    assert "YOLO input size must be a positive multiple of 32, got 100x100" in err
    assert err.strip().splitlines()[-1] == "error: 1 of 1 benchmark rows failed"
    code, _, err = run(capsys, "bench", "resnet18", "--compile", "--compile-mode", "bogus", *BENCH_FAST)
    assert code == 2 and "unknown --compile-mode 'bogus'" in one_line(err)


def test_bench_row_of_unloadable_weights_is_not_random_init(zoo_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entry = zoo_home / "weights" / "resnet18" / "tv_in1k"
    entry.mkdir(parents=True)
    (entry / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{corrupt")
    code, out, err = run(capsys, "bench", "resnet18", "--size", "32", *BENCH_FAST, "--json", "-")
    assert code == 1 and "build failed" in err
    row = json.loads(out)["rows"][0]
    assert row["status"] == "error" and row["weights"] == "not loaded"


# ---------------------------------------------------------------- 6. --device bogus: one message everywhere

def test_bogus_device_is_one_message_everywhere(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    img = image(tmp_path / "a.png")
    message = "unknown device 'bogus' (auto, cpu, cuda, cuda:N)"
    for args in (["predict", "resnet18", str(img), "--random-init", "--device", "bogus"],
                 ["eval", "resnet18", "--imagenet", str(tmp_path), "--random-init", "--device", "bogus"],
                 ["bench", "resnet18", "--device", "bogus", *BENCH_FAST]):
        code, _, err = run(capsys, *args)
        assert code == 2 and message in one_line(err), args
    with pytest.raises(InputError, match=r"unknown device 'bogus' \(auto"):
        zoo.load("resnet18", device="bogus")  # not "model.safetensors: not a readable safetensors file"


# ---------------------------------------------------------------- 7. bench errors that crashed or came late

def test_bench_bad_baseline_outputs_and_sizes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    code, _, err = run(capsys, "bench", "resnet18", "--compare", str(empty), *BENCH_FAST)
    assert code == 2 and "not a cvzoo benchmark report (a JSON list" in one_line(err)
    (tmp_path / "taken").mkdir()
    code, _, err = run(capsys, "bench", "resnet18", "--json", str(tmp_path / "taken"), *BENCH_FAST)
    assert code == 2 and "--json" in err and "is a folder" in one_line(err)
    code, _, err = run(capsys, "bench", "resnet18", "--json", str(tmp_path / "new" / "r.json"), *BENCH_FAST)
    assert code == 2 and "its folder" in one_line(err) and not (tmp_path / "new").exists()  # no folder made
    report = tmp_path / "r.json"
    code, _, err = run(capsys, "bench", "resnet18", "--size", "32", "--json", str(report), *BENCH_FAST, "-q")
    assert code == 0 and json.loads(report.read_text())["rows"][0]["status"] == "ok", err
    code, _, err = run(capsys, "bench", "alexnet", "--size", "32", *BENCH_FAST, "-q")
    assert code == 1 and "alexnet cannot take a 32x32 input (torch: " in err


# ---------------------------------------------------------------- 9. download --force, import over verified weights

def _cache_entry(zoo_home: Path, pinned_by: str, seed: int = 0) -> dict:
    import torch

    from zoo.cache import store

    torch.manual_seed(seed)
    state = zoo.build("resnet18").net.state_dict()
    store("resnet18", "tv_in1k", state, origin="hub", original="timm/resnet18.tv_in1k/model.safetensors@x",
          original_format="safetensors", original_sha256="ab" * 32, pinned_by=pinned_by)
    return state


def test_download_force_offline_says_the_weights_are_cached(zoo_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _cache_entry(zoo_home, "registry")
    code, _, err = run(capsys, "download", "resnet18", "--force")
    line = one_line(err)
    assert code == 1 and "--force fetches the original again, but the zoo is offline" in line
    assert "the cached weights (" in line and "are kept" in line and "not cached" not in line


def test_import_over_verified_weights_needs_force(zoo_home: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    from zoo.cache import Lock
    from zoo.weights import save_safetensors

    state = _cache_entry(zoo_home, "registry")
    entry = zoo_home / "weights" / "resnet18" / "tv_in1k"
    same = tmp_path / "same.safetensors"  # the zoo's own converted weights, brought back
    save_safetensors(state, same)
    code, out, err = run(capsys, "import", "resnet18", str(same))
    assert code == 0 and "kept as is" in out and Lock.read(entry).pinned_by == "registry", err
    torch.manual_seed(1)
    other = tmp_path / "other.safetensors"
    save_safetensors(zoo.build("resnet18").net.state_dict(), other)
    code, _, err = run(capsys, "import", "resnet18", str(other))
    assert code == 2 and "pass --force to replace the verified entry" in one_line(err)
    assert Lock.read(entry).pinned_by == "registry"
    code, out, err = run(capsys, "import", "resnet18", str(other), "--force")
    assert code == 0 and Lock.read(entry).pinned_by == "local", err


def test_import_zoo_files_and_a_zoomodels_own_state_dict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    from zoo.weights import save_safetensors

    model = zoo.build("resnet18")
    own = tmp_path / "model.pth"
    torch.save(model.state_dict(), own)  # keys 'net.conv1.weight', ...
    code, out, err = run(capsys, "import", "resnet18", str(own))
    assert code == 0 and "imported" in out, err
    loaded = zoo.load("resnet18")
    assert torch.equal(loaded.net.conv1.weight, model.net.conv1.weight)
    registry_sha = zoo.get_spec("resnet18").default_weights().sha256
    converted = tmp_path / "resnet18.safetensors"
    save_safetensors(model.net.state_dict(), converted, metadata={"model": "resnet18", "original_sha256": registry_sha})
    run(capsys, "cache", "rm", "resnet18")
    code, out, err = run(capsys, "import", "resnet18", str(converted))
    assert code == 0 and "the file says the zoo converted it from the registry's original" in out, err


# ---------------------------------------------------------------- 10. a read-only or broken ZOO_HOME

def test_unwritable_zoo_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, resnet18_state: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    from zoo.ops import proposals

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("ZOO_HOME", str(blocker / "home"))  # nothing can be created below a file
    arr = np.random.default_rng(0).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    monkeypatch.setattr(proposals, "_WARNED", set())
    first = proposals.get_proposals(arr)
    again = proposals.get_proposals(arr)
    assert not first.cached and np.array_equal(first.boxes, again.boxes)
    err = capsys.readouterr().err
    assert err.count("note: proposal cache not written") == 1 and "ZOO_HOME" in err
    code, _, err = run(capsys, "import", "resnet18", str(resnet18_state))
    line = one_line(err)
    assert code == 1 and "cannot write to" in line and f"ZOO_HOME (now {blocker / 'home'})" in line


def test_cache_rm_that_cannot_remove_names_zoo_home(zoo_home: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    _cache_entry(zoo_home, "local")

    def refuse(path: object, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(shutil, "rmtree", refuse)
    code, _, err = run(capsys, "cache", "rm", "resnet18")
    line = one_line(err)
    assert code == 1 and "cannot remove" in line and f"(the cache is ZOO_HOME={zoo_home})" in line
