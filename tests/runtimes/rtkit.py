"""Helpers of the runtimes tests: the CLI in this process, one-line errors."""

from __future__ import annotations

import os
from pathlib import Path

# the same folder as tests/conftest.py's SHARED_DATA (../shared/data, or ZOO_TEST_DATA)
SHARED_DATA = Path(os.environ.get("ZOO_TEST_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"))


def one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]
