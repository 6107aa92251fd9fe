"""DCGAN: tutorial-layout checkpoints convert and give the tutorial network's outputs; generation is
deterministic for a seed and a result's saved inputs regenerate the same pixels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from clikit import trained_like_bn
from torch import nn

import zoo
from zoo.errors import ConversionError, InputError, WeightsMismatchError
from zoo.tasks.generation import GenerationRequest, GenerationResult

nz, ngf, ndf, nc = 100, 64, 64, 3


# The PyTorch DCGAN tutorial's networks, written out here as the reference (ngpu dropped).
class TutorialGenerator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, input):
        return self.main(input)


class TutorialDiscriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid())

    def forward(self, input):
        return self.main(input)


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)


def _trained_like(net: nn.Module) -> nn.Module:
    """Tutorial init plus non-trivial BatchNorm statistics (as after training)."""
    torch.manual_seed(0)
    net.apply(weights_init)
    return trained_like_bn(net).eval()


@pytest.fixture(scope="module")
def tutorial() -> tuple[nn.Module, nn.Module]:
    return _trained_like(TutorialGenerator()), _trained_like(TutorialDiscriminator())


@pytest.mark.parametrize("layout", ["bare", "tutorial-dict", "dataparallel"])
def test_checkpoint_converts_and_matches_tutorial(tmp_path: Path, tutorial, layout: str) -> None:
    g, d = tutorial
    if layout == "bare":
        obj = g.state_dict()
    elif layout == "tutorial-dict":
        obj = {"epoch": 5, "netG_state_dict": g.state_dict(), "netD_state_dict": d.state_dict(),
               "optimizerG_state_dict": {"state": {}, "param_groups": []}, "loss": torch.tensor(0.5)}
    else:
        obj = {f"module.{k}": v for k, v in g.state_dict().items()}
    ckpt = tmp_path / "netG.pth"
    torch.save(obj, ckpt)
    model = zoo.load("dcgan-64", weights=ckpt)
    z = torch.randn(4, nz, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        ours = model(z)
        ref = g(z.view(4, nz, 1, 1))
    assert ours.shape == (4, 3, 64, 64)
    assert torch.equal(ours, ref)
    if layout != "tutorial-dict":
        return
    # `zoo import` puts the file in the cache as safetensors; it loads back to the same outputs
    from zoo.cli import main

    main(["import", "dcgan-64", str(ckpt)])
    cached = zoo.load("dcgan-64")
    with torch.inference_mode():
        assert torch.equal(cached(z), ref)


def test_discriminator_matches_tutorial(tutorial) -> None:
    from zoo_gan.dcgan import DCGANDiscriminator

    _, d = tutorial
    ours = DCGANDiscriminator().eval()
    ours.load_state_dict(d.state_dict())
    x = torch.rand(3, 3, 64, 64) * 2 - 1
    with torch.inference_mode():
        assert torch.equal(ours(x), d(x).view(-1))
        assert torch.allclose(torch.sigmoid(ours.logits(x)), d(x).view(-1), atol=1e-6)


def test_bad_checkpoints_fail_in_one_line(tmp_path: Path, tutorial) -> None:
    g, d = tutorial
    only_d = tmp_path / "netD.pth"
    torch.save(d.state_dict(), only_d)
    with pytest.raises(ConversionError, match="discriminator"):
        zoo.load("dcgan-64", weights=only_d)
    small = tmp_path / "small.pth"  # ngf=32: same keys, other shapes
    torch.save(nn.Sequential(nn.ConvTranspose2d(nz, 256, 4, 1, 0, bias=False)).state_dict(), small)
    with pytest.raises((ConversionError, WeightsMismatchError)):
        zoo.load("dcgan-64", weights=small)


def test_generation_is_deterministic_and_regenerates_from_json(tmp_path: Path) -> None:
    model = zoo.load("dcgan-64", pretrained=False)
    a = model.predict(GenerationRequest(n=4, seed=3))
    b = model.predict(n=4, seed=3)
    c = model.predict(n=4, seed=4)
    assert isinstance(a, GenerationResult) and len(a) == 4
    assert a.images[0].shape == (64, 64, 3) and a.images[0].dtype == np.uint8
    assert all(np.array_equal(x, y) for x, y in zip(a.images, b.images))
    assert not np.array_equal(a.images[0], c.images[0])
    # a larger batch from the same seed starts with the same images (rows depend on (seed, index) only)
    d = model.predict(n=6, seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(a.images, d.images[:4]))
    # the JSON inputs alone regenerate the same pixels
    saved = tmp_path / "inputs.json"
    saved.write_text(json.dumps(a.to_json()))
    again = model.predict(json.loads(saved.read_text()))
    assert all(np.array_equal(x, y) for x, y in zip(a.images, again.images))
    assert again.seed == 3
    grid = a.grid(cols=2)
    assert grid.size == (2 * 64 + 3 * 2, 2 * 64 + 3 * 2)


def test_truncation_and_bad_requests() -> None:
    model = zoo.load("dcgan-64", pretrained=False)
    t = model.predict(n=2, seed=0, truncation=0.5)
    assert np.abs(t.latents).max() <= 1.0 + 1e-6  # truncated normal in [-2, 2] times 0.5
    for bad in ({"n": 0}, {"truncation": 1.5}, {"truncation": 0}, {"classes": 3}):
        with pytest.raises(InputError):
            model.predict(**bad)
    with pytest.raises(InputError, match="100 values"):
        model.predict(np.zeros((2, 7), dtype=np.float32))


def test_bench_times_the_generator() -> None:
    report = zoo.benchmark("dcgan-64", batch_sizes=[2], device="cpu", warmup=1, iters=2)
    rows = {r.kind: r for r in report.rows}
    assert rows["forward"].ok and rows["forward"].throughput > 0
    assert rows["end-to-end"].ok, rows["end-to-end"].error
