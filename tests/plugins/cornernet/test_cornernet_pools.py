"""Corner pooling: the cummax pools equal the reference's loops (a port of its C++ extension), forward and
backward, including the ties a ReLU makes; and both equal a per-element definition on a tiny tensor."""

from __future__ import annotations

import pytest
import torch

from zoo_cornernet.pools import DIRECTIONS, DirectionalPool, corner_pool, loop_corner_pool


def _naive(x: torch.Tensor, direction: str) -> torch.Tensor:
    """out at (i, j) by its definition: the max over the rest of the column/row in the pool's direction."""
    out = torch.empty_like(x)
    h, w = x.shape[-2:]
    for i in range(h):
        for j in range(w):
            region = {"top": x[..., i:, j], "bottom": x[..., :i + 1, j],
                      "left": x[..., i, j:], "right": x[..., i, :j + 1]}[direction]
            out[..., i, j] = region.amax(-1)
    return out


@pytest.mark.parametrize("direction", list(DIRECTIONS))
def test_forward_matches_the_definition_on_a_small_tensor(direction: str) -> None:
    x = torch.randn(2, 3, 5, 7, generator=torch.Generator().manual_seed(0))
    expected = _naive(x, direction)
    assert torch.equal(corner_pool(x, direction), expected)
    assert torch.equal(loop_corner_pool(x, direction), expected)


@pytest.mark.parametrize("relu", [False, True], ids=["continuous", "relu-ties"])
@pytest.mark.parametrize("direction", list(DIRECTIONS))
def test_forward_and_backward_match_the_reference_loops(direction: str, relu: bool) -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 4, 13, 11, generator=g)
    if relu:  # the pools see ReLU outputs: many exact zeros, and ties between equal maxima
        x = torch.relu(x)
        x[:, :, 3:6, 2:5] = 0.75
    up = torch.randn(2, 4, 13, 11, generator=g)
    a = x.clone().requires_grad_()
    b = x.clone().requires_grad_()
    out_a, out_b = corner_pool(a, direction), loop_corner_pool(b, direction)
    assert torch.equal(out_a, out_b)
    (out_a * up).sum().backward()
    (out_b * up).sum().backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=0, atol=1e-6)
    assert a.grad.sum().item() == pytest.approx(up.sum().item(), abs=1e-3)  # every output's gradient lands once


@pytest.mark.parametrize("direction", list(DIRECTIONS))
def test_gradient_without_ties_is_the_autograd_of_the_definition(direction: str) -> None:
    x = torch.randn(1, 2, 6, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(2), requires_grad=True)
    torch.autograd.gradcheck(lambda t: corner_pool(t, direction), (x,))
    y = x.detach().clone().requires_grad_()
    _naive(y, direction).sum().backward()
    corner_pool(x, direction).sum().backward()
    torch.testing.assert_close(x.grad, y.grad)


def test_tie_goes_to_the_first_maximum_in_scan_order() -> None:
    x = torch.tensor([[[[1.0], [3.0], [3.0], [2.0]]]], requires_grad=True)  # one column, H = 4
    corner_pool(x, "bottom").sum().backward()  # scans top -> bottom: row 1 is the first 3
    assert x.grad.flatten().tolist() == [1.0, 3.0, 0.0, 0.0]
    x.grad = None
    corner_pool(x, "top").sum().backward()  # scans bottom -> top: row 2 is the first 3
    assert x.grad.flatten().tolist() == [0.0, 0.0, 3.0, 1.0]


def test_module_and_inference_mode() -> None:
    x = torch.randn(1, 2, 4, 4)
    with torch.inference_mode():
        assert torch.equal(DirectionalPool("left")(x), loop_corner_pool(x, "left"))
    with pytest.raises(ValueError, match="unknown pool direction"):
        DirectionalPool("up")
