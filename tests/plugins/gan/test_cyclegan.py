"""CycleGAN: the reference's latest_net_G.pth layout converts (with and without the InstanceNorm running
statistics that old checkpoints carry) and gives outputs identical to the reference ResnetGenerator."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import zoo
from zoo.errors import ConversionError, InputError, WeightsMismatchError
from zoo.tasks.generation import GenerationResult


# junyanz/pytorch-CycleGAN-and-pix2pix models/networks.py, written out as the reference (resnet_9blocks, norm
# 'instance' = InstanceNorm2d(affine=False, track_running_stats=False), use_dropout=False, reflect padding).
class RefResnetBlock(nn.Module):
    def __init__(self, dim, padding_type, norm_layer, use_dropout, use_bias):
        super().__init__()
        conv_block = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, kernel_size=3, padding=0, bias=use_bias),
                      norm_layer(dim), nn.ReLU(True)]
        if use_dropout:
            conv_block += [nn.Dropout(0.5)]
        conv_block += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, kernel_size=3, padding=0, bias=use_bias),
                       norm_layer(dim)]
        self.conv_block = nn.Sequential(*conv_block)

    def forward(self, x):
        return x + self.conv_block(x)


class RefResnetGenerator(nn.Module):
    def __init__(self, input_nc, output_nc, ngf=64, norm_layer=nn.BatchNorm2d, use_dropout=False, n_blocks=6,
                 padding_type="reflect"):
        super().__init__()
        use_bias = norm_layer.func == nn.InstanceNorm2d if isinstance(norm_layer, functools.partial) \
            else norm_layer == nn.InstanceNorm2d
        model = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0, bias=use_bias),
                 norm_layer(ngf), nn.ReLU(True)]
        n_downsampling = 2
        for i in range(n_downsampling):
            mult = 2 ** i
            model += [nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=2, padding=1, bias=use_bias),
                      norm_layer(ngf * mult * 2), nn.ReLU(True)]
        mult = 2 ** n_downsampling
        for _ in range(n_blocks):
            model += [RefResnetBlock(ngf * mult, padding_type=padding_type, norm_layer=norm_layer,
                                     use_dropout=use_dropout, use_bias=use_bias)]
        for i in range(n_downsampling):
            mult = 2 ** (n_downsampling - i)
            model += [nn.ConvTranspose2d(ngf * mult, int(ngf * mult / 2), kernel_size=3, stride=2, padding=1,
                                         output_padding=1, bias=use_bias),
                      norm_layer(int(ngf * mult / 2)), nn.ReLU(True)]
        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, input):
        return self.model(input)


NORM = functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)


@pytest.fixture(scope="module")
def reference() -> nn.Module:
    torch.manual_seed(0)
    net = RefResnetGenerator(3, 3, 64, norm_layer=NORM, use_dropout=False, n_blocks=9)
    for m in net.modules():  # init_weights('normal', 0.02) plus non-zero biases
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            nn.init.normal_(m.bias, 0.0, 0.02)
    return net.eval()


def _old_checkpoint(state: dict[str, torch.Tensor], net: nn.Module) -> dict[str, torch.Tensor]:
    """What checkpoints saved with InstanceNorm running statistics (pre-0.4 / track_running_stats) carry."""
    out = dict(state)
    for name, m in net.named_modules():
        if isinstance(m, nn.InstanceNorm2d):
            out[f"{name}.running_mean"] = torch.randn(m.num_features)
            out[f"{name}.running_var"] = torch.rand(m.num_features) + 0.5
            out[f"{name}.num_batches_tracked"] = torch.tensor(100)
    return out


@pytest.mark.parametrize("old", [False, True], ids=["current", "with-running-stats"])
def test_converter_round_trip_and_parity(tmp_path: Path, reference: nn.Module, old: bool) -> None:
    state = reference.state_dict()
    assert "model.10.conv_block.1.weight" in state and "model.26.weight" in state  # the reference layout
    saved = _old_checkpoint(state, reference) if old else state
    if old:
        assert "model.2.running_mean" in saved and "model.10.conv_block.2.num_batches_tracked" in saved
    ckpt = tmp_path / "latest_net_G.pth"
    torch.save(saved, ckpt)
    from zoo_gan.convert import read_cyclegan

    spec = zoo.get_spec("cyclegan-horse2zebra")
    converted = read_cyclegan(ckpt, spec)
    assert converted.keys() == state.keys()  # running statistics dropped, nothing else
    assert all(torch.equal(converted[k], state[k]) for k in state)
    model = zoo.load("cyclegan-horse2zebra", weights=ckpt)
    x = torch.rand(1, 3, 64, 96) * 2 - 1
    with torch.inference_mode():
        assert torch.equal(model(x), reference(x))


def test_predict_translates_images(tmp_path: Path, reference: nn.Module) -> None:
    from PIL import Image

    ckpt = tmp_path / "horse2zebra.pth"
    torch.save(reference.state_dict(), ckpt)
    model = zoo.load("cyclegan-horse2zebra", weights=ckpt)
    rng = np.random.default_rng(0)
    photo = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)).save(photo)
    res = model.predict(str(photo), size=0)  # 0: the photo's own size (the task's size is an int)
    assert isinstance(res, GenerationResult) and res.sources == [str(photo)]
    # each side rounded to a multiple of 4 with Python round(), as the reference's __make_power_2: 50 -> 48, 70 -> 72
    assert res.images[0].shape == (48, 72, 3)
    arr = np.array(Image.open(photo).convert("RGB"))
    x = torch.nn.functional.interpolate(torch.from_numpy(arr).permute(2, 0, 1)[None].float() / 255, size=(48, 72),
                                        mode="bicubic", antialias=True).clamp(0, 1) * 2 - 1
    with torch.inference_mode():
        expected = ((reference(x).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)[0].permute(1, 2, 0).numpy()
    assert np.array_equal(res.images[0], expected)
    both = model.predict([str(photo), arr], size=64)
    assert [r.images[0].shape for r in both] == [(64, 64, 3)] * 2
    assert both[0].to_json()["sources"] == [str(photo)]
    with pytest.raises(InputError):
        model.predict(arr, size=30)
    # (height, width), as an export's input shape is passed to every family's preprocess (int8 calibration, guard)
    assert model.predict(arr, size=(48, 64)).images[0].shape == (48, 64, 3)
    for bad in ((48, 30), (48,), (48, 64, 3)):
        with pytest.raises(InputError):
            model.predict(arr, size=bad)


def test_wrong_architecture_is_one_line(tmp_path: Path) -> None:
    six = RefResnetGenerator(3, 3, 64, norm_layer=NORM, n_blocks=6)
    ckpt = tmp_path / "six.pth"
    torch.save(six.state_dict(), ckpt)
    with pytest.raises((ConversionError, WeightsMismatchError), match="model.1[0-8]"):
        zoo.load("cyclegan-horse2zebra", weights=ckpt)
