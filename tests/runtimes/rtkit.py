"""Helpers of the runtimes tests: the CLI in this process, one-line errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# the same folder as tests/conftest.py's SHARED_DATA (../shared/data, or ZOO_TEST_DATA)
SHARED_DATA = Path(os.environ.get("ZOO_TEST_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"))


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`zoo ARGS` in this process: (exit code, stdout, stderr)."""
    from zoo.cli import main

    try:
        main(list(args))
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]
