"""Issue 25: `zoo train` refuses to overwrite an earlier run, skips junk images with a warning, checks its
counts, keeps a resumable checkpoint on Ctrl-C, and says what a resumed run did."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clikit import random_photos, zoo_in_process


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """16 tiny images and one '.jpg' that is not an image."""
    root = random_photos(tmp_path_factory.mktemp("train-data"), 16, stem="img")
    (root / "junk.jpg").write_bytes(b"this is not a jpeg")
    return root


@pytest.fixture(autouse=True)
def _one_thread(one_thread: None) -> None:
    """Every test here at one torch thread (clikit.one_thread)."""


def train(capsys: pytest.CaptureFixture[str], data: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    return zoo_in_process(capsys, "train", "dcgan-64", "--data", str(data), "--out", str(out), "--batch-size", "8",
                          "--workers", "0", "--sample-every", "0", "--json", *extra)


def test_an_earlier_run_is_not_overwritten(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    code, doc, err = train(capsys, data, out, "--epochs", "1")
    assert code == 0, err
    assert f"warning: {data / 'junk.jpg'}: not a readable image" in err and "skipped" in err
    first = (out / "generator.safetensors").read_bytes()
    code, _, err = train(capsys, data, out, "--epochs", "1")
    assert code == 2 and f"--out {out} holds an earlier run: --resume {out} to continue it, --force" in err
    assert (out / "generator.safetensors").read_bytes() == first
    code, _, err = train(capsys, data, out, "--epochs", "1", "--resume", str(out))
    assert code == 2 and "has 1 epochs already; give --epochs above 1" in err
    code, doc, err = train(capsys, data, out, "--epochs", "2", "--resume", str(out))
    summary = json.loads(doc)
    assert code == 0 and summary["steps"] == 4 and summary["steps_run"] == 2 and summary["epochs_run"] == 1
    assert summary["from_epoch"] == 1 and summary["images_per_s"] > 0
    code, _, err = train(capsys, data, out, "--epochs", "1", "--force")
    assert code == 0, err


@pytest.mark.parametrize("flag", ["--workers", "--sample-every", "--epochs"])
def test_counts_below_range_are_refused(flag: str, data: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = train(capsys, data, tmp_path / "run", flag, "-1")
    assert code == 2 and f"{flag} must be at least" in err and not (tmp_path / "run").exists()


def test_ctrl_c_in_the_first_epoch_keeps_a_resumable_checkpoint(data: Path, tmp_path: Path) -> None:
    from zoo_gan.train import TrainConfig, load_checkpoint, train

    def stop_at_step_2(row) -> None:
        if row.step == 2:
            raise KeyboardInterrupt

    out = tmp_path / "run"
    cfg = TrainConfig(data=data, out=out, epochs=1, batch_size=4, workers=0, sample_every=0)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, log=stop_at_step_2, progress=False)
    ckpt = load_checkpoint(out)
    assert ckpt.step == 2 and ckpt.epoch == 0  # the unfinished epoch is done again on --resume
    steps: list[int] = []
    summary = train(TrainConfig(data=data, out=out, epochs=1, batch_size=4, workers=0, sample_every=0, resume=out),
                    log=lambda row: steps.append(row.step), progress=False)
    assert steps == [3, 4, 5, 6] and summary["steps"] == 6
