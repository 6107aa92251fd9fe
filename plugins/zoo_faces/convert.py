"""facenet-pytorch checkpoints -> the zoo's layouts.

MTCNN: facenet-pytorch ships three plain state dicts, `data/pnet.pt`, `rnet.pt`, `onet.pt`, whose keys are
the module names kept in zoo_faces.mtcnn; they land under `pnet.`, `rnet.`, `onet.`. `zoo import mtcnn DIR`
hands over the folder holding the three files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from zoo.convert.formats import read_pytorch_file
from zoo.errors import ConversionError, WeightsMismatchError

MTCNN_FILES = ("pnet.pt", "rnet.pt", "onet.pt")  # facenet_pytorch/data/, one per stage


def read_mtcnn_folder(path: str | Path, spec: Any = None, target: dict[str, torch.Size] | None = None
                      ) -> dict[str, torch.Tensor]:
    """A folder with facenet-pytorch's pnet.pt, rnet.pt and onet.pt -> one state dict (pnet.*, rnet.*, onet.*)."""
    folder = Path(path)
    if not folder.is_dir():
        raise ConversionError(f"{folder}: MTCNN weights are three files; give the folder holding "
                              f"{', '.join(MTCNN_FILES)} (facenet_pytorch/data in the facenet-pytorch wheel)")
    missing = [name for name in MTCNN_FILES if not (folder / name).is_file()]
    if missing:
        raise ConversionError(f"{folder}: missing {', '.join(missing)} (MTCNN needs {', '.join(MTCNN_FILES)})")
    out: dict[str, torch.Tensor] = {}
    for name in MTCNN_FILES:
        prefix = name.split(".")[0]
        for key, value in read_pytorch_file(folder / name, spec).items():
            out[f"{prefix}.{key}"] = value
    if target is not None:
        _check(out, target, str(folder))
    return out


def _check(state: dict[str, torch.Tensor], target: dict[str, torch.Size], where: str) -> None:
    """The core's key and shape check (zoo.weights.check_state_dict), said as a converter error."""
    from zoo.weights import check_state_dict

    try:
        check_state_dict({k: torch.empty(shape, device="meta") for k, shape in target.items()}, state, where)
    except WeightsMismatchError as e:
        raise ConversionError(f"not facenet-pytorch's layout: {e}") from None


def read_facenet_inception(path: str | Path, spec: Any = None, target: dict[str, torch.Size] | None = None
                           ) -> dict[str, torch.Tensor]:
    """facenet-pytorch's InceptionResnetV1 state dict (20180402-114759-vggface2.pt, 20180408-102900-casia-webface.pt)
    -> the zoo's layout: the same keys without `logits.*`, the training-time identity classifier."""
    state = read_pytorch_file(Path(path), spec)
    if "last_linear.weight" not in state or "conv2d_1a.conv.weight" not in state:
        raise ConversionError(f"{path}: not a facenet-pytorch InceptionResnetV1 checkpoint (no conv2d_1a / last_linear)")
    out = {k: v for k, v in state.items() if not k.startswith("logits.")}
    if target is not None:
        _check(out, target, str(path))
    return out
