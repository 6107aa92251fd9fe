"""What the harness reports as it runs (rows done, what it is doing now). The library draws nothing: this base
class ignores every call, and `zoo bench` passes a subclass that draws a bar (zoo.cli.bench_progress)."""

from __future__ import annotations

from typing import Any


class BenchProgress:
    """Called between rows only (never while timing): start(total rows), describe(what runs now), advance(rows)."""

    def start(self, total: int) -> None:
        """The run has `total` rows."""

    def describe(self, text: str) -> None:
        """What the harness does now ("resnet50: building", "resnet50 bs=8 forward")."""

    def advance(self, n: int = 1) -> None:
        """`n` more rows are done."""

    def close(self) -> None:
        """The run ended (normally or not)."""

    def __enter__(self) -> BenchProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
