"""The stored searches: one JSON file per search key in ZOO_HOME/optimize (zoo.optimized reads the choices
back for `zoo.load(..., optimize=...)`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zoo.bench.optimize.result import OptimizeResult
from zoo.optimized import Candidate, choice_path, device_name


def cache_key(model: str, weights: str, dev: Any, batch_size: int, size: tuple[int, int] | None,
              stage1: Sequence[Candidate], modes: Sequence[str]) -> dict[str, Any]:
    """What a choice is valid for; the candidate set is part of it, so a wider search is not answered by a
    narrower one."""
    import torch

    return {"model": model, "weights": weights, "device": dev.type, "device_name": device_name(dev),
            "batch_size": batch_size, "input_size": list(size) if size else None, "torch": torch.__version__,
            "candidates": [c.label for c in stage1], "compile_modes": list(modes)}


def load_cached(key: dict[str, Any]) -> OptimizeResult | None:
    """The stored search for `key`, or None (missing, unreadable or for another key: searched again)."""
    import json

    try:
        data = json.loads(choice_path(key).read_text(encoding="utf-8"))
        if data.get("key") != key:
            return None
        res = OptimizeResult.from_dict(data["result"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    res.from_cache = True
    return res


def save_cached(key: dict[str, Any], res: OptimizeResult) -> Path | None:
    """Written atomically (zoo.fsutil); a read-only ZOO_HOME costs the cache, not the answer."""
    from zoo.fsutil import write_json_atomic

    path = choice_path(key)
    try:
        write_json_atomic(path, {"key": key, "result": res.to_dict()})
    except OSError:
        return None
    return path
