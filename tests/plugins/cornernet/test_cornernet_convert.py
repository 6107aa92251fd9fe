"""The `pytorch-cornernet` converter: reference checkpoints (state dicts under `module.`, saved with torch.save)
load strictly and give the reference's outputs; a checkpoint of the other variant or a non-checkpoint is a
one-line error naming what differs."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from cornerkit import prefixed, randomize

import zoo
from zoo.api import expected_state
from zoo.convert import convert_file
from zoo.errors import ConversionError, WeightsMismatchError
from zoo.spec import ModelSpec
from zoo_cornernet.convert import read_cornernet_pkl, zoo_key

SMALL = {"depth": 1, "dims": [256, 256], "modules": [1, 1]}


def _small_reference_kp():
    from ref_cornernet.models.CornerNet import make_br_layer, make_hg_layer, make_pool_layer, make_tl_layer
    from ref_cornernet.models.py_utils import kp, residual

    return kp(1, 2, [256, 256], [1, 1], 80, make_tl_layer=make_tl_layer, make_br_layer=make_br_layer,
              make_pool_layer=make_pool_layer, make_hg_layer=make_hg_layer, kp_layer=residual, cnv_dim=256)


def small_spec() -> ModelSpec:
    spec = zoo.get_spec("cornernet-hourglass104")
    return dataclasses.replace(spec, name="cornernet-small", options={**spec.options, "arch_overrides": SMALL})


def test_reference_checkpoint_converts_loads_strictly_and_matches(tmp_path: Path) -> None:
    torch.manual_seed(3)
    ref = randomize(_small_reference_kp(), seed=3)
    path = tmp_path / "CornerNet_500000.pkl"
    torch.save(prefixed(ref.state_dict()), path)
    spec = small_spec()
    state = convert_file(spec, path, "pytorch-cornernet", expected=expected_state(spec))  # the core's strict key/shape check runs inside
    model = zoo.build(spec)
    model.net.load_state_dict(state, strict=True)
    ref._decode = lambda *outs, **kw: outs
    x = torch.randn(1, 3, 63, 63)
    with torch.no_grad():
        want, got = ref(x), model.eval()(x)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4 * float(b.abs().max()))


def test_key_names_of_both_layouts() -> None:
    assert zoo_key("module.kps.0.low2.low2.low1.0.skip.1.running_var") == "hourglasses.0.inner.inner.down.0.shortcut.bn.running_var"
    assert zoo_key("module.hg.hgs.1.up2.weight", fire=True) == "hourglasses.1.unpool.weight"
    assert zoo_key("module.hg.hgs.0.up1.1.conv_3x3.weight", fire=True) == "hourglasses.0.upper.1.expand3x3.weight"
    assert zoo_key("module.hg.pre.1.conv1.weight", fire=True) == "stem.1.conv1.weight"  # residual, not fire
    assert zoo_key("module.tl_cnvs.1.p_bn1.bias") == "tl_pools.1.merge_bn.bias"
    assert zoo_key("module.br_modules.0.conv1.weight") == "br_pools.0.skip_conv.weight"
    assert zoo_key("module.tl_regrs.0.1.bias") == "tl_offsets.0.out.bias"
    assert zoo_key("module.cnvs_.0.1.weight") == "link_feature.0.bn.weight"
    assert zoo_key("module.hg.inters.0.bn2.weight") == "link_residual.0.bn2.weight"


def test_a_squeeze_checkpoint_for_hourglass104_names_the_variant_and_keys(tmp_path: Path) -> None:
    from ref_lite.core.models.CornerNet_Squeeze import model

    with torch.device("meta"):
        keys = list(model().state_dict())
    path = tmp_path / "CornerNet_Squeeze_500000.pkl"
    torch.save({f"module.{k}": torch.zeros(1) for k in keys}, path)
    with pytest.raises(WeightsMismatchError) as err:
        read_cornernet_pkl(path, zoo.get_spec("cornernet-hourglass104"))
    msg = str(err.value)
    assert "CornerNet-Squeeze" in msg and "missing [" in msg and "unexpected [" in msg and "stem.2.conv1.weight" in msg


def test_not_a_state_dict_is_a_conversion_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.pkl"
    path.write_bytes(b"not a torch file")
    with pytest.raises(ConversionError, match="not a PyTorch checkpoint of plain tensors"):
        read_cornernet_pkl(path, zoo.get_spec("cornernet-squeeze"))
    torch.save([torch.zeros(1)], path)
    with pytest.raises(ConversionError, match="state dict of tensors"):
        read_cornernet_pkl(path, zoo.get_spec("cornernet-squeeze"))


def test_zoo_import_of_the_wrong_variant_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "CornerNet_500000.pkl"
    with torch.device("meta"):
        ref = _small_reference_kp()
    torch.save({f"module.{k}": torch.zeros(1) for k in ref.state_dict()}, path)
    res = subprocess.run([sys.executable, "-m", "zoo.cli", "import", "cornernet-squeeze", str(path)],
                         capture_output=True, text=True, timeout=300, env=dict(os.environ))
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.returncode != 0 and "Traceback" not in res.stderr and len(lines) == 1, res.stderr
    assert "CornerNet (original repository)" in lines[0] and "missing" in lines[0]
