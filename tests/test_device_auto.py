"""`--device auto` everywhere: every command that takes --device defaults to auto, and the commands that used to
default to cpu (or crashed on auto: stylize, dream, train) run with it on tiny inputs. On a CPU-only machine auto
is the CPU; on a GPU machine the same tests run on CUDA."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
import torch
from clikit import random_photos, zoo_in_process


def _commands(group: click.Group, ctx: click.Context, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if isinstance(cmd, click.Group):
            found += _commands(cmd, ctx, f"{prefix}{name} ")
        elif cmd is not None:
            found.append((prefix + name, cmd))
    return found


def test_every_device_option_defaults_to_auto() -> None:
    from zoo.cli import cli

    ctx = click.Context(cli)
    with_device = {name: p.default for name, cmd in _commands(cli, ctx) for p in cmd.params if p.name == "device"}
    assert {"predict", "eval", "bench", "track", "generate", "train", "stylize", "dream"} <= set(with_device)
    assert {n: d for n, d in with_device.items() if d != "auto"} == {}


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """Two small RGB photos (random texture, so style and dream have gradients to follow)."""
    return random_photos(tmp_path / "photos", 2, (40, 56), stem="p")


@pytest.fixture(autouse=True)
def _one_thread(one_thread: None) -> None:
    """Every test here at one torch thread (clikit.one_thread)."""


def test_stylize_and_dream_run_with_device_auto(photos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from torchvision.models.vgg import make_layers

    from zoo_art import style

    torch.manual_seed(0)
    narrow = make_layers([8, 8, "M", 8, 8, "M", 8, 8, 8, 8, "M", 8, 8, 8, 8, "M", 8, 8, 8, 8, "M"])  # VGG-19's layout
    monkeypatch.setattr(style, "vgg19_features", lambda device, warn=None: (narrow.to(device), "random init"))
    a, b = photos / "p0.png", photos / "p1.png"
    code, _, err = zoo_in_process(capsys, "stylize", str(a), str(b), "--size", "24", "--steps", "2", "--optimizer",
                                  "adam", "--device", "auto", "--out", str(tmp_path / "s.png"))
    assert code == 0 and (tmp_path / "s.png").is_file(), err
    code, _, err = zoo_in_process(capsys, "dream", str(a), "--model", "resnet18", "--layer", "layer1", "--octaves", "1",
                                  "--steps", "1", "--size", "32", "--device", "auto", "--out", str(tmp_path / "d.png"))
    assert code == 0 and (tmp_path / "d.png").is_file(), err


def test_train_generate_and_track_run_with_device_auto(photos: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    code, _, err = zoo_in_process(capsys, "train", "dcgan-64", "--data", str(photos), "--out", str(run), "--epochs", "1",
                                  "--batch-size", "2", "--workers", "0", "--sample-every", "0", "--device", "auto",
                                  "--json")
    assert code == 0 and (run / "generator.safetensors").is_file(), err
    code, _, err = zoo_in_process(capsys, "generate", "dcgan-64", "--weights", str(run / "generator.safetensors"),
                                  "--n", "2", "--device", "auto", "--out", str(tmp_path / "gen"))
    assert code == 0 and any((tmp_path / "gen").glob("*.png")), err
    code, _, err = zoo_in_process(capsys, "track", "yolov3-tiny", str(photos), "--random-init", "--device", "auto",
                                  "--out", str(tmp_path / "tracked"))
    assert code == 0, err


def test_an_unusable_device_is_one_line_before_any_work(photos: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    a = str(photos / "p0.png")
    for args in (["stylize", a, a, "--steps", "1", "--size", "16"], ["dream", a, "--model", "resnet18"],
                 ["train", "dcgan-64", "--data", str(photos), "--out", str(tmp_path / "r")],
                 ["generate", "dcgan-64", "--random-init", "--out", str(tmp_path / "g")]):
        code, _, err = zoo_in_process(capsys, *args, "--device", "tpu9")
        lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("warning:")]
        assert code == 2 and len(lines) == 1 and "unknown device 'tpu9'" in lines[0], (args, err)
    assert not (tmp_path / "r").exists() and not (tmp_path / "g").exists()
