"""Testing plugins: the conformance kit (`plugin_checks`, also a pytest plugin and `zoo plugin check`) and the
scaffold behind `zoo plugin new`. Importing this package does not import torch."""

from __future__ import annotations

from zoo.testing.kit import Check, KitFailure, model_checks, plugin_checks

__all__ = ["Check", "KitFailure", "model_checks", "plugin_checks"]
