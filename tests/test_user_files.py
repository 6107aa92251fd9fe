"""No command deletes or overwrites a file it did not write (issue 25): publish, export, and every command that
takes --out, --json, --plot or --dir, run over a folder that already holds a user's file."""

from __future__ import annotations

from pathlib import Path

import pytest
from clikit import random_photos, zoo_in_process

import zoo
from zoo.weights import save_safetensors


@pytest.fixture
def cached_resnet18(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "r18.safetensors"
    save_safetensors(zoo.build("resnet18").net.state_dict(), path)
    assert zoo_in_process(capsys, "import", "resnet18", str(path))[0] == 0
    path.unlink()


def user_folder(root: Path) -> Path:
    """A folder holding a user's note and sub-folder."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "notes.txt").write_text("mine\n")
    (root / "sub").mkdir(exist_ok=True)
    (root / "sub" / "keep.txt").write_text("mine too\n")
    return root


def untouched(root: Path) -> bool:
    return (root / "notes.txt").read_text() == "mine\n" and (root / "sub" / "keep.txt").read_text() == "mine too\n"


@pytest.mark.parametrize("dry_run", [True, False])
def test_publish_refuses_a_folder_holding_other_files(cached_resnet18: None, tmp_path: Path, dry_run: bool,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = user_folder(tmp_path / "mine")
    args = ["publish", "resnet18", "--repo-id", "me/r18", "--out", str(out)] + (["--dry-run"] if dry_run else [])
    code, _, err = zoo_in_process(capsys, *args)
    assert code == 2 and "notes.txt" in err and "new or empty folder" in err
    assert untouched(out) and sorted(p.name for p in out.iterdir()) == ["notes.txt", "sub"]


def test_publish_rewrites_only_its_own_earlier_folder(cached_resnet18: None, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "pub"
    for _ in range(2):  # the second run finds the first run's folder and rewrites it
        code, row, err = zoo_in_process(capsys, "publish", "resnet18", "--repo-id", "me/r18", "--out", str(out),
                                        "--dry-run")
        assert code == 0, err
    assert "SHA256SUMS" in err and "registry-row.yaml" in err
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "SHA256SUMS", "model.safetensors",
                                                     "registry-row.yaml"]
    sums = (out / "SHA256SUMS").read_text()
    assert "registry-row.yaml" not in sums and "SHA256SUMS" not in sums
    # another model's earlier folder is not this one's
    (out / "registry-row.yaml").write_text("name: resnet34\n")
    code, _, err = zoo_in_process(capsys, "publish", "resnet18", "--repo-id", "me/r18", "--out", str(out), "--dry-run")
    assert code == 2 and "not an earlier publish folder of resnet18" in err


def test_publish_bench_report_of_another_model_is_refused(cached_resnet18: None, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from zoo.bench.report import BenchReport, BenchRow

    report = tmp_path / "other.json"
    BenchReport(rows=[BenchRow("resnet34", p50_ms=1.0, throughput=1000.0)]).to_json(report)
    code, _, err = zoo_in_process(capsys, "publish", "resnet18", "--repo-id", "me/r18", "--out",
                                  str(tmp_path / "pub"), "--dry-run", "--bench", str(report))
    assert code == 2 and "no successful rows for resnet18" in err and "resnet34" in err


EXPORT = ["export", "resnet18", "--format", "torchscript", "--random-init", "--size", "64"]


def test_export_refuses_to_overwrite_a_file_it_did_not_write(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    mine = tmp_path / "checkpoint.pth"
    mine.write_bytes(b"my checkpoint")
    code, _, err = zoo_in_process(capsys, *EXPORT, "--out", str(mine), "--no-check")
    assert code == 2 and "exists; pass --force" in err and mine.read_bytes() == b"my checkpoint"
    folder = user_folder(tmp_path / "folder")
    (folder / "model.torchscript.pt").write_bytes(b"mine")  # a folder --out writes model.<ext> in it: that name is checked
    code, _, err = zoo_in_process(capsys, *EXPORT, "--out", str(folder), "--no-check")
    assert code == 2 and "model.torchscript.pt: exists" in err and (folder / "model.torchscript.pt").read_bytes() == b"mine"
    (folder / "model.torchscript.pt").unlink()
    code, out, err = zoo_in_process(capsys, *EXPORT, "--out", str(folder), "--no-check", "--json")
    assert code == 0, err
    assert untouched(folder)
    import json

    assert json.loads(out)["metadata"]["input_spec"]["size"] == [64, 64]  # the size exported, not the spec's 224
    code, _, err = zoo_in_process(capsys, *EXPORT, "--out", str(mine), "--no-check", "--force")
    assert code == 0, err
    assert mine.read_bytes() != b"my checkpoint"


def test_export_with_an_unreadable_image_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "photo.jpg"
    junk.write_bytes(b"not a jpeg")
    code, _, err = zoo_in_process(capsys, *EXPORT, "--out", str(tmp_path / "m.ts"), "--image", str(junk))
    assert code == 2 and "photo.jpg: not a readable image" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m.ts").exists()


def test_cache_lists_and_removes_every_byte_under_exports(zoo_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from zoo.cli.output import human_bytes

    entry = zoo_home / "exports" / "alexnet" / "onnx-fp32-0123456789abcdef"
    entry.mkdir(parents=True)
    (entry / "model.onnx").write_bytes(b"x" * 1000)
    (entry / "export.json").write_text(json.dumps({"key": {"format": "onnx", "precision": "fp32", "batch": 1}}))
    torn = zoo_home / "exports" / "alexnet" / ".tmp-export-abc"  # an export killed half-way
    torn.mkdir()
    (torn / "model.onnx").write_bytes(b"y" * 3000)
    compiled = zoo_home / "exports" / ".openvino-cache"
    compiled.mkdir()
    (compiled / "blob.cl_cache").write_bytes(b"z" * 500_000)
    on_disk = sum(f.stat().st_size for f in (zoo_home / "exports").rglob("*") if f.is_file())
    code, out, _ = zoo_in_process(capsys, "cache", "ls", "--exports", "--json")
    assert code == 0 and sum(e["size"] for e in json.loads(out)) == on_disk
    code, out, _ = zoo_in_process(capsys, "cache", "ls")
    assert code == 0 and f"({human_bytes(on_disk)} with the runtimes' caches)" in out and "KiB" in out
    code, out, _ = zoo_in_process(capsys, "cache", "rm", "--exports", "alexnet")
    assert code == 0 and str(compiled) in out
    assert list((zoo_home / "exports").iterdir()) == []


@pytest.fixture
def tiny_images(tmp_path: Path) -> Path:
    """Eight 40x48 images (training data, tracking frames)."""
    return random_photos(tmp_path / "tiny", 8)


# Every command that writes where --out, --json, --csv, --plot or --dir says (OUT: the user's folder, IMG: a
# photo, FRAMES: a folder of images). Each is run at its smallest setting; what it writes may differ, but the
# user's files must be there afterwards.
WRITERS = {
    "predict": ["predict", "resnet18", "IMG", "--random-init", "--size", "32", "--out", "OUT"],
    "track": ["track", "yolov3-tiny", "FRAMES", "--random-init", "--conf", "0.9", "--out", "OUT"],  # few boxes: random
    # weights pass hundreds of boxes per frame at the default 0.25 (half a second a frame to match and draw)
    "generate": ["generate", "dcgan-64", "--random-init", "--n", "2", "--out", "OUT"],
    "export": ["export", "resnet18", "--format", "torchscript", "--random-init", "--size", "32", "--no-check",
               "--out", "OUT"],
    "publish": ["publish", "resnet18", "--repo-id", "me/r18", "--dry-run", "--out", "OUT"],
    "bench": ["bench", "resnet18", "--random-init", "--size", "32", "--iters", "1", "--warmup", "0", "--no-e2e",
              "--no-flops", "-q", "--device", "cpu", "--json", "OUT/r.json", "--csv", "OUT/r.csv",
              "--plot", "OUT/r.png"],
    "plugin new": ["plugin", "new", "zoo-walkers", "--dir", "OUT"],
    "train": ["train", "dcgan-64", "--data", "FRAMES", "--out", "OUT", "--epochs", "1", "--batch-size", "8",
              "--workers", "0", "--force"],
    "stylize": ["stylize", "IMG", "IMG", "--size", "16", "--steps", "1", "--out", "OUT/s.png"],
    "dream": ["dream", "IMG", "--model", "resnet18", "--layer", "layer2", "--octaves", "1", "--steps", "1",
              "--size", "32", "--out", "OUT/d.png"],
}


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_every_writer_keeps_a_users_files(command: str, cached_resnet18: None, images: list[Path],
                                          tiny_images: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = user_folder(tmp_path / "mine")
    args = [a.replace("OUT", str(out)).replace("IMG", str(images[0])).replace("FRAMES", str(tiny_images))
            for a in WRITERS[command]]
    code, _, err = zoo_in_process(capsys, *args)
    assert "Traceback" not in err and code in (0, 2), err
    assert untouched(out), f"zoo {command} changed the user's files"
    if command != "publish":  # publish refuses a folder it did not write (the folder is uploaded whole)
        assert code == 0, err
        assert len(list(out.iterdir())) > 2  # it did write its own files beside the user's


# the writers whose output names are theirs to choose; publish and report own their folder (a manifest says what
# they wrote), plugin new its new folder, train its run folder (--force: a new run): tested above and in their files
REWRITERS = {name: args for name, args in WRITERS.items() if name not in ("publish", "plugin new", "train")} | {
    "eval": ["eval", "resnet18", "--imagenet", "CLASSES", "--random-init", "--no-progress", "--results", "OUT/r.json"]}


@pytest.mark.parametrize("command", sorted(REWRITERS))
def test_a_file_of_the_name_a_command_writes_is_refused_unless_forced(
        command: str, cached_resnet18: None, images: list[Path], tiny_images: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Run once, make every file it wrote the user's, run again: one line naming a file and --force (exit 2), the
    files as the user left them; with --force the run replaces them (an earlier run's files, the user's call)."""
    out = tmp_path / "mine"
    out.mkdir()
    classes = random_photos(tmp_path / "classes" / "0", 2).parent  # an ImageNet-style folder: class 0
    args = [a.replace("OUT", str(out)).replace("IMG", str(images[0])).replace("FRAMES", str(tiny_images))
            .replace("CLASSES", str(classes)) for a in REWRITERS[command]]
    code, _, err = zoo_in_process(capsys, *args)
    assert code == 0, err
    written = sorted(p for p in out.rglob("*") if p.is_file())
    assert written
    for p in written:
        p.write_bytes(b"the user's")
    code, _, err = zoo_in_process(capsys, *args)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and "exists" in lines[0] and "pass --force to overwrite it" in lines[0], err
    assert all(p.read_bytes() == b"the user's" for p in written)
    assert sorted(p for p in out.rglob("*") if p.is_file()) == written  # nothing beside them either
    code, _, err = zoo_in_process(capsys, *args, "--force")
    assert code == 0, err
    assert all(p.read_bytes() != b"the user's" for p in written)
    assert not [p for p in out.rglob(".tmp-*")]


def test_export_metadata_names_classes_as_predictions_do() -> None:
    from zoo.runtimes.exporter import _labels

    labels = _labels(zoo.build("yolov3-tiny"))
    assert labels is not None and labels[3] == "motorcycle" and "motorbike" not in labels  # Darknet's coco80 row
    assert _labels(zoo.build("resnet18"))[:2] == ["tench", "goldfish"]  # not COCO: the label set's own names
