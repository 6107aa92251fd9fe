"""Rendering helpers: rich tables on stderr-friendly consoles, JSON documents on stdout."""

from __future__ import annotations

import json
import sys
from typing import Any


def emit_json(data: Any) -> None:
    """One JSON document on stdout."""
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def console(stderr: bool = False) -> Any:
    import shutil

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else max(shutil.get_terminal_size((160, 24)).columns, 160)
    return Console(stderr=stderr, highlight=False, soft_wrap=False, width=width)


def table(title: str | None, columns: list[str], rows: list[list[Any]], stderr: bool = False) -> None:
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=escape(title) if title else None, show_lines=False, header_style="bold")
    for c in columns:
        t.add_column(escape(c), overflow="fold")
    for r in rows:  # cell text is data, never rich markup ("[darknet]" must print as is)
        t.add_row(*["" if v is None else escape(str(v)) for v in r])
    console(stderr).print(t)


def human_count(n: float | None) -> str:
    if n is None:
        return ""
    for unit, div in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.1f}{unit}"
    return f"{n:g}"


def human_bytes(n: float | None) -> str:
    """Binary units named as such (MiB = 2**20 bytes): every command reports sizes through this one."""
    if n is None:
        return ""
    for unit, div in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(n) >= div:
            return f"{n / div:.1f} {unit}"
    return f"{int(n)} B"


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 model', '2 models' (and '1 weights entry', '3 weights entries' with `many`)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"
