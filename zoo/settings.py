"""Settings read from the environment at call time: the base layer's switches (offline, verify mode), so that
any layer can ask them without importing the weights layer that acts on them."""

from __future__ import annotations

import os

TRUTHY = {"1", "true", "yes", "on"}
OFFLINE_VARIABLES = ("ZOO_OFFLINE", "HF_HUB_OFFLINE")  # HF_HUB_OFFLINE: huggingface_hub's own switch
VERIFY_MODES = ("auto", "always", "never")


def is_offline() -> bool:
    """True when the user said so (ZOO_OFFLINE or HF_HUB_OFFLINE): no download is tried at all."""
    return any(os.environ.get(v, "").strip().lower() in TRUTHY for v in OFFLINE_VARIABLES)


def verify_mode() -> str:
    """ZOO_VERIFY: auto (default: re-hash when size, mtime or inode changed since the last match),
    always (hash on every load), never (trust the cache: `zoo info` and bench reports say so)."""
    from zoo.errors import InputError

    mode = os.environ.get("ZOO_VERIFY", "").strip().lower() or "auto"
    if mode not in VERIFY_MODES:
        raise InputError(f"ZOO_VERIFY={os.environ['ZOO_VERIFY']!r}: expected one of {', '.join(VERIFY_MODES)}")
    return mode
