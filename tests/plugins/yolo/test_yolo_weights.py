"""Darknet .weights converter: round trips, header versions, truncated/oversized files, import into the cache."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest
import torch

import zoo
from zoo.api import expected_state
from zoo.convert import import_file
from zoo.errors import ConversionError, WeightsMismatchError
from zoo_yolo.cfg import parse_cfg, read_cfg
from zoo_yolo.convert import (
    layout,
    layout_from_target,
    read_darknet_weights,
    read_header,
    read_weights,
    write_weights,
)
from zoo_yolo.darknet import Darknet
from zoo_yolo.models import CFG_DIR

# every layer kind once, including a conv without batch norm, groups, a route with two inputs and a shortcut
SMALL = """[net]
width=32
height=32

[convolutional]
batch_normalize=1
filters=8
size=3
stride=1
pad=1
activation=leaky

[convolutional]
batch_normalize=1
filters=8
size=3
stride=1
pad=1
groups=2
activation=leaky

[shortcut]
from=-2
activation=linear

[maxpool]
size=2
stride=2

[convolutional]
filters=6
size=1
stride=1
pad=1
activation=leaky

[upsample]
stride=2

[route]
layers=-1,-4

[convolutional]
size=1
stride=1
pad=1
filters=14
activation=linear

[yolo]
mask=0,1
anchors=4,5, 8,9
classes=2
num=2
"""


def randomized(net: Darknet, seed: int = 0) -> Darknet:
    """Random values in every tensor, batch-norm statistics included (a fresh BN has mean 0, var 1)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if t.is_floating_point():
                t.copy_(torch.rand(t.shape, generator=g) + (0.5 if name.endswith("running_var") else -0.5))
    return net.eval()


@pytest.fixture(scope="module")
def small() -> Darknet:
    return randomized(Darknet(parse_cfg(SMALL, "small.cfg")))


@pytest.fixture(scope="module")
def tiny() -> Darknet:
    return randomized(Darknet(read_cfg(CFG_DIR / "yolov3-tiny.cfg")), seed=1)


def test_layout_follows_darknet_order(small: Darknet) -> None:
    keys = [k for _, k, _ in layout(small)]
    assert keys[:5] == ["layers.0.bn.bias", "layers.0.bn.weight", "layers.0.bn.running_mean", "layers.0.bn.running_var",
                        "layers.0.conv.weight"]
    assert "layers.4.conv.bias" in keys and "layers.4.bn.bias" not in keys  # conv without batch norm: bias only
    assert dict((k, s) for _, k, s in layout(small))["layers.1.conv.weight"] == (8, 4, 3, 3)  # groups=2


@pytest.mark.parametrize("major, minor, header", [(0, 2, 20), (0, 1, 16), (1, 0, 20)])
def test_round_trip_is_exact(tmp_path: Path, small: Darknet, major: int, minor: int, header: int) -> None:
    path = tmp_path / "small.weights"
    floats = sum(torch.Size(shape).numel() for _, _, shape in layout(small))
    n = write_weights(path, small, major=major, minor=minor, revision=5, seen=123456)
    assert n == path.stat().st_size == header + 4 * floats
    state, head = read_weights(path, Darknet(parse_cfg(SMALL)))
    assert (head.major, head.minor, head.revision, head.seen, head.size) == (major, minor, 5, 123456, header)
    expected = small.state_dict()
    assert set(state) == set(expected)
    for k, t in expected.items():
        assert torch.equal(state[k], t), k


def test_round_trip_of_yolov3_tiny_loads_into_the_model(tmp_path: Path, tiny: Darknet) -> None:
    path = tmp_path / "tiny.weights"
    write_weights(path, tiny, seen=2**40)  # a 64-bit `seen`
    spec = zoo.get_spec("yolov3-tiny")
    state = read_darknet_weights(path, spec, {k: v.shape for k, v in tiny.state_dict().items()})
    assert layout_from_target({k: v.shape for k, v in tiny.state_dict().items()}) == layout(tiny)
    fresh = Darknet(read_cfg(CFG_DIR / "yolov3-tiny.cfg")).eval()
    fresh.load_state_dict(state, strict=True)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(fresh(x), tiny(x))
    assert read_header(path.read_bytes(), "t").seen == 2**40


def _counts(message: str) -> list[int]:
    return [int(n) for n in re.findall(r"(\d+) bytes", message)]


def test_truncated_file_is_refused_with_byte_counts(tmp_path: Path, small: Darknet) -> None:
    path = tmp_path / "cut.weights"
    size = write_weights(path, small)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ConversionError) as e:
        read_weights(path, small)
    msg = str(e.value)
    assert "truncated" in msg and _counts(msg)[:2] == [size, size - 100]
    assert "100 missing" in msg and "layer 7" in msg  # the last conv is layer 7


def test_oversized_file_is_refused_with_byte_counts(tmp_path: Path, small: Darknet) -> None:
    path = tmp_path / "long.weights"
    size = write_weights(path, small)
    path.write_bytes(path.read_bytes() + b"\0" * 12)
    with pytest.raises(ConversionError) as e:
        read_weights(path, small)
    msg = str(e.value)
    assert "oversized" in msg and _counts(msg)[:2] == [size, size + 12] and "12 left over" in msg


def test_weights_of_another_network_are_refused(tmp_path: Path, small: Darknet, tiny: Darknet) -> None:
    path = tmp_path / "small.weights"
    write_weights(path, small)
    with pytest.raises(ConversionError, match="truncated"):
        read_weights(path, tiny)


@pytest.mark.parametrize("blob, words", [
    (b"", "shorter than the 16-byte header"),
    (struct.pack("<3i", 0, 2, 0) + b"\0" * 6, "shorter than the 20-byte header"),
    (struct.pack("<4i", 2000, 0, 0, 0), "transposed"),
    (struct.pack("<4i", -1, 0, 0, 0), "not a Darknet weights file"),
])
def test_bad_headers(tmp_path: Path, small: Darknet, blob: bytes, words: str) -> None:
    path = tmp_path / "bad.weights"
    path.write_bytes(blob)
    with pytest.raises(ConversionError, match=words):
        read_weights(path, small)


def test_non_finite_values_are_refused(tmp_path: Path, small: Darknet) -> None:
    path = tmp_path / "nan.weights"
    write_weights(path, small)
    data = bytearray(path.read_bytes())
    data[20:24] = struct.pack("<f", float("nan"))
    path.write_bytes(bytes(data))
    with pytest.raises(ConversionError, match="non-finite"):
        read_weights(path, small)


def test_import_converts_into_the_cache_and_load_uses_it(tmp_path: Path, tiny: Darknet) -> None:
    path = tmp_path / "yolov3-tiny.weights"
    write_weights(path, tiny)
    spec = zoo.get_spec("yolov3-tiny")
    out, lock = import_file(spec, spec.default_weights(), path, expected=expected_state(spec))
    assert out.is_file() and lock.original_format == "darknet" and lock.pinned_by == "local"  # not the registry's file
    model = zoo.load("yolov3-tiny")
    x = torch.rand(1, 3, 96, 96)
    with torch.no_grad():
        assert torch.equal(model(x), tiny(x))
    assert zoo.load("yolov3-tiny", weights=path).net.state_dict()["layers.0.conv.weight"].equal(
        tiny.state_dict()["layers.0.conv.weight"])


def test_import_of_the_wrong_architecture_fails_with_counts(tmp_path: Path, tiny: Darknet) -> None:
    path = tmp_path / "tiny.weights"
    write_weights(path, tiny)
    spec = zoo.get_spec("yolov3")
    with pytest.raises((ConversionError, WeightsMismatchError), match="bytes"):
        import_file(spec, spec.default_weights(), path, expected=expected_state(spec))


def test_real_tiny_weights_import_is_pinned_by_the_registry(shared_data: Path) -> None:
    spec = zoo.get_spec("yolov3-tiny")
    out, lock = import_file(spec, spec.default_weights(), shared_data / "yolov3-tiny.weights", expected=expected_state(spec))
    assert lock.pinned_by == "registry" and lock.original_sha256 == spec.default_weights().sha256
    target = {k: v.shape for k, v in zoo.build(spec, device="meta").net.state_dict().items()}
    state = read_darknet_weights(shared_data / "yolov3-tiny.weights", spec, target)
    assert len(state) == 11 * 6 + 2 * 2  # 11 convs with batch norm (conv + 5 BN tensors), 2 with a bias
    # read in the right order, every rolling variance is positive and every mean is not
    variances = [t for k, t in state.items() if k.endswith("running_var")]
    assert len(variances) == 11 and all(bool((v > 0).all()) for v in variances)
    assert any(bool((t < 0).any()) for k, t in state.items() if k.endswith("running_mean"))
