"""Whether an exporter is tracing the network right now, for the few ops whose fastest eager form no
exporter takes (in-place writes into views, torch.cummax, custom autograd Functions): a family takes an
equal, exportable form while this is true and keeps its eager form otherwise."""

from __future__ import annotations

import torch


def is_exporting() -> bool:
    """True inside torch.jit.trace / torch.onnx.export (either exporter) / torch.export.export (OpenVINO's
    converter traces with one of them too)."""
    return bool(torch.jit.is_tracing() or torch.onnx.is_in_onnx_export() or torch.compiler.is_exporting())
