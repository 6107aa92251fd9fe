"""Issue 25: stylize and dream check their output path, sizes and weights before any work (one line, exit 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from clikit import zoo_in_process


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """The optimisations themselves fail the test if they start: every check must come first."""
    def started(*_a: Any, **_k: Any) -> None:
        raise AssertionError("the work started before the check")

    monkeypatch.setattr("zoo_art.style.stylize", started)
    monkeypatch.setattr("zoo_art.dream.dream", started)


@pytest.mark.parametrize("args, needle", [
    (["stylize", "IMG", "IMG", "--out", "OUT/x.xyz"], "cannot write a '.xyz' image"),
    (["stylize", "IMG", "IMG", "--out", "OUT/no/x.png"], "does not exist"),
    (["stylize", "IMG", "IMG", "--size", "8"], "would be 5x8: VGG-19's style layers need at least 16 pixels"),
    (["stylize", "IMG", "IMG", "--style-weight", "-5"], "--style-weight must be at least 0, got -5.0"),
    (["dream", "IMG", "--out", "OUT/x.txt"], "cannot write a '.txt' image"),
    (["dream", "IMG", "--octaves", "20", "--size", "128"], "the smallest octave would be 1x1, too small for googlenet"),
])
def test_checked_before_any_work(args: list[str], needle: str, no_work: None, shared_images: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    args = [a.replace("IMG", str(shared_images / "chelsea.png")).replace("OUT", str(tmp_path)) for a in args]
    code, _, err = zoo_in_process(capsys, *args)
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("warning:")]
    assert code == 2 and len(lines) == 1 and needle in lines[0], err
    assert list(tmp_path.iterdir()) == []
