"""Counted figures of the trust tests (issue 16's closing note): each process writes what it tried, and the
run's summary adds them up, with or without xdist."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

FIGURES = Path(__file__).resolve().parents[2] / ".pytest_cache" / "trust-figures"


def pytest_sessionstart(session: pytest.Session) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER") and FIGURES.is_dir():
        for f in FIGURES.glob("*.json"):
            f.unlink()


def pytest_sessionfinish(session: pytest.Session) -> None:
    from hostile import TRIED

    if TRIED:
        FIGURES.mkdir(parents=True, exist_ok=True)
        (FIGURES / f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.json").write_text(json.dumps(TRIED))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    total: Counter[str] = Counter()
    for f in sorted(FIGURES.glob("*.json")) if FIGURES.is_dir() else []:
        total.update(json.loads(f.read_text()))
    if total:
        terminalreporter.section("trust figures (issue 16): inputs tried, zero tracebacks")
        for k, v in sorted(total.items()):
            terminalreporter.write_line(f"{k:32s} {v}")
