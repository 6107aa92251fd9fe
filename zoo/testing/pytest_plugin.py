"""pytest plugin (entry point `pytest11`: zoo): a test that takes a `zoo_check` argument runs once per
conformance check of the plugin its module names in `ZOO_PLUGIN`:

    ZOO_PLUGIN = "zoo_mobilenet"      # entry-point name, module or distribution

    def test_conformance(zoo_check):
        zoo_check()

Optional module variables: `ZOO_MODELS` (a list: check only these models), `ZOO_IMAGE` (predict on this file).
"""

from __future__ import annotations

from typing import Any


def pytest_generate_tests(metafunc: Any) -> None:
    if "zoo_check" not in metafunc.fixturenames:
        return
    plugin = getattr(metafunc.module, "ZOO_PLUGIN", None)
    if not plugin:
        raise ValueError(f"{metafunc.module.__name__}: set ZOO_PLUGIN = '<plugin name>' to use the zoo_check fixture")
    from zoo.testing.kit import plugin_checks

    checks = plugin_checks(plugin, getattr(metafunc.module, "ZOO_IMAGE", None),
                           getattr(metafunc.module, "ZOO_MODELS", None))
    metafunc.parametrize("zoo_check", checks, ids=[c.id for c in checks])
