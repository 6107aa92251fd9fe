"""What `zoo bench` runs: names, fnmatch patterns, ZooModel objects and a task, expanded and checked
before anything is timed (an unknown name fails at once, with did-you-mean)."""

from __future__ import annotations

from typing import Any

from zoo.errors import InputError


def expand_models(models: Any, task: str | None = None, registry: Any = None) -> list[Any]:
    """Names, fnmatch patterns, ZooModel objects and a task -> the list to benchmark (names checked now)."""
    from zoo.model import ZooModel
    from zoo.plugin_manager import default_registry

    reg = default_registry() if registry is None else registry
    items: list[Any] = []
    if models is None:
        models = []
    elif isinstance(models, (str, ZooModel)):
        models = [models]
    for m in models:
        if isinstance(m, ZooModel):
            items.append(m)
        elif any(c in str(m) for c in "*?["):
            found = reg.list(str(m))
            if not found:
                raise InputError(f"no model matches '{m}'; see 'zoo list'")
            items.extend(found)
        else:
            reg.resolve(str(m))  # UnknownModelError with did-you-mean, before anything runs
            items.append(str(m))
    if task is not None:
        if task not in {t.name for t in reg.tasks()}:
            raise InputError(f"unknown task '{task}' ({', '.join(t.name for t in reg.tasks())})")
        found = reg.list(task=task)
        if not found:
            raise InputError(f"no registered model has task '{task}'")
        items.extend(n for n in found if n not in items)
    if not items:
        raise InputError("nothing to benchmark: give model names or a task")
    return items
