"""The pose models through the command line (in process): import a reference-named OpenPose checkpoint,
predict with drawn output and JSON, and a one-line error naming the key and both shapes for a bad one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from zoo.cli import main
from zoo_pose.convert import reference_shapes


def test_import_predict_and_bad_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    g = torch.Generator().manual_seed(0)
    state = {k: torch.randn(s, generator=g) * 0.01 for k, s in reference_shapes().items()}
    good = tmp_path / "body_pose_model.pth"
    torch.save(state, good)
    main(["import", "openpose-body", str(good)])
    capsys.readouterr()

    img = tmp_path / "photo.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 96, 3), dtype=np.uint8)).save(img)
    main(["predict", "openpose-body", str(img), "--out", str(tmp_path / "out"), "--json", "--size", "96"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["weights"] == "openpose-body.coco" and doc["results"][0]["image_size"] == [64, 96]
    assert isinstance(doc["results"][0]["people"], list) and doc["results"][0]["keypoint_names"][0] == "nose"
    assert (tmp_path / "out" / "photo.openpose-body.jpg").is_file()

    bad = dict(state)
    bad["conv4_3_CPM.weight"] = torch.zeros(256, 512, 3, 1)
    torch.save(bad, tmp_path / "bad.pth")
    with pytest.raises(SystemExit) as e:
        main(["import", "openpose-body", str(tmp_path / "bad.pth")])
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert e.value.code != 0 and len(err) == 1 and "Traceback" not in err[0]
    assert "conv4_3_CPM.weight" in err[0] and "(256, 512, 3, 1)" in err[0] and "(256, 512, 3, 3)" in err[0]
