"""The pose models through the real command line: import a reference-named OpenPose checkpoint, predict with
drawn output and JSON, and one-line errors for a bad checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from zoo_pose.convert import reference_shapes

ZOO = [sys.executable, "-m", "zoo.cli"]


def zoo(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(ZOO + list(args), capture_output=True, text=True, timeout=300,
                          env={**os.environ, "ZOO_HOME": str(home)})


def test_import_predict_and_bad_checkpoint(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(0)
    state = {k: torch.randn(s, generator=g) * 0.01 for k, s in reference_shapes().items()}
    good = tmp_path / "body_pose_model.pth"
    torch.save(state, good)
    res = zoo("import", "openpose-body", str(good), home=tmp_path / "home")
    assert res.returncode == 0, res.stderr

    img = tmp_path / "photo.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 96, 3), dtype=np.uint8)).save(img)
    res = zoo("predict", "openpose-body", str(img), "--out", str(tmp_path / "out"), "--json", "--size", "96",
              home=tmp_path / "home")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["weights"] == "openpose-body.coco" and doc["results"][0]["image_size"] == [64, 96]
    assert isinstance(doc["results"][0]["people"], list) and doc["results"][0]["keypoint_names"][0] == "nose"
    assert (tmp_path / "out" / "photo.openpose-body.jpg").is_file()

    bad = dict(state)
    bad["conv4_3_CPM.weight"] = torch.zeros(256, 512, 3, 1)
    torch.save(bad, tmp_path / "bad.pth")
    res = zoo("import", "openpose-body", str(tmp_path / "bad.pth"), home=tmp_path / "home")
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.returncode != 0 and "Traceback" not in res.stderr and len(lines) == 1, res.stderr
    assert "conv4_3_CPM.weight" in lines[0] and "(256, 512, 3, 1)" in lines[0] and "(256, 512, 3, 3)" in lines[0]
