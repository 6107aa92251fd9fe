"""The conformance kit (zoo.testing) over the cornernet family: plugin loading, a torch-free hook module, spec
metadata and meta-device builds. Both models are above the kit's 40-GMAC budget, so their CPU forward,
predict and weights round-trip checks are left to the family's own tests (test_cornernet_cli.py,
test_cornernet_convert.py), which run them at small input sizes."""

from __future__ import annotations

import pytest

from zoo.testing.kit import KitFailure, plugin_checks


@pytest.mark.parametrize("check", plugin_checks("cornernet", max_gmacs=40.0), ids=str)
def test_cornernet_passes_the_kit(check: object) -> None:
    try:
        check()  # type: ignore[operator]
    except KitFailure as e:
        pytest.fail(str(e))
