"""`zoo import mtcnn DIR` and `zoo predict mtcnn` through the real command line (subprocesses, like a user)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from clikit import one_line_error
from clikit import zoo as run_zoo


def zoo(*args: str) -> subprocess.CompletedProcess[str]:
    return run_zoo(*args, env={"OMP_NUM_THREADS": "1"})  # small inputs: one thread, no OpenMP spinning


def test_import_folder_then_predict_landmarks(mtcnn_weights_dir: Path, shared_images: Path, tmp_path: Path) -> None:
    partial = tmp_path / "partial"
    partial.mkdir()
    for name in ("pnet.pt", "rnet.pt"):
        shutil.copy(mtcnn_weights_dir / name, partial / name)
    res = zoo("import", "mtcnn", str(partial))
    assert res.returncode != 0 and "onet.pt is missing" in one_line_error(res)

    res = zoo("import", "mtcnn", str(mtcnn_weights_dir))
    assert res.returncode == 0 and "matches the registry's sha256" in res.stdout + res.stderr, res.stderr
    res = zoo("predict", "mtcnn", str(shared_images / "astronaut.png"), str(shared_images / "chelsea.png"), "--json",
              "--out", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["weights"] == "mtcnn.facenet-pytorch"
    face, cat = doc["results"]
    assert cat["detections"] == [] and len(face["detections"]) == 1
    det = face["detections"][0]
    assert det["label"] == "face" and det["score"] > 0.99 and len(det["landmarks"]) == 5
    (lx, ly), (rx, ry) = det["landmarks"][:2]  # eyes inside the box, left eye left of the right one
    x1, y1, x2, y2 = det["box"]
    assert x1 < lx < rx < x2 and y1 < ly < y2 and y1 < ry < y2
    assert (tmp_path / "out" / "astronaut.mtcnn.jpg").is_file()


def test_predict_refuses_options_mtcnn_lacks(mtcnn_model, shared_images: Path) -> None:
    import pytest

    from zoo.errors import InputError

    with pytest.raises(InputError, match="does not take option 'size'"):
        mtcnn_model.predict(str(shared_images / "astronaut.png"), size=320)
    assert mtcnn_model.predict(str(shared_images / "astronaut.png"), conf=1.1).detections == []
