"""The plugin's own tests: the conformance kit (one test per check) and parity with torchvision."""

import pytest
import torch
import torchvision.models as tvm

import zoo

ZOO_PLUGIN = "mobilenet"


def test_conformance(zoo_check):
    zoo_check()


@pytest.mark.parametrize("name, tv", [("mobilenet-v2", tvm.mobilenet_v2), ("mobilenet-v3-small", tvm.mobilenet_v3_small)])
def test_same_outputs_as_torchvision(name, tv, tmp_path):
    torch.manual_seed(0)
    reference = tv(weights=None).eval()
    path = tmp_path / "tv.pth"
    torch.save(reference.state_dict(), path)  # torchvision's own checkpoint format
    model = zoo.load(name, weights=path)
    x = torch.rand(2, 3, 96, 96)
    with torch.no_grad():
        assert (model(x) - reference(x)).abs().max() < 1e-5
