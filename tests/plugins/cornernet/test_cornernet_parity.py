"""The zoo's networks against the reference code on the same weights: key mapping of the full-size
checkpoints of all three layouts, raw outputs of a reduced Hourglass and of the full CornerNet-Squeeze, and
the reference `_decode` on those outputs."""

from __future__ import annotations

import pytest
import torch
from cornerkit import prefixed, randomize

from zoo_cornernet.convert import convert_state_dict
from zoo_cornernet.decode import decode_corners
from zoo_cornernet.hourglass import HOURGLASS104, SQUEEZE, CornerMaps, CornerNet, arch_from_options


def _ref_cornernet():
    from ref_cornernet.models.CornerNet import model

    return model(None)


def _ref_lite_cornernet():
    from ref_lite.core.models.CornerNet import model

    return model()


def _ref_squeeze():
    from ref_lite.core.models.CornerNet_Squeeze import model

    return model()


@pytest.mark.parametrize(("make_ref", "arch"), [(_ref_cornernet, HOURGLASS104), (_ref_lite_cornernet, HOURGLASS104),
                                                (_ref_squeeze, SQUEEZE)], ids=["cornernet", "lite-cornernet", "squeeze"])
def test_full_size_checkpoint_layout_maps_onto_the_zoo_network(make_ref, arch) -> None:
    with torch.device("meta"):
        ref = make_ref()
        zoo_net = CornerNet(arch)
    got = convert_state_dict(prefixed(ref.state_dict()), fire=arch.block == "fire")
    want = zoo_net.state_dict()
    assert sorted(got) == sorted(want)
    assert all(got[k].shape == want[k].shape for k in want)
    assert sum(p.numel() for p in ref.parameters()) == sum(p.numel() for p in zoo_net.parameters())


def _small_reference_kp():
    """The reference `kp` with CornerNet's layers but a 2-level hourglass (dims[0] stays 256: the reference's
    stem hard-codes it)."""
    from ref_cornernet.models.CornerNet import make_br_layer, make_hg_layer, make_pool_layer, make_tl_layer
    from ref_cornernet.models.py_utils import kp, residual

    return kp(2, 2, [256, 256, 384], [1, 1, 2], 80, make_tl_layer=make_tl_layer, make_br_layer=make_br_layer,
              make_pool_layer=make_pool_layer, make_hg_layer=make_hg_layer, kp_layer=residual, cnv_dim=256)


def _outputs_and_decode(ref, zoo_net, x, lite: bool):
    from ref_cornernet.models.py_utils.kp_utils import _decode

    ref._decode = lambda *outs, **kw: outs  # the reference stores its decoder on the instance: take raw maps
    with torch.no_grad():
        if lite:
            raw = ref(x, test=True)[0]
        else:
            raw = ref(x)
        got = zoo_net(x)
    assert isinstance(got, CornerMaps)
    for name, a, b in zip(CornerMaps._fields, got, raw):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4 * float(b.abs().max()), msg=name)
    ref_dets = _decode(*[t.clone() for t in raw], K=30, kernel=3, ae_threshold=0.5, num_dets=200)
    dets = decode_corners(CornerMaps(*raw), top_k=30, kernel=3, ae_threshold=0.5, num_dets=200)
    torch.testing.assert_close(dets, ref_dets, rtol=0, atol=0)


def test_reduced_hourglass_matches_the_reference_kp() -> None:
    torch.manual_seed(0)
    ref = randomize(_small_reference_kp())
    zoo_net = CornerNet(arch_from_options("hourglass104", {"depth": 2, "dims": [256, 256, 384], "modules": [1, 1, 2]}))
    zoo_net.load_state_dict(convert_state_dict(prefixed(ref.state_dict())), strict=True)
    x = torch.randn(1, 3, 127, 127)
    _outputs_and_decode(ref, zoo_net.eval(), x, lite=False)


def test_full_squeeze_matches_the_reference_hg_net() -> None:
    torch.manual_seed(1)
    ref = randomize(_ref_squeeze())
    zoo_net = CornerNet(SQUEEZE)
    zoo_net.load_state_dict(convert_state_dict(prefixed(ref.state_dict()), fire=True), strict=True)
    x = torch.randn(1, 3, 127, 127)
    _outputs_and_decode(ref, zoo_net.eval(), x, lite=True)


def test_heatmap_bias_is_the_focal_prior() -> None:
    net = CornerNet(arch_from_options("squeeze", {"depth": 1, "dims": [256, 256], "modules": [1, 1]}))
    for heads in (net.tl_heatmaps, net.br_heatmaps):
        assert all(torch.all(h.out.bias == -2.19) for h in heads)


@pytest.mark.parametrize("name", ["cornernet-hourglass104", "cornernet-squeeze"])
def test_registry_params_and_gmacs_match_the_built_network(name: str) -> None:
    from torch.utils.flop_counter import FlopCounterMode

    import zoo

    spec = zoo.get_spec(name)
    model = zoo.build(name, device="meta").eval()
    assert sum(p.numel() for p in model.net.parameters()) == spec.num_params
    h, w = spec.input.size
    with FlopCounterMode(display=False) as fc:
        model(torch.empty(1, 3, h, w, device="meta"))
    assert round(fc.get_total_flops() / 2e9, 3) == spec.gmacs
