"""Corner pooling (CornerNet, Law & Deng 2018) as cumulative maxima, with the reference's gradients.

The princeton-vl reference implements the four pools as C++ extensions (models/py_utils/_cpools/src/*.cpp):

  top pool     out[.., i, :] = max(x[.., i:, :])   scan from the bottom row upwards (dim H, reversed)
  bottom pool  out[.., i, :] = max(x[.., :i+1, :]) scan from the top row downwards  (dim H)
  left pool    out[.., :, j] = max(x[.., :, j:])   scan from the right column        (dim W, reversed)
  right pool   out[.., :, j] = max(x[.., :, :j+1]) scan from the left column         (dim W)

A top-left corner module adds top + left pools, a bottom-right one bottom + right pools.

Forward here is one `torch.cummax` over the (flipped) scan direction. Backward follows the C++ backward:
the gradient of out[i] goes to the position of the running maximum, and on ties the reference keeps the
*first* maximum in scan order (it updates on `input > max` only). `torch.cummax`'s own indices point to
the *last* tie, which matters here: the pools' inputs come out of a ReLU, so zeros tie all the time. The
backward therefore recomputes first-occurrence indices (a running maximum of the positions where a strict
new maximum starts) and scatter-adds the gradient there. Everything is vectorised: no loop over pixels.

Speed on CPU (benchmarks/cornernet_pools.py, torch 2.14, 1 thread): cummax along W (the contiguous dimension)
beats the reference-style loop of one `max` per column about 2x, but cummax along H is a strided scalar scan
and loses to the loop of one `max` per row (whole contiguous rows) by about 20x at 128x128, so the four pools
together run at about 0.5-0.7x the loop's speed. The pools are about 1% of a CornerNet forward either way.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from zoo.ops.tracing import is_exporting

# direction -> (dim, reversed scan)
DIRECTIONS: dict[str, tuple[int, bool]] = {"top": (2, True), "bottom": (2, False), "left": (3, True), "right": (3, False)}


def _scan_order(x: torch.Tensor, dim: int, reverse: bool) -> torch.Tensor:
    return x.flip(dim) if reverse else x


def _first_argmax(xs: torch.Tensor, run: torch.Tensor, dim: int) -> torch.Tensor:
    """Index (in scan order) of the first element that reached each running maximum `run` of `xs`."""
    n = xs.shape[dim]
    prev = run.narrow(dim, 0, n - 1)
    first = torch.ones_like(xs.narrow(dim, 0, 1), dtype=torch.bool)
    new_max = torch.cat([first, xs.narrow(dim, 1, n - 1) > prev], dim)
    shape = [1] * xs.ndim
    shape[dim] = n
    pos = torch.arange(n, device=xs.device).view(shape)
    return torch.where(new_max, pos, torch.zeros_like(pos)).cummax(dim).values


class _CornerPool(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, dim: int, reverse: bool) -> torch.Tensor:
        xs = _scan_order(x, dim, reverse)
        run = xs.cummax(dim).values
        ctx.save_for_backward(x)
        ctx.dim, ctx.reverse = dim, reverse
        return _scan_order(run, dim, reverse)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (x,) = ctx.saved_tensors
        dim, reverse = ctx.dim, ctx.reverse
        xs = _scan_order(x, dim, reverse)
        idx = _first_argmax(xs, xs.cummax(dim).values, dim)
        gs = torch.zeros_like(xs).scatter_add_(dim, idx, _scan_order(grad, dim, reverse).contiguous())
        return _scan_order(gs, dim, reverse), None, None


def corner_pool(x: torch.Tensor, direction: str) -> torch.Tensor:
    """One of the four directional pools of an NCHW tensor (`top`, `bottom`, `left`, `right`).

    While an exporter traces the network (ONNX, OpenVINO, TorchScript, torch.export) it takes `scan_max`
    instead: ONNX has no cummax and torch.onnx cannot export `flip`, and neither exporter sees through a
    custom autograd Function. Both give the same values (max is exact); eager keeps cummax (and its backward)."""
    dim, reverse = DIRECTIONS[direction]
    if is_exporting():
        return scan_max(x, dim, reverse)
    return _CornerPool.apply(x, dim, reverse)


def scan_max(x: torch.Tensor, dim: int, reverse: bool) -> torch.Tensor:
    """Running maximum along `dim` (from the end when `reverse`) by doubling: ceil(log2 n) steps of
    max(x, x shifted by 1, 2, 4, ...), with slices, concatenation and maximum only, which every exporter
    and runtime takes. The shifted-in values are the edge's own (a max with itself changes nothing)."""
    n = x.shape[dim]
    step = 1
    while step < n:
        if reverse:  # out[i] = max(x[i:]): bring x[i + step] to i
            shifted = torch.cat([x.narrow(dim, step, n - step), x.narrow(dim, n - step, step)], dim)
        else:  # out[i] = max(x[:i + 1]): bring x[i - step] to i
            shifted = torch.cat([x.narrow(dim, 0, step), x.narrow(dim, 0, n - step)], dim)
        x = torch.maximum(x, shifted)
        step *= 2
    return x


class DirectionalPool(nn.Module):
    """`corner_pool` as a module (no parameters), so forward hooks and profilers can see it."""

    def __init__(self, direction: str):
        super().__init__()
        if direction not in DIRECTIONS:
            raise ValueError(f"unknown pool direction '{direction}' ({', '.join(DIRECTIONS)})")
        self.direction = direction

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return corner_pool(x, self.direction)

    def extra_repr(self) -> str:
        return self.direction


# ---------------------------------------------------------------------------------------------- loop reference
class _LoopPool(torch.autograd.Function):
    """A line-by-line port of the reference C++ forward and backward loops (one row/column at a time):
    the oracle for tests and the baseline for benchmarks/cornernet_pools.py. Not used by the models."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, dim: int, reverse: bool) -> torch.Tensor:
        n = x.shape[dim]
        order = list(range(n - 1, -1, -1)) if reverse else list(range(n))
        out = torch.zeros_like(x)
        out.select(dim, order[0]).copy_(x.select(dim, order[0]))
        for prev, cur in zip(order, order[1:]):
            torch.max(x.select(dim, cur), out.select(dim, prev), out=out.select(dim, cur))
        ctx.save_for_backward(x)
        ctx.dim, ctx.reverse = dim, reverse
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (x,) = ctx.saved_tensors
        dim, reverse = ctx.dim, ctx.reverse
        n = x.shape[dim]
        order = list(range(n - 1, -1, -1)) if reverse else list(range(n))
        out = torch.zeros_like(x)
        max_val = x.select(dim, order[0]).clone()
        max_ind = torch.full_like(max_val, order[0], dtype=torch.long)
        out.select(dim, order[0]).copy_(grad.select(dim, order[0]))
        for cur in order[1:]:
            row = x.select(dim, cur)
            gt = row > max_val
            max_val = torch.where(gt, row, max_val)
            max_ind = torch.where(gt, torch.full_like(max_ind, cur), max_ind)
            out.scatter_add_(dim, max_ind.unsqueeze(dim), grad.select(dim, cur).unsqueeze(dim).contiguous())
        return out, None, None


def loop_corner_pool(x: torch.Tensor, direction: str) -> torch.Tensor:
    """The reference's loop semantics, forward and backward (for tests and benchmarks)."""
    dim, reverse = DIRECTIONS[direction]
    return _LoopPool.apply(x, dim, reverse)
