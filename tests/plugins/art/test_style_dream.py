"""Style transfer (Gatys et al.) and DeepDream: losses against direct formulas, optimisation behaviour,
determinism, octave sizes, and one-line errors. Small images and narrow VGG-19-shaped networks keep it fast."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.models.vgg import cfgs, make_layers

import zoo
from zoo.errors import InputError
from zoo_art import dream as dd
from zoo_art import style as st

NARROW_E = [8, 8, "M", 16, 16, "M", 32, 32, 32, 32, "M", 48, 48, 48, 48, "M", 48, 48, 48, 48, "M"]  # VGG-19's layout


def narrow_vgg19(seed: int = 0) -> torch.nn.Sequential:
    torch.manual_seed(seed)
    return make_layers(NARROW_E)


def test_layer_names_follow_caffe_blobs() -> None:
    names = st.vgg_layer_names(make_layers(cfgs["E"]))  # torchvision's vgg19.features
    assert {k: names[k] for k in ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv4_2", "conv5_1", "pool5")} == \
        {"conv1_1": 1, "conv2_1": 6, "conv3_1": 11, "conv4_1": 20, "conv4_2": 22, "conv5_1": 29, "pool5": 36}
    with pytest.raises(InputError, match="did you mean 'conv4_2'"):
        st.FeatureExtractor(make_layers(cfgs["E"]), ["conv4-2"])


def test_gram_and_losses_equal_direct_formulas() -> None:
    gen = torch.Generator().manual_seed(0)
    feat = torch.randn(1, 4, 3, 5, generator=gen, dtype=torch.float64)
    f = feat[0].reshape(4, 15).numpy()
    direct = np.array([[sum(f[i, k] * f[j, k] for k in range(15)) for j in range(4)] for i in range(4)]) / (4 * 3 * 5)
    assert np.allclose(st.gram_matrix(feat)[0].numpy(), direct, rtol=1e-12, atol=1e-12)
    other = torch.randn(1, 4, 3, 5, generator=gen, dtype=torch.float64)
    assert abs(float(st.content_loss(feat, other)) - float(((f - other[0].reshape(4, 15).numpy()) ** 2).mean())) < 1e-12
    g_other = st.gram_matrix(other)[0].numpy()
    assert abs(float(st.style_loss(feat, st.gram_matrix(other))) - float(((direct - g_other) ** 2).mean())) < 1e-12
    img = torch.rand(1, 3, 6, 7, generator=gen, dtype=torch.float64)
    x = img[0].numpy()
    tv = np.abs(np.diff(x, axis=1)).mean() + np.abs(np.diff(x, axis=2)).mean()
    assert abs(float(st.total_variation(img)) - tv) < 1e-12


def test_objective_is_the_weighted_sum() -> None:
    feats = narrow_vgg19()
    ext = st.FeatureExtractor(feats, st.CONTENT_LAYERS + st.STYLE_LAYERS)
    gen = torch.Generator().manual_seed(1)
    c, s, x = (torch.rand(1, 3, 32, 32, generator=gen) for _ in range(3))
    obj = st.StyleObjective(ext, c, s, st.CONTENT_LAYERS, st.STYLE_LAYERS, 2.0, 1e4, 0.5)
    total, losses = obj(x)
    # the same from scratch: features by running the layers by hand (ImageNet-normalised input)
    mean, std = torch.tensor(st.IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(st.IMAGENET_STD).view(1, 3, 1, 1)
    names = st.vgg_layer_names(feats)

    def acts(img: torch.Tensor) -> list[torch.Tensor]:
        out, h = [], (img - mean) / std
        for layer in feats:
            h = torch.relu(h) if isinstance(layer, torch.nn.ReLU) else layer(h)
            out.append(h)
        return out

    ax, ac, as_ = acts(x), acts(c), acts(s)
    lc = ((ax[names["conv4_2"]] - ac[names["conv4_2"]]) ** 2).mean()
    ls = sum(((st.gram_matrix(ax[names[n]]) - st.gram_matrix(as_[names[n]])) ** 2).mean() for n in st.STYLE_LAYERS)
    tv = st.total_variation(x)
    assert torch.allclose(total, 2.0 * lc + 1e4 * ls + 0.5 * tv, rtol=1e-5)
    assert abs(losses.content - float(lc)) < 1e-6 * max(1.0, float(lc)) and abs(losses.tv - float(tv)) < 1e-6


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_twenty_steps_reduce_the_loss_deterministically(optimizer: str, shared_images: Path) -> None:
    a, b = shared_images / "chelsea.png", shared_images / "coffee.png"
    runs = [st.stylize(a, b, size=32, steps=20, optimizer=optimizer, features=narrow_vgg19(), seed=3) for _ in range(2)]
    first = runs[0]
    assert len(first.losses) == 20 and first.image.shape == (3, 21, 32)
    assert first.losses[-1].total < 0.5 * first.losses[0].total
    assert torch.equal(runs[0].image, runs[1].image)
    assert 0 <= float(first.image.min()) and float(first.image.max()) <= 1


def test_stylize_writes_intermediates(shared_images: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.png"
    st.stylize(shared_images / "chelsea.png", shared_images / "coffee.png", size=24, steps=4, optimizer="adam",
               features=narrow_vgg19(), save_every=2, save_to=out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.step0002.png", "o.step0004.png"]


def test_stylize_refuses_bad_numbers(shared_images: Path) -> None:
    a = shared_images / "chelsea.png"
    for kwargs, msg in (({"steps": 0}, "--steps must be positive"), ({"size": -3}, "--size must be positive"),
                        ({"optimizer": "sgd"}, "unknown optimizer 'sgd'")):
        with pytest.raises(InputError, match=msg):
            st.stylize(a, a, features=narrow_vgg19(), **kwargs)


def test_octave_sizes() -> None:
    assert dd.octave_sizes(100, 140, 4, 1.4) == [(36, 51), (51, 71), (71, 100), (100, 140)]
    assert dd.octave_sizes(64, 64, 1) == [(64, 64)]
    with pytest.raises(InputError, match="--octaves must be positive"):
        dd.octave_sizes(64, 64, 0)


@pytest.fixture(scope="module")
def small_classifier():
    torch.manual_seed(0)
    return zoo.build("resnet18")


def test_dream_raises_the_layer_activation(small_classifier, shared_images: Path) -> None:
    res = dd.dream(shared_images / "astronaut.png", small_classifier, "layer2", octaves=3, steps=4, size=48, seed=1)
    assert res.sizes == dd.octave_sizes(48, 48, 3)
    assert res.image.shape == (3, 48, 48)
    assert len(res.norms) == 12
    before = dd.activation_rms(small_classifier, "layer2", dd.F.interpolate(
        torch.from_numpy(np.array(zoo.images.load_image(shared_images / "astronaut.png"))).permute(2, 0, 1)[None].float()
        / 255, size=(48, 48), mode="bilinear", align_corners=False, antialias=True)[0])
    after = dd.activation_rms(small_classifier, "layer2", res.image)
    assert after > 1.05 * before
    assert res.norms[-1] > res.norms[-4]  # over the last (full-size) octave
    still = dd.dream(shared_images / "astronaut.png", small_classifier, "layer2", octaves=2, steps=4, size=48, jitter=0)
    for octave in (still.norms[:4], still.norms[4:]):  # without jitter the ascent raises the norm at every step
        assert all(b > a for a, b in zip(octave, octave[1:]))
    again = dd.dream(shared_images / "astronaut.png", small_classifier, "layer2", octaves=3, steps=4, size=48, seed=1)
    assert torch.equal(res.image, again.image)


def test_dream_layer_names_did_you_mean(small_classifier) -> None:
    with pytest.raises(InputError, match="did you mean 'layer3'"):
        dd.resolve_layer(small_classifier.net, "layer3x")
    assert dd.resolve_layer(small_classifier.net, "layer3.0.conv1") is small_classifier.net.layer3[0].conv1


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from zoo.cli import main

    try:
        main(args)
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    return code, capsys.readouterr().err


def test_cli_bad_inputs_are_one_line(shared_images: Path, tmp_path: Path, capsys) -> None:
    img = str(shared_images / "chelsea.png")
    cases = [(["stylize", img, str(tmp_path / "missing.png")], "missing.png"),
             (["stylize", img, img, "--steps", "0"], "--steps must be positive"),
             (["stylize", img, img, "--size", "0"], "--size must be positive"),
             (["dream", img, "--octaves", "0"], "--octaves must be positive"),
             (["dream", img, "--steps", "-1"], "--steps must be positive"),
             (["dream", img, "--model", "yolov3-tiny"], "dream needs a classifier"),
             (["dream", img, "--model", "resnet18", "--layer", "layer9"], "unknown layer 'layer9'")]
    for args, msg in cases:
        code, err = run_cli(args, capsys)
        lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("warning:")]
        assert code == 2 and len(lines) == 1 and msg in lines[0] and "Traceback" not in err, (args, err)


def test_cli_dream_writes_an_image(shared_images: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "d.png"
    code, err = run_cli(["dream", str(shared_images / "chelsea.png"), "--model", "resnet18", "--layer", "layer2",
                         "--octaves", "2", "--steps", "2", "--size", "40", "--out", str(out)], capsys)
    assert code == 0 and out.is_file(), err
    assert "random features" in err and "octaves 29x40, 40x40" not in err and "wrote" in err


def test_without_cached_vgg19_weights_features_are_random_and_it_says_so(monkeypatch) -> None:
    import types

    from zoo.errors import WeightsNotFoundError

    def no_weights(name: str, **_: object) -> None:
        raise WeightsNotFoundError(f"{name}.tv_in1k: weights are not cached")

    built = types.SimpleNamespace(net=types.SimpleNamespace(features=narrow_vgg19()))
    monkeypatch.setattr(zoo, "load", no_weights)
    monkeypatch.setattr(zoo, "build", lambda name, **_: built if name == "vgg19" else None)
    said: list[str] = []
    features, source = st.vgg19_features("cpu", said.append)
    assert features is built.net.features and source == "random init"
    assert len(said) == 1 and "random features" in said[0] and "zoo download vgg19" in said[0]


def test_cli_stylize_writes_the_image_and_intermediates(shared_images: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "s.png"
    code, err = run_cli(["stylize", str(shared_images / "chelsea.png"), str(shared_images / "coffee.png"), "--size",
                         "24", "--steps", "2", "--optimizer", "adam", "--save-every", "1", "--out", str(out)], capsys)
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.png", "s.step0001.png", "s.step0002.png"]
    from PIL import Image

    assert Image.open(out).size == (24, 16)
    assert "warning: vgg19 ImageNet weights are not available" in err and "2 steps" in err
