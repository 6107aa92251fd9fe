"""Issue 16 item 5, fuzzed: safetensors headers that lie, Darknet cfg/weights with random edits and registry rows
with wrong types either work or raise the zoo's own error type in one line (which the CLI prints as one line
and a non-zero exit), never another exception. Budgets are fixed and derandomised so `make test` stays fast."""

from __future__ import annotations

import datetime
import json
import struct
import tempfile
from pathlib import Path
from typing import Any

import pytest
import torch
from hostile import TRIED
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoo.errors import ConversionError, SpecError, WeightsMismatchError
from zoo.spec import ModelSpec, spec_from_dict
from zoo.weights import SAFETENSORS_DTYPES, read_safetensors

BUDGET = settings(max_examples=50, derandomize=True, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow])
_TMP = Path(tempfile.gettempdir())  # replaced by a per-module temp folder (fuzz_dir) before any test runs


@pytest.fixture(scope="module", autouse=True)
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the fuzzers write their inputs (one folder per module run, cleaned like any tmp_path)."""
    global _TMP
    _TMP = tmp_path_factory.mktemp("fuzz")
    return _TMP


def one_line(e: Exception) -> None:
    assert str(e) and "\n" not in str(e), repr(e)


# ---------------------------------------------------------------- safetensors

def safetensors_bytes(header: Any, body: bytes, length: int | None = None) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if length is None else length) + raw + body


def check_loaded(data: bytes, state: dict[str, torch.Tensor]) -> None:
    """What loaded is what the header says, and never more bytes than the file holds (bounded memory)."""
    n = struct.unpack_from("<Q", data)[0]
    header = json.loads(data[8:8 + n])
    assert set(state) == set(header) - {"__metadata__"}
    for k, t in state.items():
        assert list(t.shape) == header[k]["shape"]
    assert sum(t.numel() * t.element_size() for t in state.values()) <= len(data)


def try_safetensors(data: bytes, name: str) -> None:
    path = _TMP / name
    path.write_bytes(data)
    TRIED["safetensors"] += 1
    try:
        state = read_safetensors(path)
    except WeightsMismatchError as e:
        one_line(e)
        return
    check_loaded(data, state)


@st.composite
def consistent_files(draw: st.DrawFn) -> tuple[dict[str, Any], bytes]:
    """A valid safetensors file: small tensors of any dtype, laid out back to back."""
    header: dict[str, Any] = {}
    offset = 0
    for i in range(draw(st.integers(0, 4))):
        dtype = draw(st.sampled_from(sorted(SAFETENSORS_DTYPES)))
        shape = draw(st.lists(st.integers(0, 4), max_size=3))
        size = SAFETENSORS_DTYPES[dtype] * int(torch.tensor(shape).prod()) if shape else SAFETENSORS_DTYPES[dtype]
        header[f"t{i}"] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    if draw(st.booleans()):
        header["__metadata__"] = {"format": "pt"}
    return header, bytes(draw(st.binary(min_size=offset, max_size=offset)))


JUNK = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(), st.text(max_size=6),
                 st.lists(st.integers(-3, 2**44), max_size=4), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


@BUDGET
@given(consistent_files(), st.sampled_from(["none", "dtype", "shape", "offsets", "field", "length", "truncate",
                                            "append", "not-an-object", "huge-shape"]), st.data())
def test_fuzz_safetensors_header_lies(file: tuple[dict[str, Any], bytes], lie: str, data: st.DataObject) -> None:
    header, body = file
    tensors = [k for k in header if k != "__metadata__"]
    length = None
    key = data.draw(st.sampled_from(tensors)) if tensors else None
    if lie == "dtype" and key:
        header[key]["dtype"] = data.draw(st.sampled_from([*SAFETENSORS_DTYPES, "F31", "", "complex64"]))
    elif lie == "shape" and key:
        header[key]["shape"] = data.draw(st.lists(st.integers(-2, 9), max_size=4))
    elif lie == "offsets" and key:
        header[key]["data_offsets"] = data.draw(st.lists(st.integers(-3, len(body) + 64), min_size=2, max_size=2))
    elif lie == "field" and key:
        header[key][data.draw(st.sampled_from(["dtype", "shape", "data_offsets"]))] = data.draw(JUNK)
    elif lie == "length":
        length = data.draw(st.one_of(st.integers(0, 64), st.integers(2**20, 2**64 - 1)))
    elif lie == "truncate":
        body = body[: data.draw(st.integers(0, max(0, len(body) - 1)))]
    elif lie == "append":
        body += data.draw(st.binary(min_size=1, max_size=32))
    elif lie == "not-an-object":
        header = data.draw(JUNK)
    elif lie == "huge-shape" and key:  # claims 4 TiB: must be refused from the header, nothing allocated
        header[key].update(dtype="F32", shape=[2**20, 2**20], data_offsets=[0, 2**42])
    try_safetensors(safetensors_bytes(header, body, length), "lie.safetensors")


@BUDGET
@given(consistent_files(), st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=6),
       st.integers(0, 10**6))
def test_fuzz_safetensors_bytes(file: tuple[dict[str, Any], bytes], flips: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(safetensors_bytes(*file))
    for pos, value in flips:
        data[pos % len(data)] = value
    try_safetensors(bytes(data[: max(1, cut % (len(data) + 1))]), "bytes.safetensors")


def test_lying_header_refused_before_allocation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 100-byte file claiming a 4 TiB tensor, or an 8 EiB header, never reaches the tensor loader."""
    import safetensors.torch

    monkeypatch.setattr(safetensors.torch, "load_file", lambda *a, **k: pytest.fail("loader reached"))
    cases = {
        "huge.safetensors": safetensors_bytes({"w": {"dtype": "F32", "shape": [2**20, 2**20], "data_offsets": [0, 2**42]}}, b"\0" * 16),
        "length.safetensors": safetensors_bytes({}, b"", length=2**63),
        "overlap.safetensors": safetensors_bytes({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
                                                  "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}}, b"\0" * 8),
        "lie.safetensors": safetensors_bytes({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 4]}}, b"\0" * 16),
    }
    words = {"huge": "past the 16 data bytes", "length": "header length", "overlap": "overlap", "lie": "needs 16 bytes"}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        TRIED["safetensors"] += 1
        with pytest.raises(WeightsMismatchError, match=words[name.split(".")[0]]):
            read_safetensors(tmp_path / name)


# ---------------------------------------------------------------- Darknet cfg and weights

def _cfg_lines() -> list[str]:
    from zoo_yolo.models import CFG_DIR

    return (CFG_DIR / "yolov3-tiny.cfg").read_text().splitlines()


TOKENS = st.one_of(st.integers(-3, 3000).map(str), st.floats(-10, 10).map(lambda f: f"{f:.3g}"),
                   st.sampled_from(["", "x", "1,2,", ",", "leaky", "mish", "-1,-4", "1e9", "nan", "0"]))


@BUDGET
@given(st.lists(st.tuples(st.sampled_from(["value", "delete", "duplicate", "insert", "swap"]), st.integers(0, 10**4),
                          st.integers(0, 10**4), TOKENS), min_size=1, max_size=4))
def test_fuzz_darknet_cfg_edits(edits: list[tuple[str, int, int, str]]) -> None:
    """yolov3-tiny.cfg with random edits builds (on the meta device: no memory for whatever it claims) and runs
    a meta forward, or fails with a SpecError naming the line."""
    from zoo_yolo.cfg import parse_cfg
    from zoo_yolo.darknet import Darknet

    lines = _cfg_lines()
    for op, i, j, token in edits:
        i, j = i % len(lines), j % len(lines)
        if op == "value" and "=" in lines[i]:
            lines[i] = lines[i].split("=")[0] + "=" + token
        elif op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(j, lines[i])
        elif op == "insert":
            lines.insert(i, token)
        elif op == "swap":
            lines[i], lines[j] = lines[j], lines[i]
    TRIED["darknet cfg"] += 1
    try:
        with torch.device("meta"):
            net = Darknet(parse_cfg("\n".join(lines), "fuzz.cfg"))
            size = (net.height, net.width) if hasattr(net, "height") else (416, 416)
            net(torch.empty(1, 3, *size))
    except SpecError as e:
        one_line(e)


@pytest.fixture(scope="module")
def tiny_darknet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, bytes]:
    from zoo_yolo.cfg import parse_cfg
    from zoo_yolo.convert import write_weights
    from zoo_yolo.darknet import Darknet

    text = "[net]\nwidth=64\nheight=64\nchannels=3\n[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\n" \
           "pad=1\nactivation=leaky\n[convolutional]\nsize=1\nstride=1\npad=1\nfilters=18\nactivation=linear\n" \
           "[yolo]\nmask=0,1\nanchors=10,14, 23,27, 37,58\nclasses=4\nnum=3\n"
    torch.manual_seed(0)
    net = Darknet(parse_cfg(text))
    path = tmp_path_factory.mktemp("dn") / "tiny.weights"
    write_weights(path, net)
    return {k: v.shape for k, v in net.state_dict().items()}, path.read_bytes()


@BUDGET
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8), st.integers(-64, 64),
       st.sampled_from(["flip", "cut", "grow", "header"]))
def test_fuzz_darknet_weights(tiny_darknet: tuple[Any, bytes], flips: list[tuple[int, int]], delta: int, op: str) -> None:
    from zoo_yolo.convert import read_weights

    target, data = tiny_darknet
    data = bytearray(data)
    if op in ("flip", "header"):
        for pos, value in flips:
            data[pos % (20 if op == "header" else len(data))] = value
    elif op == "cut":
        data = data[: max(0, len(data) - abs(delta) - 1)]
    else:
        data += bytes(abs(delta) + 1)
    path = _TMP / "fuzz.weights"
    path.write_bytes(bytes(data))
    TRIED["darknet weights"] += 1
    try:
        state, _ = read_weights(path, target)
    except ConversionError as e:
        one_line(e)
        return
    assert {k for k in state if not k.endswith("num_batches_tracked")} <= set(target)
    assert all(bool(torch.isfinite(t).all()) for t in state.values() if t.is_floating_point())


# ---------------------------------------------------------------- registry rows

VALID_ROW: dict[str, Any] = {
    "name": "fuzznet", "family": "classic", "task": "classification", "description": "a row to break",
    "arch": "resnet18", "categories": "imagenet1k", "num_params": 11.7, "gmacs": 1.8, "license": "bsd-3-clause",
    "paper": {"title": "Deep Residual Learning", "year": 2015, "url": "https://arxiv.org/abs/1512.03385"},
    "input": {"size": [224, 224], "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "resize": "resize-crop",
              "resize_size": 256, "sizes": [224], "scale": 0.00392156862745098},
    "metrics": {"imagenet-1k": {"top1": 69.76}},
    "weights": [{"tag": "tv_in1k", "repo_id": "timm/resnet18.tv_in1k", "filename": "model.safetensors",
                 "revision": "main", "sha256": "0" * 64, "size": 46830571, "format": "safetensors", "default": True,
                 "description": "torchvision", "license": "bsd-3-clause", "metrics": {"imagenet-1k": {"top1": 69.76}},
                 "files": [{"filename": "model.safetensors", "sha256": "1" * 64, "size": 3}]}],
    "options": {"zero_init": False},
}
ANY_VALUE = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**12), st.floats(), st.text(max_size=8),
                      st.dates(), st.lists(st.one_of(st.integers(), st.text(max_size=3), st.floats()), max_size=3),
                      st.dictionaries(st.one_of(st.text(max_size=4), st.integers()), st.one_of(st.integers(), st.text(max_size=3)),
                                      max_size=2))


def _paths(row: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = []
    if isinstance(row, dict):
        for k, v in row.items():
            out.append(prefix + (k,))
            out.extend(_paths(v, prefix + (k,)))
    elif isinstance(row, list):
        for i, v in enumerate(row):
            out.append(prefix + (i,))
            out.extend(_paths(v, prefix + (i,)))
    return out


def _expected_types(spec: ModelSpec) -> None:
    """Every field of a spec that registered has its declared type: nothing wrong-typed gets further."""
    def ok(value: Any, *kinds: type) -> bool:
        return isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)

    for f in ("name", "family", "task", "description", "arch", "metrics_source", "license", "notes"):
        assert ok(getattr(spec, f), str), f
    assert spec.categories is None or ok(spec.categories, str)
    assert spec.paper is None or (ok(spec.paper.title, str) and ok(spec.paper.year, int) and ok(spec.paper.url, str))
    i = spec.input
    assert all(ok(s, int) for s in i.size) and ok(i.scale, float) and ok(i.resize, str)
    assert all(ok(s, int) for s in i.sizes) and (i.resize_size is None or ok(i.resize_size, int))
    for w in spec.weights:
        assert ok(w.tag, str) and ok(w.revision, str) and ok(w.format, str) and ok(w.default, bool)
        assert (w.size is None or ok(w.size, int)) and (w.repo_id is None or ok(w.repo_id, str))
        assert all(ok(f.filename, str) and (f.size is None or ok(f.size, int)) for f in w.files)
    assert all(ok(k, str) for k in spec.options)
    json.dumps(spec.to_dict(), default=str)


@BUDGET
@given(st.data())
def test_fuzz_registry_rows_with_wrong_types(data: st.DataObject) -> None:
    row = json.loads(json.dumps(VALID_ROW))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(row)))
        parent = row
        for p in path[:-1]:
            parent = parent[p]
        parent[path[-1]] = data.draw(ANY_VALUE)
    TRIED["registry rows"] += 1
    try:
        spec = spec_from_dict(row, "fuzz.yaml", builder="zoo_classic.models:build")
    except SpecError as e:
        one_line(e)
        assert str(e).startswith("fuzz.yaml")
        return
    _expected_types(spec)


def test_valid_row_still_registers() -> None:
    spec = spec_from_dict(json.loads(json.dumps(VALID_ROW)), "fuzz.yaml", builder="zoo_classic.models:build")
    _expected_types(spec)
    assert spec.input.sizes == (224,) and spec.weights[0].files[0].size == 3
    for bad, where in (({"family": 3}, "family"), ({"num_params": True}, "num_params"),
                       ({"description": datetime.date(2020, 1, 1)}, "description")):
        with pytest.raises(SpecError, match=f"field '{where}'"):
            spec_from_dict({**VALID_ROW, **bad}, "fuzz.yaml", builder="m:f")
