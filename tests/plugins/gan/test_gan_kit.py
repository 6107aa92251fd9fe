"""The conformance kit (zoo.testing) over the gan family: plugin checks and every model's spec and meta-device
build; the full model checks (forward, predict result type and JSON, weights round trip) on the light models
(the heavy ones' forward and predict paths are covered by the parity tests at reduced width)."""

from __future__ import annotations

import pytest

from zoo.testing.kit import KitFailure, plugin_checks

LIGHT_GMACS = 1.0  # dcgan-64: the full checks; BigGAN (9-38 GMACs) and CycleGAN (50) get spec + meta build


@pytest.mark.parametrize("check", plugin_checks("gan", max_gmacs=LIGHT_GMACS), ids=str)
def test_gan_family_passes_the_kit(check: object) -> None:
    try:
        check()  # type: ignore[operator]
    except KitFailure as e:
        pytest.fail(str(e))
