"""Fixtures of the report tests (tests/report/reportkit.py holds the bench-report builders)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # reportkit, as tests/clikit.py is for the top-level tests
ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("ZOO_TEST_DATA", ROOT.parent / "shared" / "data"))  # as tests/conftest.py


@pytest.fixture
def shared_data_or_none() -> Path | None:
    """The shared data folder when it is here (real weights and photos), else None (the tests run, drawing less)."""
    return SHARED_DATA if (SHARED_DATA / "yolov3-tiny.weights").is_file() else None
