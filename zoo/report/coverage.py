"""The export coverage row of a model page: per format, whether it was exported or ran on this machine (the
exports cache, bench rows on runtime backends) and, where it failed, the one-line reason recorded."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from zoo.report.history import Measurement

FORMATS = ("onnx", "openvino", "torchscript", "pt2")  # zoo.runtimes.FORMATS (not imported: it pulls in torch)
BACKEND_FORMAT = {"onnxruntime": "onnx", "openvino": "openvino", "torchscript": "torchscript", "pt2": "pt2"}


@dataclass(frozen=True)
class Cell:
    format: str
    state: str  # "yes", "no", "untried"
    text: str


def coverage_row(model: str, measurements: Iterable[Measurement], exported: Iterable[tuple[str, str]]) -> list[Cell]:
    """One cell per format: `exported` holds (format, precision) pairs found in the exports cache."""
    ok: dict[str, set[str]] = {f: set() for f in FORMATS}
    failed: dict[str, str] = {}
    for fmt, precision in exported:
        if fmt in ok:
            ok[fmt].add(f"{precision} (exports cache)")
    for m in measurements:
        fmt = BACKEND_FORMAT.get(m.backend)
        if m.model != model or fmt is None:
            continue
        if m.ok:
            ok[fmt].add(f"{m.precision} (bench, {m.machine})")
        elif m.error and fmt not in failed:
            failed[fmt] = m.error
    cells = []
    for fmt in FORMATS:
        if ok[fmt]:
            cells.append(Cell(fmt, "yes", "yes: " + ", ".join(sorted(ok[fmt]))))
        elif fmt in failed:
            cells.append(Cell(fmt, "no", f"no: {failed[fmt]}"))
        else:
            cells.append(Cell(fmt, "untried", f"not tried here (zoo export {model} --format {fmt})"))
    return cells
