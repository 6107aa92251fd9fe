"""Latent walks and the files `zoo generate` writes: slerp between the seed's latents, lerp between class
vectors, grid + inputs JSON that regenerates the same pixels, strip and animated GIF."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import zoo
from zoo.errors import InputError
from zoo.tasks.generation import (
    GenerationRequest,
    gaussian_latents,
    image_grid,
    interpolation_request,
    lerp,
    slerp,
    write_generation,
)


def test_slerp_and_lerp_endpoints_and_norms() -> None:
    a, b = gaussian_latents(2, 100, seed=0)
    t = torch.linspace(0, 1, 5, dtype=torch.float64)
    path = slerp(a, b, t)
    assert torch.equal(path[0], a) and torch.equal(path[-1], b)
    mid_lerp = lerp(a, b, t)[2]
    assert path[2].norm() > mid_lerp.norm()  # the arc keeps the norm, the chord shrinks it
    assert abs(float(path[2].norm()) - float((a.norm() + b.norm()) / 2)) < 0.05 * float(a.norm())
    assert torch.allclose(slerp(a, a, t), a.expand(5, -1))  # parallel endpoints: no division by zero


def test_dcgan_walk_files_regenerate(tmp_path: Path) -> None:
    model = zoo.load("dcgan-64", pretrained=False)
    req = interpolation_request(model, steps=6, seed=2)
    res = model.predict(req)
    first_two = model.predict(n=2, seed=2)
    assert np.array_equal(res.latents[0], first_two.latents[0]) and np.array_equal(res.latents[-1], first_two.latents[1])
    assert np.array_equal(res.images[0], first_two.images[0]) and np.array_equal(res.images[-1], first_two.images[1])
    paths = write_generation(res, tmp_path, "walk", interpolation=True)
    assert [p.name for p in paths] == ["walk.png", "walk.json", "walk.strip.png", "walk.gif"]
    from PIL import Image

    with Image.open(tmp_path / "walk.gif") as gif:
        assert gif.n_frames == 6 + 4  # forward, then back without repeating the ends
    strip = np.asarray(Image.open(tmp_path / "walk.strip.png"))
    assert strip.shape == (64 + 4, 6 * 64 + 7 * 2, 3)
    again = model.predict(json.loads((tmp_path / "walk.json").read_text()))
    assert all(np.array_equal(x, y) for x, y in zip(res.images, again.images))
    assert np.array_equal(np.asarray(Image.open(tmp_path / "walk.png").convert("RGB")), image_grid(res.images))
    with pytest.raises(InputError):
        interpolation_request(model, steps=1)


@pytest.fixture(scope="module")
def small_biggan():
    spec = zoo.get_spec("biggan-deep-128")
    spec = dataclasses.replace(spec, options={**spec.options, "channel_width": 16})
    torch.manual_seed(0)
    model = zoo.build(spec)
    with torch.no_grad():
        model.net.embeddings.weight.normal_(0, 0.5)
    return model


def test_biggan_class_walk_mixes_class_vectors(small_biggan) -> None:
    model = small_biggan
    req = interpolation_request(model, steps=3, seed=0, classes=["goldfish", "golden retriever"], truncation=0.5)
    assert req.class_weights == [{1: 1.0}, {1: 0.5, 207: 0.5}, {207: 1.0}]
    res = model.predict(req)
    assert res.class_ids[0] == 1 and res.class_ids[-1] == 207 and res.truncation == 0.5
    onehot = torch.eye(1000)
    mix = 0.5 * onehot[1] + 0.5 * onehot[207]
    with torch.inference_mode():
        expected = model(torch.from_numpy(res.latents[1:2]), mix[None], 0.5)
    expected_u8 = ((expected.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)[0].permute(1, 2, 0).numpy()
    assert np.array_equal(res.images[1], expected_u8)
    again = model.predict(GenerationRequest.from_json(json.loads(json.dumps(res.to_json()))))
    assert all(np.array_equal(x, y) for x, y in zip(res.images, again.images))
    one = interpolation_request(model, steps=2, seed=0, classes="goldfish")
    assert one.class_weights == [{1: 1.0}, {1: 1.0}]
