"""Issue 25: bad values and clashing names are refused up front in one line (exit 2), before any work."""

from __future__ import annotations

import importlib.metadata as md
from pathlib import Path

import numpy as np
import pytest
from clikit import zoo_in_process


def test_plugin_new_refuses_an_installed_plugins_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = zoo_in_process(capsys, "plugin", "new", "zoo-classic", "--dir", str(tmp_path))
    assert code == 2 and "entry point 'classic' is already the plugin of cvzoo" in err
    code, _, err = zoo_in_process(capsys, "plugin", "new", "zoo-classic", "--family", "myclassic",
                                  "--dir", str(tmp_path))
    assert code == 2 and "module zoo_classic is already" in err
    assert list(tmp_path.iterdir()) == []
    code, _, err = zoo_in_process(capsys, "plugin", "new", "zoo-123abc", "--dir", str(tmp_path))
    assert code == 2 and "must start with a lowercase letter" in err and "give --family" in err
    code, _, err = zoo_in_process(capsys, "plugin", "new", "zoo-mine", "--dir", str(tmp_path / "no" / "x"))
    assert code == 2 and "does not exist" in err and not (tmp_path / "no").exists()


def test_plugin_manager_reports_two_distributions_claiming_one_entry_point(tmp_path: Path) -> None:
    from zoo.plugin_manager import build_registry

    info = tmp_path / "zoo_classic-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: zoo-classic\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[zoo]\nclassic = zoo_classic\nclassic2 = zoo_classic\n")
    mine = list(md.PathDistribution(info).entry_points)
    builtin = [ep for ep in md.entry_points(group="zoo") if ep.name == "classic"]
    _, infos, _ = build_registry(builtin + mine)
    report = {i.name: i for i in infos}
    assert [i.name for i in infos] == ["classic", "classic2"]
    errors = " ".join(report["classic"].errors)
    assert "entry point 'classic' is claimed by two distributions" in errors and "zoo-classic" in errors
    assert "cvzoo" in errors and not report["classic"].ok
    assert "module zoo_classic is claimed by two distributions" in " ".join(report["classic2"].errors)


@pytest.mark.parametrize("args, needle", [
    (["track", "yolov3-tiny", "frames", "--threshold", "5"], "--threshold is an IoU in [0, 1], got 5.0"),
    (["track", "resnet18", "frames"], "resnet18 is a classification model: zoo track follows"),
    (["track", "dcgan-64", "frames"], "dcgan-64 is a generation model: zoo track follows"),
    (["bench", "resnet18", "--max-regression", "-1"], "--max-regression must be >= 0"),
    (["bench", "resnet18", "--plot", "out.txt"], "--plot out.txt: cannot draw a .txt file"),
    (["bench", "resnet18", "--json", "/nonexistent-zoo-dir/x.json"], "its folder /nonexistent-zoo-dir does not exist"),
    # click's own checks (unknown flags, paths that must exist, bad choices): one line too, not its usage block
    (["bench", "resnet18", "--parity-image", "/nonexistent-zoo.jpg"], "'/nonexistent-zoo.jpg' does not exist "
                                                                     "(see 'zoo bench --help')"),
    (["predict", "resnet18", "x.jpg", "--no-such-flag"], "No such option '--no-such-flag' (see 'zoo predict --help')"),
])
def test_out_of_range_values_are_refused_before_any_work(args: list[str], needle: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = zoo_in_process(capsys, *args)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, err
    assert list(tmp_path.iterdir()) == []


def test_tracker_and_openpose_ranges_in_the_api() -> None:
    import zoo
    from zoo.errors import InputError
    from zoo.track.tracker import TrackerConfig

    with pytest.raises(InputError, match=r"threshold must be in \[0, 1\]"):
        TrackerConfig(threshold=5)
    model = zoo.build("openpose-body")
    for key, value in (("peak_threshold", 5.0), ("paf_threshold", -1.0), ("min_parts", 0)):
        with pytest.raises(InputError, match=key):
            model.predict(np.zeros((64, 64, 3), np.uint8), **{key: value})


def test_predict_help_lists_only_what_predict_takes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = zoo_in_process(capsys, "predict", "--help")
    assert code == 0 and "--conf" in out and "--compare" in out
    assert "--truncation" not in out and "--seed" not in out  # zoo generate's options, refused by predict


def test_no_check_advice_only_where_the_flag_exists(images_dir_photo: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from zoo.tasks import parity

    # every parity check fails: an allowance below zero (export reads the tolerance table at call time)
    monkeypatch.setattr(parity, "output_tolerance", lambda precision: parity.OutputTolerance(atol=-1.0))
    common = ["resnet18", "--random-init", "--size", "32"]
    code, _, err = zoo_in_process(capsys, "export", *common, "--format", "torchscript", "--out", str(tmp_path / "m"))
    assert code != 0 and "differs from PyTorch" in err and "pass --no-check to keep it anyway" in err
    code, _, err = zoo_in_process(capsys, "predict", *common, str(images_dir_photo), "--backend", "torchscript")
    assert code != 0 and "differs from PyTorch" in err and "--no-check" not in err


@pytest.fixture
def images_dir_photo(tmp_path: Path) -> Path:
    from PIL import Image

    photo = tmp_path / "photo.png"
    Image.fromarray(np.full((40, 48, 3), 128, np.uint8)).save(photo)
    return photo


def test_class_names_match_words() -> None:
    from zoo.errors import InputError
    from zoo.tasks.generation import resolve_class

    labels = ["tench, Tinca tinca", "golden retriever", "Labrador retriever", "goldfish, Carassius auratus"]
    with pytest.raises(InputError, match="did you mean 'golden retriever'"):
        resolve_class("golden", labels, len(labels))
    with pytest.raises(InputError, match="did you mean 'golden retriever', 'Labrador retriever'"):
        resolve_class("retriever", labels, len(labels))


def test_face_drawings_fit_small_faces_and_labels_do_not_hide_each_other() -> None:
    from PIL import Image, ImageDraw

    from zoo.tasks.detection import Detection, DetectionResult
    from zoo.tasks.results import fitted_size, label_box

    assert fitted_size("face 0.99", 20, 48) == 8 and fitted_size("face 0.99", 2000, 48) == 48
    draw = ImageDraw.Draw(Image.new("RGB", (400, 300)))
    taken: list[tuple[float, float, float, float]] = []
    a = label_box(draw, (100, 100), "face 0.99", (255, 0, 0), 14, taken)
    b = label_box(draw, (104, 102), "face 0.98", (0, 255, 0), 14, taken)
    overlap = a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
    assert not overlap and taken == [a, b]
    # a 20-pixel face on a 1200-pixel photo: its five landmark dots stay inside the face box
    canvas = np.zeros((900, 1200, 3), np.uint8)
    face = Detection([500.0, 400.0, 520.0, 420.0], "face", 0, 0.99,
                     landmarks=[[505.0, 405.0], [515.0, 405.0], [510.0, 410.0], [506.0, 415.0], [514.0, 415.0]])
    drawn = np.asarray(DetectionResult(None, (900, 1200), [face]).draw(canvas))
    inner = drawn[403:418, 503:518]
    assert (inner.sum(-1) == 0).mean() > 0.5  # mostly untouched inside the box: dots, not blobs
