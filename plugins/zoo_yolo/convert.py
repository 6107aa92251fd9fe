"""Darknet `.weights` <-> the zoo's layout (the Darknet module's state_dict).

File layout (Darknet parser.c, load_weights_upto / save_weights_upto):
  int32 major, int32 minor, int32 revision
  seen: uint64 when major*10 + minor >= 2 (and both < 1000), else int32
  then for every [convolutional] in cfg order, float32 little-endian:
    biases[n]; if batch_normalize: scales[n], rolling_mean[n], rolling_variance[n]; weights[n, c/groups, k, k]
Only the cfg says how many floats each layer holds, so a file is read against the model's cfg, and
one that is too short or too long is refused with the byte counts.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zoo.errors import ConversionError
from zoo_yolo.darknet import ConvBlock, Darknet


@dataclass(frozen=True)
class Header:
    major: int
    minor: int
    revision: int
    seen: int

    @property
    def size(self) -> int:
        return 20 if self.wide_seen else 16

    @property
    def wide_seen(self) -> bool:
        return (self.major * 10 + self.minor) >= 2 and self.major < 1000 and self.minor < 1000


def read_header(data: bytes, name: str) -> Header:
    if len(data) < 16:
        raise ConversionError(f"{name}: truncated Darknet weights: {len(data)} bytes, shorter than the 16-byte header")
    major, minor, revision = struct.unpack_from("<3i", data, 0)
    if major > 1000 or minor > 1000:
        raise ConversionError(f"{name}: transposed Darknet weights (version {major}.{minor}) are not supported")
    if major < 0 or minor < 0:
        raise ConversionError(f"{name}: not a Darknet weights file (version {major}.{minor}.{revision})")
    probe = Header(major, minor, revision, 0)
    if len(data) < probe.size:
        raise ConversionError(f"{name}: truncated Darknet weights: {len(data)} bytes, shorter than the "
                              f"{probe.size}-byte header of version {major}.{minor}")
    seen = struct.unpack_from("<Q" if probe.wide_seen else "<i", data, 12)[0]
    return Header(major, minor, revision, seen)


def _layer_tensors(index: int, block: ConvBlock) -> list[tuple[str, tuple[int, ...]]]:
    """(state_dict key, shape) in the order Darknet stores them for one [convolutional]."""
    conv = block.conv
    n = conv.out_channels
    p = f"layers.{index}."
    if block.batch_normalize:
        keys = [(p + "bn.bias", (n,)), (p + "bn.weight", (n,)), (p + "bn.running_mean", (n,)),
                (p + "bn.running_var", (n,))]
    else:
        keys = [(p + "conv.bias", (n,))]
    return keys + [(p + "conv.weight", tuple(conv.weight.shape))]


def layout(net: Darknet) -> list[tuple[int, str, tuple[int, ...]]]:
    """(darknet layer index, key, shape) for every tensor of the file, in file order."""
    return [(i, k, s) for i, block in net.conv_layers() for k, s in _layer_tensors(i, block)]


def layout_from_target(target: dict[str, Any]) -> list[tuple[int, str, tuple[int, ...]]]:
    """The same plan read off the zoo network's {key: shape} (what the core hands converters), so the
    converter needs no second build: every `layers.<i>.conv.weight` is one [convolutional], with BN tensors
    when `layers.<i>.bn.weight` exists, else a conv bias."""
    plan = []
    convs = sorted({int(k.split(".")[1]) for k in target if k.endswith(".conv.weight")})
    for i in convs:
        p = f"layers.{i}."
        if p + "bn.weight" in target:
            keys = [p + "bn.bias", p + "bn.weight", p + "bn.running_mean", p + "bn.running_var"]
        else:
            keys = [p + "conv.bias"]
        plan += [(i, k, tuple(target[k])) for k in keys + [p + "conv.weight"]]
    return plan


def read_weights(path: str | Path, net: Darknet | dict[str, Any]) -> tuple[dict[str, torch.Tensor], Header]:
    """Read a .weights file against `net`'s cfg (or its {key: shape}) -> (state dict in the zoo layout, header)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConversionError(f"{path}: cannot read ({e.strerror})") from None
    header = read_header(data, path.name)
    plan = layout(net) if isinstance(net, Darknet) else layout_from_target(net)
    counts = [int(np.prod(shape)) for _, _, shape in plan]
    expected = header.size + 4 * sum(counts)
    convs = len({i for i, _, _ in plan})
    if len(data) != expected:
        what = f"{convs} convolutional layers of the cfg need {expected} bytes ({header.size}-byte header + {sum(counts)} float32)"
        if len(data) < expected:
            at, offset = None, header.size
            for (i, _, _), c in zip(plan, counts):
                offset += 4 * c
                if offset > len(data):
                    at = i
                    break
            raise ConversionError(f"{path.name}: truncated Darknet weights: the {what}, the file has {len(data)} bytes "
                                  f"({expected - len(data)} missing, running out in layer {at})")
        raise ConversionError(f"{path.name}: oversized Darknet weights: the {what}, the file has {len(data)} bytes "
                              f"({len(data) - expected} left over: a different cfg?)")
    body = np.frombuffer(data, dtype="<f4", offset=header.size)
    state: dict[str, torch.Tensor] = {}
    offset = 0
    for (_, key, shape), c in zip(plan, counts):
        state[key] = torch.from_numpy(body[offset:offset + c].astype(np.float32).reshape(shape))
        offset += c
    for _, key, _ in plan:
        if key.endswith(".bn.running_var"):
            state[key.replace("running_var", "num_batches_tracked")] = torch.tensor(0, dtype=torch.long)
    bad = [k for k, t in state.items() if t.is_floating_point() and not bool(torch.isfinite(t).all())]
    if bad:
        raise ConversionError(f"{path.name}: non-finite values (NaN/inf) in {', '.join(bad[:3])}")
    return state, header


def write_weights(path: str | Path, net: Darknet | dict[str, torch.Tensor], template: Darknet | None = None,
                  major: int = 0, minor: int = 2, revision: int = 0, seen: int = 0) -> int:
    """Write a Darknet .weights file from a Darknet module (or a state dict plus the module it fits); returns bytes written."""
    if isinstance(net, Darknet):
        model, state = net, net.state_dict()
    else:
        if template is None:
            raise ValueError("write_weights(state_dict) needs the Darknet module it belongs to as `template`")
        model, state = template, net
    header = Header(major, minor, revision, seen)
    parts = [struct.pack("<3i", major, minor, revision), struct.pack("<Q" if header.wide_seen else "<i", seen)]
    for _, key, shape in layout(model):
        t = state[key].detach().to("cpu", torch.float32).contiguous()
        if tuple(t.shape) != shape:
            raise ValueError(f"{key}: shape {tuple(t.shape)} does not fit the cfg's {shape}")
        parts.append(t.numpy().astype("<f4").tobytes())
    blob = b"".join(parts)
    Path(path).write_bytes(blob)
    return len(blob)


def read_darknet_weights(path: Path, spec: Any, target: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The converter registered for format "darknet": the file read against the model's {key: shape}."""
    state, _ = read_weights(path, target)
    return state
