"""The core's own readers: safetensors files and PyTorch state-dict files (never unpickling code)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from zoo.errors import ConversionError
from zoo.weights import read_safetensors

WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net", "weights")


def read_safetensors_file(path: Path, spec: Any = None) -> dict[str, torch.Tensor]:
    return read_safetensors(path)


def load_tensors(path: str | Path) -> Any:
    """What a `.pth`/`.pt` file holds, read on the CPU with weights_only=True (the zoo's one torch.load):
    checkpoints that need code to unpickle are refused with one ConversionError."""
    try:
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:  # pickle errors come in many types; weights_only refuses code
        raise ConversionError(f"{path}: not a PyTorch checkpoint of plain tensors ({torch_load_reason(e)}; "
                              "files that need code to unpickle are refused)") from None


def read_pytorch_file(path: Path, spec: Any = None) -> dict[str, torch.Tensor]:
    """A `.pth`/`.pt` state dict read with weights_only=True; common wrappers and DDP prefixes removed."""
    obj = load_tensors(path)
    for key in WRAPPER_KEYS:
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ConversionError(f"{path}: holds no state dict of tensors")
    if obj and all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return dict(obj)


def torch_load_reason(e: Exception) -> str:
    """The informative part of torch.load's error (its weights_only advice does not apply: we never unpickle code)."""
    text = str(e)
    if "WeightsUnpickler error:" in text:
        text = text.split("WeightsUnpickler error:", 1)[1]
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("Check the documentation")]
    return lines[0] if lines else type(e).__name__


# What each file kind is called in messages, and which formats read it.
KIND_TEXT = {
    "zip": "a PyTorch checkpoint (torch.save zip archive)",
    "pickle": "a PyTorch checkpoint (legacy pickle)",
    "safetensors": "a safetensors file",
    "darknet": "Darknet weights",
    "text": "a text file, not a weights file",
    "empty": "an empty file",
    "folder": "a folder, not a weights file",
    "npy": "a NumPy .npy array file",
    "hdf5": "an HDF5 file (Keras?)",
    "gzip": "a gzip-compressed file (unpack it first)",
    "image": "an image, not a weights file",
}
READS = {"pytorch": ("zip", "pickle"), "safetensors": ("safetensors",), "darknet": ("darknet",)}
WANTS = {"pytorch": "a PyTorch checkpoint (.pth/.pt)", "safetensors": "a safetensors file",
         "darknet": "Darknet .weights"}


def sniff(path: Path) -> tuple[str, str]:
    """(kind, words) for a file from its first bytes: zip (torch.save), pickle (legacy torch.save), safetensors,
    darknet, text, empty, folder, ...; "unknown" when nothing matches (a plugin's own format, perhaps)."""
    import json
    import struct

    if path.is_dir():
        return "folder", KIND_TEXT["folder"]
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError as e:
        return "unknown", f"unreadable ({e.strerror or e})"
    if not head:
        return "empty", KIND_TEXT["empty"]
    if head[:4] == b"PK\x03\x04":
        return "zip", KIND_TEXT["zip"]
    if head[:1] == b"\x80" and 2 <= head[1] <= 5:
        return "pickle", KIND_TEXT["pickle"]
    for magic, kind in ((b"\x93NUMPY", "npy"), (b"\x89HDF", "hdf5"), (b"\x1f\x8b", "gzip"), (b"\xff\xd8\xff", "image"),
                        (b"\x89PNG", "image")):
        if head.startswith(magic):
            return kind, KIND_TEXT[kind]
    if len(head) >= 9:
        n = struct.unpack_from("<Q", head, 0)[0]
        if head[8:9] == b"{" and 8 + n <= size:
            try:
                json.loads(head[8:8 + n].decode("utf-8")) if 8 + n <= len(head) else None
                return "safetensors", KIND_TEXT["safetensors"]
            except (UnicodeDecodeError, ValueError):
                pass
    if len(head) >= 16:
        major, minor, revision = struct.unpack_from("<3i", head, 0)
        if 0 <= major < 10 and 0 <= minor < 100 and 0 <= revision < 1000:
            header = 20 if major * 10 + minor >= 2 else 16
            if size > header and (size - header) % 4 == 0:
                return "darknet", f"Darknet weights (version {major}.{minor}.{revision})"
    sample = head[:1024]
    try:
        text = sample.decode("utf-8")
        if all(c.isprintable() or c in "\r\n\t" for c in text):
            return "text", KIND_TEXT["text"]
    except UnicodeDecodeError:
        pass
    return "unknown", "a file of unknown format"


def reader_kind(fmt: str) -> str | None:
    """The file kind a converter format reads ("pytorch-torchvision" reads pytorch files), None if unknown."""
    base = fmt.split("-")[0]
    return base if base in READS else None


def check_kind(path: Path, fmt: str) -> None:
    """Refuse a file whose kind the format cannot read, saying what the file is and what was expected (instead
    of the reader's confusing error: "Darknet cfg not found", "transposed Darknet weights (version 67324752)")."""
    kind, words = sniff(path)
    want = reader_kind(fmt)
    if kind in ("unknown",) or (want is not None and kind in READS[want]):
        return
    if want is None and kind not in ("text", "empty", "folder", "image"):
        return  # a plugin's format: its reader knows best
    expected = WANTS.get(want or "", f"a '{fmt}' checkpoint")
    raise ConversionError(f"{path}: {words}; format '{fmt}' expects {expected}")


def check_importable(path: Path, formats: list[str]) -> None:
    """Refuse a file none of a model's formats can read (e.g. Darknet weights for a ResNet), naming both."""
    kind, words = sniff(path)
    if kind == "unknown":
        return
    wants = [reader_kind(f) for f in formats]
    if any(w is None for w in wants) and kind not in ("text", "empty", "folder", "image"):
        return
    if any(w is not None and kind in READS[w] for w in wants):
        return
    names = [WANTS[w] for w in dict.fromkeys(w for w in wants if w is not None)]
    raise ConversionError(f"{path}: {words}; expected {' or '.join(names) or 'a weights file'}")


def guess_format(path: Path) -> str:
    """The generic reader for a file: from its first bytes, then its suffix."""
    kind, _ = sniff(path)
    for fmt, kinds in READS.items():
        if kind in kinds:
            return fmt
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        return "safetensors"
    if suffix in (".pth", ".pt", ".bin", ".ckpt", ".tar"):
        return "pytorch"
    if suffix == ".weights":
        return "darknet"
    return "safetensors"
