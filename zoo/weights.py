"""Loading a safetensors state dict into a ZooModel: strict key and shape check, readable diffs."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from zoo.errors import WeightsMismatchError, first_line


def check_state_dict(expected: Mapping[str, torch.Tensor], got: Mapping[str, torch.Tensor], what: str) -> None:
    """Raise WeightsMismatchError listing missing, unexpected and mis-shaped keys.

    BatchNorm's `num_batches_tracked` counters may be missing (files saved before PyTorch 0.4 lack them).
    """
    missing = [k for k in expected if k not in got and not k.endswith(OPTIONAL_SUFFIX)]
    unexpected = [k for k in got if k not in expected]
    shapes = [f"{k}: model {tuple(expected[k].shape)} vs file {tuple(got[k].shape)}"
              for k in expected if k in got and tuple(expected[k].shape) != tuple(got[k].shape)]
    if not (missing or unexpected or shapes):
        return

    def few(items: list[str]) -> str:
        return ", ".join(items[:4]) + (f" (+{len(items) - 4} more)" if len(items) > 4 else "")

    parts = []
    if missing:
        parts.append(f"{len(missing)} missing [{few(missing)}]")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected [{few(unexpected)}]")
    if shapes:
        parts.append(f"{len(shapes)} with other shapes [{few(shapes)}]")
    raise WeightsMismatchError(f"{what} does not fit the model: " + "; ".join(parts))


OPTIONAL_SUFFIX = "num_batches_tracked"


# bytes per element of every safetensors dtype (safetensors' Dtype enum)
SAFETENSORS_DTYPES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
                      "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}
MAX_HEADER_BYTES = 100_000_000  # safetensors' own limit on the JSON header


def check_safetensors_header(path: str | Path) -> dict[str, Any]:
    """Read and check a safetensors header against the file before any tensor is allocated: the header
    length fits the file (and safetensors' 100 MB limit), it is a JSON object, every tensor has a known
    dtype, a shape of non-negative integers and data offsets inside the file whose length is exactly
    numel x itemsize, and no two tensors overlap. Returns the header; raises WeightsMismatchError naming
    the first lie. Reads only the 8-byte length and the header itself, so memory is bounded by the file's
    own (checked) header length."""
    import json
    import math

    path = Path(path)

    def bad(why: str) -> WeightsMismatchError:
        return WeightsMismatchError(f"{path}: not a readable safetensors file ({why})")

    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise bad(f"{size} bytes, shorter than the 8-byte header length")
            n = int.from_bytes(head, "little")
            if n > size - 8 or n > MAX_HEADER_BYTES:
                raise bad(f"header length {n} exceeds the file's {size - 8} remaining bytes"
                          + (" and the 100 MB limit" if n > MAX_HEADER_BYTES else ""))
            raw = fh.read(n)
    except OSError as e:
        raise WeightsMismatchError(f"{path}: cannot read ({e.strerror or e})") from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise bad(f"header is not JSON: {first_line(e)}") from None
    if not isinstance(header, dict):
        raise bad(f"header is a JSON {type(header).__name__}, not an object")
    data_size = size - 8 - n
    spans = []
    for key, info in header.items():
        if key == "__metadata__":
            if not (isinstance(info, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in info.items())):
                raise bad("__metadata__ must map strings to strings")
            continue
        if not isinstance(info, dict):
            raise bad(f"tensor {key!r}: entry is not an object")
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if not isinstance(dtype, str) or dtype not in SAFETENSORS_DTYPES:
            raise bad(f"tensor {key!r}: unknown dtype {dtype!r}")
        if not (isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)):
            raise bad(f"tensor {key!r}: shape {shape!r} is not a list of non-negative integers")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)
                and 0 <= offsets[0] <= offsets[1]):
            raise bad(f"tensor {key!r}: data_offsets {offsets!r} is not [begin, end] with 0 <= begin <= end")
        need = math.prod(shape) * SAFETENSORS_DTYPES[dtype]
        if offsets[1] - offsets[0] != need:
            raise bad(f"tensor {key!r}: {dtype}{shape} needs {need} bytes, its offsets span {offsets[1] - offsets[0]}")
        if offsets[1] > data_size:
            raise bad(f"tensor {key!r}: data_offsets end at {offsets[1]}, past the {data_size} data bytes")
        spans.append((offsets[0], offsets[1], key))
    spans.sort()
    for (_, end, a), (begin, _, b) in zip(spans, spans[1:]):
        if begin < end:
            raise bad(f"tensors {a!r} and {b!r} overlap")
    return header


def read_safetensors(path: str | Path, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """A safetensors file -> state dict; the header is checked first (check_safetensors_header), so a
    file that lies about its tensors fails in one line without allocating what it claims."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    check_safetensors_header(path)
    try:
        return load_file(str(path), device=str(device))
    except (SafetensorError, OSError, ValueError, TypeError, RuntimeError) as e:
        raise WeightsMismatchError(f"{path}: not a readable safetensors file ({first_line(e)})") from None


def load_into(net: torch.nn.Module, state: Mapping[str, torch.Tensor], what: str) -> None:
    """Strictly load `state` into `net`; a net on the meta device takes the tensors as they are."""
    expected = net.state_dict()
    check_state_dict(expected, state, what)
    on_meta = any(t.is_meta for t in expected.values())
    fixed = {k: torch.zeros((), dtype=torch.long) for k in expected if k.endswith(OPTIONAL_SUFFIX) and k not in state}
    for k, t in state.items():  # keep the model's dtypes (a fp16 file still loads into fp32 weights)
        want = expected[k].dtype
        fixed[k] = t if t.dtype == want else t.to(want)
    net.load_state_dict(fixed, strict=True, assign=on_meta)
    if on_meta:
        left = [n for n, t in list(net.named_parameters()) + list(net.named_buffers()) if t.is_meta]
        if left:
            raise WeightsMismatchError(f"{what}: tensors left uninitialised after loading: {', '.join(left[:4])}")


def save_safetensors(state: Mapping[str, torch.Tensor], path: str | Path, metadata: dict[str, str] | None = None) -> None:
    """Atomic write: a temp file in the same folder, then rename."""
    from safetensors.torch import save_file

    from zoo.fsutil import atomic_path

    tensors = {k: v.detach().contiguous().cpu() for k, v in state.items()}
    with atomic_path(path, ".safetensors") as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
