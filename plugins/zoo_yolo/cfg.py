"""Darknet `.cfg` parsing: text -> sections with line numbers, read the way Darknet's read_cfg reads it.

Darknet removes every whitespace character from a line, skips blank lines and lines starting with
'#' or ';', opens a section at '[name]' and reads 'key=value' otherwise. Unlike Darknet (which
crashes or silently ignores), anything malformed here is a SpecError naming the file and line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.errors import SpecError

# Darknet's own aliases (parser.c, string_to_layer_type)
ALIASES = {"network": "net", "conv": "convolutional", "max": "maxpool", "avg": "avgpool", "soft": "softmax"}


@dataclass
class Section:
    """One `[type]` block: its options in file order, each with the line it came from."""

    type: str
    line: int
    source: str = "<cfg>"
    options: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)

    def error(self, message: str, key: str | None = None) -> SpecError:
        """A SpecError naming the option's line (or the section header's)."""
        line = self.lines.get(key, self.line) if key else self.line
        return SpecError(f"{self.source}:{line}: [{self.type}] {message}")

    def has(self, key: str) -> bool:
        return key in self.options

    def get_str(self, key: str, default: str | None = None) -> str:
        if key in self.options:
            return self.options[key]
        if default is None:
            raise self.error(f"needs '{key}='")
        return default

    def _typed(self, key: str, default: Any, convert: Callable[[str], Any], what: str) -> Any:
        if key not in self.options:
            if default is None:
                raise self.error(f"needs '{key}='")
            return default
        value = self.options[key]
        try:
            return convert(value)
        except ValueError:
            raise self.error(f"'{key}={value}' is not {what}", key) from None

    def get_int(self, key: str, default: int | None = None) -> int:
        return self._typed(key, default, int, "an integer")

    def get_float(self, key: str, default: float | None = None) -> float:
        return self._typed(key, default, float, "a number")

    def get_ints(self, key: str, default: list[int] | None = None) -> list[int]:
        """A comma-separated list of integers (Darknet tolerates a trailing comma; so do we)."""
        if key not in self.options:
            if default is None:
                raise self.error(f"needs '{key}='")
            return list(default)
        value = self.options[key]
        try:
            return [int(v) for v in value.split(",") if v != ""]
        except ValueError:
            raise self.error(f"'{key}={value}' is not a comma-separated list of integers", key) from None

    def get_floats(self, key: str) -> list[float]:
        value = self.get_str(key)
        try:
            return [float(v) for v in value.split(",") if v != ""]
        except ValueError:
            raise self.error(f"'{key}={value}' is not a comma-separated list of numbers", key) from None


def _darknet_strip(line: str) -> str:
    """Darknet's strip(): every space, tab and line-break character removed, not just at the ends."""
    return "".join(line.split())


def parse_cfg(text: str, source: str = "<cfg>") -> list[Section]:
    """Parse Darknet cfg text; the first section must be [net] (or [network])."""
    sections: list[Section] = []
    current: Section | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _darknet_strip(raw)
        if not line or line[0] in "#;":
            continue
        if line[0] == "[":
            if not line.endswith("]") or len(line) < 3 or "]" in line[1:-1] or "[" in line[1:-1]:
                raise SpecError(f"{source}:{number}: malformed section header {raw.strip()!r} (expected '[name]')")
            name = line[1:-1].lower()
            current = Section(ALIASES.get(name, name), number, source)
            sections.append(current)
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise SpecError(f"{source}:{number}: expected 'key=value' or '[section]', got {raw.strip()!r}")
        if not key:
            raise SpecError(f"{source}:{number}: option without a name: {raw.strip()!r}")
        if not value:
            raise SpecError(f"{source}:{number}: option '{key}' has no value")
        if current is None:
            raise SpecError(f"{source}:{number}: option '{key}' appears before the first [section]")
        if key in current.options:
            raise SpecError(f"{source}:{number}: option '{key}' repeated in [{current.type}] "
                            f"(first set on line {current.lines[key]})")
        current.options[key] = value
        current.lines[key] = number
    if not sections:
        raise SpecError(f"{source}: no sections found (a Darknet cfg starts with [net])")
    if sections[0].type != "net":
        raise SpecError(f"{source}:{sections[0].line}: the first section must be [net], got [{sections[0].type}]")
    return sections


def read_cfg(path: str | Path) -> list[Section]:
    """Parse a cfg file; unreadable files are SpecErrors too."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"{path}: cannot read Darknet cfg ({e})") from None
    return parse_cfg(text, path.name)


def format_cfg(sections: list[Section]) -> str:
    """Sections back to cfg text (options in their original order); parse_cfg(format_cfg(s)) == s."""
    out: list[str] = []
    for s in sections:
        out.append(f"[{s.type}]")
        out.extend(f"{k}={v}" for k, v in s.options.items())
        out.append("")
    return "\n".join(out)

