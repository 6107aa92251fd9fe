"""`zoo generate` (grid + inputs JSON that regenerates it, walks as strip + GIF, one-line errors that write
nothing) and `zoo predict` for CycleGAN (translated image written, at the photo's own size with --size 0)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from clikit import zoo_in_process
from PIL import Image


def test_generate_grid_inputs_and_regeneration(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "gen"
    code, stdout, err = zoo_in_process(capsys, "generate", "dcgan-64", "--random-init", "--n", "4", "--seed", "3", "--out", str(out),
                                               "--json")
    assert code == 0, err
    doc = json.loads(stdout)
    assert [Path(p).name for p in doc["files"]] == ["dcgan-64-seed3-n4.png", "dcgan-64-seed3-n4.json"]
    saved = json.loads((out / "dcgan-64-seed3-n4.json").read_text())
    assert saved["seed"] == 3 and len(saved["latents"]) == 4 and len(saved["latents"][0]) == 100
    # random init is seeded per build, so regenerate with the same weights: save them once
    import zoo

    weights = tmp_path / "g.safetensors"
    from zoo.weights import save_safetensors

    torch.manual_seed(0)
    save_safetensors(zoo.build("dcgan-64").net.state_dict(), weights)
    code, _, err = zoo_in_process(capsys, "generate", "dcgan-64", "--weights", str(weights), "--n", "4", "--seed", "3", "--out",
                                          str(out), "--force")  # over the random-init run's grid
    assert code == 0, err
    first = np.asarray(Image.open(out / "dcgan-64-seed3-n4.png"))
    code, _, err = zoo_in_process(capsys, "generate", "dcgan-64", "--weights", str(weights), "--inputs",
                                          str(out / "dcgan-64-seed3-n4.json"), "--out", str(out))
    assert code == 0, err
    assert np.array_equal(first, np.asarray(Image.open(out / "dcgan-64-seed3-n4-again.png")))


def test_generate_walk_writes_strip_and_gif(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, _, err = zoo_in_process(capsys, "generate", "dcgan-64", "--random-init", "--interpolate", "5", "--out", str(tmp_path))
    assert code == 0, err
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["dcgan-64-seed0-walk5.gif", "dcgan-64-seed0-walk5.json", "dcgan-64-seed0-walk5.png",
                     "dcgan-64-seed0-walk5.strip.png"]
    with Image.open(tmp_path / "dcgan-64-seed0-walk5.gif") as gif:
        assert gif.n_frames == 8


@pytest.mark.parametrize("argv, needle", [
    (["generate", "biggan-deep-128", "--class", "golden retreiver"], "did you mean 'golden retriever'"),
    (["generate", "biggan-deep-128", "--class", "1000"], "out of range"),
    (["generate", "dcgan-64", "--class", "cat"], "unconditional"),
    (["generate", "dcgan-64", "--truncation", "1.5"], "(0, 1]"),
    (["generate", "dcgan-64", "--truncation", "0"], "(0, 1]"),
    (["generate", "dcgan-64", "--n", "0"], "at least 1"),
    (["generate", "dcgan-64", "--interpolate", "1"], "at least 2"),
    (["generate", "dcgan-64", "--interpolate", "4", "--n", "3"], "--n and --interpolate do not go together"),
    (["generate", "cyclegan-horse2zebra"], "translates images"),
    (["generate", "dcgan-64"], "zoo import dcgan-64"),  # no weights: says how to bring them
])
def test_generate_bad_input_one_line_nothing_written(tmp_path: Path, capsys: pytest.CaptureFixture, argv: list[str],
                                                     needle: str) -> None:
    out = tmp_path / "out"
    extra = ["--random-init"] if "cyclegan" in argv[1] else []
    code, _, err = zoo_in_process(capsys, *argv, *extra, "--out", str(out))
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], err
    assert not out.exists()


def test_predict_cyclegan_writes_translated_image(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import zoo
    from zoo.weights import save_safetensors

    torch.manual_seed(0)
    weights = tmp_path / "h2z.safetensors"
    save_safetensors(zoo.build("cyclegan-horse2zebra").net.state_dict(), weights)
    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (42, 62, 3), dtype=np.uint8)).save(photo)
    out = tmp_path / "out"
    code, _, err = zoo_in_process(capsys, "predict", "cyclegan-horse2zebra", str(photo), "--weights", str(weights), "--size", "0",
                                          "--out", str(out))
    assert code == 0, err
    written = list(out.iterdir())
    assert len(written) == 1 and written[0].name.startswith("photo.cyclegan-horse2zebra")
    assert Image.open(written[0]).size == (64, 40)  # 62 -> 64, 42 -> 40: multiples of 4
    code, _, err = zoo_in_process(capsys, "predict", "cyclegan-horse2zebra", str(photo), "--weights", str(weights), "--conf", "0.3")
    assert code != 0 and "--conf" in err
