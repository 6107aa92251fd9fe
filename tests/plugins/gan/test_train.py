"""`zoo train dcgan-64`: a few dozen CPU steps teach D to call held-out fakes fake; checkpoints reload and
--resume continues the step count; two gloo ranks under torchrun train and write one checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import zoo
from zoo.cli import main as zoo_main

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """64 small images: a coloured disc on a gradient, in a nested folder (the loader searches recursively)."""
    from PIL import Image

    root = tmp_path_factory.mktemp("gan-data")
    (root / "sub").mkdir()
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:72, :80]
    for i in range(64):
        img = np.stack([xx / 80 * 255, yy / 72 * 255, np.full(xx.shape, 80.0)], -1)
        cy, cx, r = rng.integers(20, 52), rng.integers(20, 60), rng.integers(8, 16)
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.integers(0, 256, 3)
        Image.fromarray(img.astype(np.uint8)).save(root / ("sub" if i % 2 else ".") / f"img{i:02d}.png")
    (root / "notes.txt").write_text("not an image")
    return root


def _discriminator(state: dict[str, torch.Tensor] | None = None) -> torch.nn.Module:
    from zoo_gan.dcgan import DCGANDiscriminator, weights_init

    d = DCGANDiscriminator(sigmoid=False)
    d.apply(weights_init)
    if state is not None:
        d.load_state_dict(state)
    return d


def test_training_reduces_discriminator_loss_and_resumes(folder: Path, tmp_path: Path, one_thread: None) -> None:
    from zoo_gan.train import TrainConfig, discriminator_loss_on_fakes, load_checkpoint, train

    out = tmp_path / "run"
    torch.manual_seed(0)  # what train() starts from with seed 0: zoo.build's init, then D's
    g0 = zoo.build("dcgan-64").net
    d0 = _discriminator()
    before = discriminator_loss_on_fakes(g0, d0)
    steps: list[int] = []
    cfg = TrainConfig(data=folder, out=out, epochs=2, batch_size=8, workers=0, sample_every=0)
    summary = train(cfg, log=lambda row: steps.append(row.step), progress=False)
    assert summary["steps"] == 16 and steps == list(range(1, 17))
    ckpt = load_checkpoint(out)
    assert ckpt.step == 16 and ckpt.epoch == 2
    g1 = zoo.load("dcgan-64", weights=out / "generator.safetensors")  # the output is zoo weights
    after = discriminator_loss_on_fakes(g1.net, _discriminator(ckpt.discriminator))
    print(f"D loss on held-out fakes: {before:.4f} -> {after:.4f}")
    assert after < 0.5 * before, (before, after)
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step_0000008.png", "step_0000016.png"]
    # --resume continues the count: one more epoch is steps 17..24, from the saved optimiser state
    steps.clear()
    more = train(TrainConfig(data=folder, out=out, epochs=3, batch_size=8, workers=0, sample_every=0, resume=out),
                 log=lambda row: steps.append(row.step), progress=False)
    assert more["steps"] == 24 and steps == list(range(17, 25))
    assert load_checkpoint(out).step == 24


def test_bad_input_is_one_line_and_writes_nothing(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no images")
    out = tmp_path / "out"
    cases = [["train", "dcgan-64", "--data", str(empty), "--out", str(out)],
             ["train", "dcgan-64", "--data", str(tmp_path / "nope"), "--out", str(out)],
             ["train", "dcgan-64", "--data", str(folder), "--out", str(out), "--resume", str(tmp_path / "missing")],
             ["train", "biggan-deep-128", "--data", str(folder), "--out", str(out)]]
    for argv in cases:
        with pytest.raises(SystemExit) as e:
            zoo_main(argv)
        assert e.value.code != 0
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    assert not out.exists()


def test_torchrun_two_gloo_ranks_write_one_checkpoint(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "ZOO_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "zoo.cli", "train", "dcgan-64", "--data", str(folder), "--out", str(out),
                           "--epochs", "1", "--batch-size", "16", "--workers", "0", "--json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout)
    assert summary["world_size"] == 2 and summary["steps"] == 2  # 64 images / (2 ranks x 16)
    from zoo_gan.train import load_checkpoint

    assert load_checkpoint(out).step == 2
    assert sorted(p.name for p in out.iterdir()) == ["discriminator.safetensors", "generator.safetensors",
                                                     "optimizer.safetensors", "samples"]
    zoo.load("dcgan-64", weights=out / "generator.safetensors")


@pytest.mark.parametrize("name", ["resnet18", "biggan-deep-128", "no-such-model"])
def test_a_model_without_a_trainer_is_refused_naming_the_trainable(name: str, folder: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture) -> None:
    from clikit import zoo_in_process

    code, _, err = zoo_in_process(capsys, "train", name, "--data", str(folder), "--out", str(tmp_path / "o"))
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "trainable: dcgan-64" in lines[0] and name in lines[0], err
    assert not (tmp_path / "o").exists()


def test_train_dispatches_to_the_trainer_a_plugin_registers(folder: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    """`zoo train` is the core's: it runs whatever trainer the registry holds for the model (here a recording one)."""
    from clikit import zoo_in_process

    from zoo.plugin_manager import default_registry
    from zoo.training import TrainRequest

    seen: list[tuple[str, TrainRequest, bool]] = []

    def trainer(spec: zoo.ModelSpec, request: TrainRequest, progress: bool) -> dict:
        seen.append((spec.name, request, progress))
        return {"steps": 3, "epochs": request.epochs, "images_per_s": 1.0, "world_size": 1, "out": str(request.out)}

    registry = default_registry()
    registry.add_trainer("resnet18", trainer, "test")
    try:
        code, out, err = zoo_in_process(capsys, "train", "resnet18", "--data", str(folder), "--epochs", "2",
                                        "--out", str(tmp_path / "r"), "--json")
    finally:
        registry._trainers.pop("resnet18")
    assert code == 0, err
    assert json.loads(out)["steps"] == 3
    ((name, request, progress),) = seen
    assert name == "resnet18" and request.epochs == 2 and request.out == tmp_path / "r" and progress is False
    assert "resnet18" not in registry.trainable()
