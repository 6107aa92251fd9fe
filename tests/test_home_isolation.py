"""No test reaches the user's real cache: module-scoped fixtures run before the per-test ZOO_HOME, so the
session one (conftest's session_home) must already be in place when they do."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def home_seen_by_a_module_fixture() -> str | None:
    return os.environ.get("ZOO_HOME")


def test_module_fixtures_see_a_temporary_zoo_home(home_seen_by_a_module_fixture: str | None,
                                                  tmp_path_factory: pytest.TempPathFactory) -> None:
    assert home_seen_by_a_module_fixture is not None
    assert Path(home_seen_by_a_module_fixture).is_relative_to(tmp_path_factory.getbasetemp())
    assert os.environ.get("ZOO_OFFLINE") == "1"
