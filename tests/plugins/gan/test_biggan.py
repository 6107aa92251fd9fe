"""BigGAN-deep: parity with pytorch-pretrained-biggan on the same random weights (config.json +
pytorch_model.bin written by the reference), same truncated noise, eval mode."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import pytorch_pretrained_biggan as biggan_ref  # the reference; the Makefile installs it (--no-deps)
import torch

import zoo
from zoo.errors import ConversionError, InputError, WeightsMismatchError

WIDTH = 16  # reduced channel_width: the 128 model's layers and code path, 1/64 of its convolution work


def _reference(tmp_path: Path) -> tuple[torch.nn.Module, Path, dict]:
    """A reference BigGAN-deep-128 layout at reduced width with random weights, non-trivial batch-norm statistics
    and attention gain, spectral-norm vectors settled by power iterations (as the port's TF conversion does),
    saved the way from_pretrained reads it."""
    torch.manual_seed(0)
    cfg = biggan_ref.BigGANConfig(channel_width=WIDTH)
    ref = biggan_ref.BigGAN(cfg)
    with torch.no_grad():
        for name, buf in ref.named_buffers():
            if name.endswith("running_means"):
                buf.normal_(0, 0.3)
            elif name.endswith("running_vars"):
                buf.uniform_(0.5, 2.0)
        for name, p in ref.named_parameters():
            if name.endswith("gamma"):
                p.fill_(0.7)
            elif name.endswith("bn.weight"):
                p.normal_(1, 0.1)
            elif name.endswith("bn.bias"):
                p.normal_(0, 0.1)
        ref.embeddings.weight.normal_(0, 0.5)
        ref.train()
        z = torch.randn(2, 128)
        y = torch.eye(1000)[:2]
        for _ in range(3):
            ref(z, y, 0.5)  # power iterations update weight_u / weight_v
    ref.eval()
    folder = tmp_path / "biggan-deep-128"
    folder.mkdir()
    torch.save(ref.state_dict(), folder / "pytorch_model.bin")
    (folder / "config.json").write_text(cfg.to_json_string())
    return ref, folder, cfg.to_dict()


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory):
    from zoo_gan.convert import read_biggan

    ref, folder, cfg = _reference(tmp_path_factory.mktemp("biggan"))
    spec = zoo.get_spec("biggan-deep-128")
    spec = dataclasses.replace(spec, options={**spec.options, "channel_width": WIDTH})
    state = read_biggan(folder / "pytorch_model.bin", spec)
    model = zoo.build(spec)
    model.net.load_state_dict(state, strict=True)
    return ref, model.eval(), folder, spec


@pytest.mark.parametrize("truncation", [0.4, 1.0, 0.37])
def test_parity_with_pytorch_pretrained_biggan(pair, truncation: float) -> None:
    ref, model, _, _ = pair
    noise = torch.from_numpy(biggan_ref.truncated_noise_sample(batch_size=2, truncation=truncation, seed=7))
    classes = torch.from_numpy(biggan_ref.one_hot_from_int([207, 980], batch_size=2))
    with torch.inference_mode():
        expected = ref(noise, classes, truncation)
        ours = model(noise, classes, truncation)
    assert ours.shape == expected.shape == (2, 3, 128, 128)
    assert expected.std() > 0.05  # not a saturated or constant image: the comparison means something
    assert (ours - expected).abs().max().item() < 1e-4


def test_predict_uses_the_same_network_and_regenerates(pair) -> None:
    ref, model, _, _ = pair
    res = model.predict(n=2, seed=5, classes=["golden retriever", 1], truncation=0.5)
    assert res.class_ids == [207, 1] and res.labels[0].startswith("golden retriever")
    assert np.abs(res.latents).max() <= 2 * 0.5 + 1e-6
    with torch.inference_mode():
        expected = ref(torch.from_numpy(res.latents), torch.eye(1000)[[207, 1]], 0.5)
    expected_u8 = ((expected.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    assert max(np.abs(a.astype(int) - b.astype(int)).max() for a, b in zip(res.images, expected_u8)) <= 1
    again = model.predict(json.loads(json.dumps(res.to_json())))
    assert all(np.array_equal(a, b) for a, b in zip(res.images, again.images))


def test_bad_inputs(pair) -> None:
    _, model, _, _ = pair
    with pytest.raises(InputError, match="did you mean"):
        model.predict(classes="golden retreiver")
    with pytest.raises(InputError, match="out of range"):
        model.predict(classes=1000)
    with pytest.raises(InputError, match=r"\(0, 1\]"):
        model.predict(truncation=1.2)


def test_converter_checks_config_and_layout(pair, tmp_path: Path) -> None:
    from zoo_gan.convert import read_biggan

    _, _, folder, spec = pair
    full = zoo.get_spec("biggan-deep-128")  # channel_width 128: the reduced file's config must be refused
    with pytest.raises(WeightsMismatchError, match="channel_width"):
        read_biggan(folder / "pytorch_model.bin", full)
    bogus = tmp_path / "pytorch_model.bin"
    torch.save({"foo.weight": torch.zeros(2)}, bogus)
    with pytest.raises(ConversionError):
        read_biggan(bogus, spec)


def test_zoo_import_takes_the_folder_and_checks_it(pair, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from zoo.cli import main as zoo_main

    _, _, folder, _ = pair
    only_bin = tmp_path / "only-bin"
    only_bin.mkdir()
    (only_bin / "pytorch_model.bin").write_bytes((folder / "pytorch_model.bin").read_bytes())
    # biggan-deep-256's files have no registry sha256 (first use), so the folder's own checks speak; -128's
    # pytorch_model.bin is pinned, so a file with other bytes is refused before anything is read
    for name, target, needle in (("biggan-deep-256", only_bin, "config.json is missing"),
                                 ("biggan-deep-256", folder, "output_dim is 128 but biggan-deep-256 expects 256"),
                                 ("biggan-deep-128", folder, "sha256 mismatch")):
        with pytest.raises(SystemExit) as e:
            zoo_main(["import", name, str(target)])
        assert e.value.code != 0
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and needle in err, err
