"""Where the zoo keeps its files, read at call time so tests and users can move them with environment variables.

Cache layout (ZOO_HOME, default: the user cache dir):
  weights/<model>/<tag>/model.safetensors   the converted weights the zoo loads
  weights/<model>/<tag>/lock.json           where they came from and how they were pinned
  weights/<model>/<tag>/.verified.json      the file's stat when its sha256 last matched (zoo.cache)
  weights/<model>/.<tag>.lock               one writer per entry (zoo.cache.entry_lock)
  downloads/<model>/<tag>/                  originals fetched by URL until converted (`.part` files resume)
  exports/<model>/<format>-<precision>-<key>/   exported networks and their export.json (zoo.runtimes)
  exports/.openvino-cache/                  OpenVINO's compiled-model cache
  optimize/<model>-bs<N>-<digest>.json      the fastest correct configuration found (zoo.bench.optimize)
  proposals/                                cached region proposals (zoo.ops.proposals)
Originals fetched from the Hub live in huggingface_hub's own cache (HF_HUB_CACHE / HF_HOME), torchvision's
that torch.hub already holds are read from its cache (TORCH_HOME).
"""

from __future__ import annotations

import os
from pathlib import Path

WEIGHTS_FILE = "model.safetensors"
LOCK_FILE = "lock.json"


def zoo_home() -> Path:
    """ZOO_HOME, else the platform's user cache folder for cvzoo."""
    env = os.environ.get("ZOO_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("cvzoo"))


def weights_root() -> Path:
    """ZOO_HOME/weights: nothing the zoo builds from a model name or tag may lie outside it."""
    return zoo_home() / "weights"


def safe_part(part: str, what: str) -> str:
    """`part` if it is one plain folder name; a name or tag that would leave its folder (empty, '.', '..',
    a separator, an absolute path, NUL) is an InputError, so no cache path can escape ZOO_HOME/weights."""
    from zoo.errors import InputError

    if (not isinstance(part, str) or part in ("", ".", "..") or part != part.strip() or "\0" in part
            or any(sep in part for sep in ("/", "\\", os.sep)) or os.path.isabs(part) or part.startswith(".")):
        raise InputError(f"{part!r}: not a usable {what} for the weights cache (one folder name: no '/', "
                         "no leading '.', not empty)")
    return part


def weights_dir(name: str, tag: str) -> Path:
    """The cache folder of one weights entry (model.safetensors + lock.json), checked to lie inside
    ZOO_HOME/weights whatever the name and tag hold."""
    from zoo.errors import InputError

    root = weights_root()
    out = root / safe_part(name, "model name") / safe_part(tag, "tag")
    if os.path.commonpath([os.path.normpath(out), os.path.normpath(root)]) != os.path.normpath(root):
        raise InputError(f"{name}.{tag}: the cache path {out} would lie outside {root}")
    return out


def downloads_dir(name: str, tag: str) -> Path:
    """ZOO_HOME/downloads/<model>/<tag>: one entry's originals fetched by URL, until converted."""
    return zoo_home() / "downloads" / safe_part(name, "model name") / safe_part(tag, "tag")


def hub_cache_dir() -> str | None:
    """The Hub cache folder, read at call time (huggingface_hub reads its env vars once, at import)."""
    return os.environ.get("HF_HUB_CACHE") or (os.path.join(os.environ["HF_HOME"], "hub") if os.environ.get("HF_HOME") else None)
