"""Issue 25: `zoo predict --compare` goes on past an image without a face and exits with the worst code; its
--threshold is range-checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clikit import zoo_in_process

FACENET = "facenet-inception-resnet-v1"


def test_compare_finishes_the_other_images(mtcnn_weights_dir: Path, shared_images: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert zoo_in_process(capsys, "import", "mtcnn", str(mtcnn_weights_dir))[0] == 0
    photos = [str(shared_images / n) for n in ("grace_hopper.jpg", "chelsea.png", "astronaut.png", "coffee.png")]
    code, out, err = zoo_in_process(capsys, "predict", FACENET, *photos, "--random-init", "--compare", "--json",
                                    "--batch-size", "2")  # batches of 2: still all compared with the first photo
    assert code == 2  # the worst code of the items: two had no face
    assert [ln for ln in err.splitlines() if ln.startswith("error: ")] == [
        f"error: {photos[1]}: no face found", f"error: {photos[3]}: no face found"]
    results = json.loads(out)["results"]
    assert [r["source"] for r in results] == [photos[0], photos[2]]  # both faces compared, with the first
    assert all(r["compared_with"] == photos[0] for r in results) and results[0]["distance"] == 0.0
    code, out, err = zoo_in_process(capsys, "predict", FACENET, photos[1], "--random-init", "--compare")
    assert code == 2 and "no face found" in err and "Traceback" not in err


@pytest.mark.parametrize("value", ["-1", "5", "nan"])
def test_compare_threshold_out_of_range(value: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = zoo_in_process(capsys, "predict", FACENET, str(tmp_path / "x.jpg"), "--random-init", "--compare",
                                  "--threshold", value)
    assert code == 2 and "--threshold must be a number in [0, 2]" in err
