"""Where the zoo keeps its files, read at call time so tests and users can move them with environment variables.

Cache layout (ZOO_HOME, default: the user cache dir):
  weights/<model>/<tag>/model.safetensors   the converted weights the zoo loads
  weights/<model>/<tag>/lock.json           where they came from and how they were pinned
  proposals/                                cached region proposals (zoo.ops.proposals)
Originals fetched from the Hub live in huggingface_hub's own cache (HF_HUB_CACHE / HF_HOME).
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


def weights_dir(name: str, tag: str) -> Path:
    """The cache folder of one weights entry (model.safetensors + lock.json)."""
    return zoo_home() / "weights" / name / tag


def hub_cache_dir() -> str | None:
    """The Hub cache folder, read at call time (huggingface_hub reads its env vars once, at import)."""
    return os.environ.get("HF_HUB_CACHE") or (os.path.join(os.environ["HF_HOME"], "hub") if os.environ.get("HF_HOME") else None)
