"""The harness's progress bar: rich, on stderr, redrawn only between rows (no refresh thread while timing)."""

from __future__ import annotations

from typing import Any


class BenchProgress:
    """A rich progress bar on stderr that only redraws between rows (no refresh thread while timing)."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled = enabled
        self.total = total
        self._p: Any = None
        self._task: Any = None

    def __enter__(self) -> BenchProgress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._p = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                               TimeElapsedColumn(), console=Console(stderr=True), auto_refresh=False,
                               transient=True)
            self._p.__enter__()
            self._task = self._p.add_task("zoo bench", total=self.total)
            self._p.refresh()
        return self

    def describe(self, text: str) -> None:
        if self._p is not None:
            self._p.update(self._task, description=text)
            self._p.refresh()

    def advance(self, n: int = 1) -> None:
        if self._p is not None:
            self._p.advance(self._task, n)
            self._p.refresh()

    def __exit__(self, *exc: Any) -> None:
        if self._p is not None:
            self._p.__exit__(*exc)
