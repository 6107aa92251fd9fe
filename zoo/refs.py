"""Lazy "module:attribute" references, so specs name builders without importing torch."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from zoo.errors import SpecError


def resolve_ref(ref: str | Callable[..., Any], what: str = "builder") -> Callable[..., Any]:
    """Import `module:attr` (or return a callable unchanged)."""
    if callable(ref):
        return ref
    module_name, _, attr = ref.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as e:
        raise SpecError(f"{what} '{ref}' cannot be imported: {e}") from e
    if not callable(obj):
        raise SpecError(f"{what} '{ref}' is not callable")
    return obj
