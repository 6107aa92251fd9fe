"""`zoo bench`'s progress bar: rich, on stderr, redrawn only when the harness reports between rows (no refresh
thread while timing)."""

from __future__ import annotations

from typing import Any

from zoo.bench.progress import BenchProgress


class RichBenchProgress(BenchProgress):
    def __init__(self) -> None:
        self._p: Any = None
        self._task: Any = None

    def start(self, total: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from zoo.cli.output import console

        self._p = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                           console=console(stderr=True), auto_refresh=False, transient=True)
        self._p.start()
        self._task = self._p.add_task("zoo bench", total=total)
        self._p.refresh()

    def describe(self, text: str) -> None:
        if self._p is not None:
            self._p.update(self._task, description=text)
            self._p.refresh()

    def advance(self, n: int = 1) -> None:
        if self._p is not None:
            self._p.advance(self._task, n)
            self._p.refresh()

    def close(self) -> None:
        if self._p is not None:
            self._p.stop()
            self._p = None
