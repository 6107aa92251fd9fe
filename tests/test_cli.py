"""CLI behaviour a user sees: exit codes, one-line errors, JSON output. In this process (`run`), but for the
first test, which runs the real entry point in a fresh interpreter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torchvision
from clikit import one_line_error, zoo, zoo_here


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Any:
    return lambda *args: zoo_here(capsys, *args)


def test_unknown_model_exits_2_with_did_you_mean() -> None:
    res = zoo("info", "resnet5")
    assert res.returncode == 2
    line = one_line_error(res)
    assert "unknown model 'resnet5'" in line and "did you mean" in line and "'resnet50'" in line


def test_predict_unknown_model_too(run: Any) -> None:
    res = run("predict", "yolov9000", "x.jpg")
    assert res.returncode == 2 and "unknown model" in one_line_error(res)


def test_corrupt_image_one_line_error(run: Any, tmp_path: Path) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    res = run("predict", "resnet18", str(bad), "--random-init")
    assert res.returncode == 2
    line = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(line) == 1 and line[0].startswith(f"error: {bad}: not a readable image (")
    assert "Traceback" not in res.stderr


def test_missing_weights_one_line_error(run: Any) -> None:
    from zoo.data import SAMPLE_IMAGE

    res = run("predict", "resnet18", str(SAMPLE_IMAGE))  # the test's ZOO_HOME is empty and offline
    assert res.returncode == 1
    line = one_line_error(res)
    assert line.startswith("error: resnet18.tv_in1k: weights are not cached and the zoo is offline")
    assert "'zoo import resnet18.tv_in1k" in line


def test_list_json_and_filters(run: Any) -> None:
    res = run("list", "vgg1*", "--exclude", "*_bn", "--json")
    assert res.returncode == 0
    assert [m["name"] for m in json.loads(res.stdout)] == ["vgg11", "vgg13", "vgg16", "vgg19"]
    res = run("list", "--task", "classification", "--family", "classic", "--json")
    assert len(json.loads(res.stdout)) == 20


def test_info_json_has_spec_fields(run: Any) -> None:
    data = json.loads(run("info", "resnet50", "--json").stdout)
    assert data["name"] == "resnet50" and data["metrics"]["ImageNet-1k-val"]["top1"] == pytest.approx(76.13)
    assert data["weights"][0]["repo_id"] == "timm/resnet50.tv_in1k" and data["cached"] == []


def test_import_predict_verify_cache_roundtrip(run: Any, tmp_path: Path, images) -> None:
    pth = tmp_path / "resnet18-f37072fd.pth"
    import torch

    torch.save(torchvision.models.resnet18().state_dict(), pth)
    res = run("import", "resnet18", str(pth), "--json")
    assert res.returncode == 0, res.stderr
    imported = json.loads(res.stdout)
    assert imported["pinned_by"] == "local" and imported["format"].startswith("pytorch")
    res = run("predict", "resnet18", str(images[0]), "--json", "--topk", "3", "--out", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["weights"] == "resnet18.tv_in1k" and len(doc["results"][0]["topk"]) == 3
    assert list((tmp_path / "out").iterdir())
    res = run("verify", "--json")
    assert res.returncode == 0 and json.loads(res.stdout)[0]["status"] == "ok"
    cache = json.loads(run("cache", "ls", "--json").stdout)
    assert [(e["model"], e["tag"]) for e in cache] == [("resnet18", "tv_in1k")]
    assert run("cache", "rm", "resnet18").returncode == 0
    assert json.loads(run("cache", "ls", "--json").stdout) == []


def test_import_refuses_wrong_architecture(run: Any, tmp_path: Path) -> None:
    import torch

    pth = tmp_path / "alexnet.pth"
    torch.save(torchvision.models.alexnet().state_dict(), pth)
    res = run("import", "resnet18", str(pth))
    assert res.returncode == 1
    line = one_line_error(res)
    assert "could not be read for resnet18" in line and "missing" in line


def test_plugins_json_lists_builtin_families(run: Any) -> None:
    res = run("plugins", "--json")
    assert "classic" in {p["name"] for p in json.loads(res.stdout)}


def test_corrupt_weights_files_are_one_line_errors(run: Any, tmp_path: Path) -> None:
    bad_st = tmp_path / "bad.safetensors"
    bad_st.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    bad_pth = tmp_path / "bad.pth"
    bad_pth.write_bytes(b"\x80\x02garbage, not a pickle")  # a pickle's first bytes, then nonsense
    res = run("import", "resnet18", str(bad_st))
    assert res.returncode == 1 and "not a readable safetensors file" in one_line_error(res)
    res = run("import", "resnet18", str(bad_pth))
    line = one_line_error(res)
    assert res.returncode == 1 and "not a PyTorch checkpoint of plain tensors" in line
    assert "weights_only` set to `False`" not in line  # never advise unpickling untrusted code
