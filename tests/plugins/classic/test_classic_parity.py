"""Parity: every classic architecture, loaded through the zoo's safetensors path, gives torchvision's outputs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision.models as tvm
from safetensors.torch import save_file
from sweep import quick_or_full

import zoo
from zoo.api import expected_state
from zoo_classic.convert import timm_to_torchvision, torchvision_legacy_keys

ARCHS = zoo.list_models(family="classic")


def reference(arch: str) -> torch.nn.Module:
    """The torchvision model as torchvision itself builds it for its published weights."""
    if arch == "googlenet":
        return tvm.googlenet(weights=None, aux_logits=False, transform_input=True, init_weights=True)
    if arch == "densenet264":
        return tvm.DenseNet(32, (6, 12, 64, 48), 64)
    return getattr(tvm, arch)(weights=None)


@pytest.mark.parametrize("arch", quick_or_full(ARCHS))
def test_zoo_matches_torchvision(arch: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    ref = reference(arch).eval()
    path = tmp_path / f"{arch}.safetensors"
    save_file({k: v.contiguous() for k, v in ref.state_dict().items()}, str(path))
    model = zoo.load(arch, weights=path)
    path.unlink()  # up to 550 MB (VGG) per model: the suite's disk use stays small
    x = torch.rand(2, 3, 64, 64) if arch not in ("alexnet",) else torch.rand(2, 3, 96, 96)
    with torch.inference_mode():
        expected, got = ref(x), model(x)
    assert got.shape == (2, 1000)
    assert (got - expected).abs().max().item() < 1e-5
    assert model.net.state_dict().keys() == ref.state_dict().keys()


def test_timm_vgg_layout_converts_to_torchvision() -> None:
    ref = tvm.vgg11(weights=None).eval()
    sd = ref.state_dict()
    timm_sd = {k: v for k, v in sd.items() if not k.startswith("classifier")}
    timm_sd["pre_logits.fc1.weight"] = sd["classifier.0.weight"].reshape(4096, 512, 7, 7)
    timm_sd["pre_logits.fc1.bias"] = sd["classifier.0.bias"]
    timm_sd["pre_logits.fc2.weight"] = sd["classifier.3.weight"].reshape(4096, 4096, 1, 1)
    timm_sd["pre_logits.fc2.bias"] = sd["classifier.3.bias"]
    timm_sd["head.fc.weight"], timm_sd["head.fc.bias"] = sd["classifier.6.weight"], sd["classifier.6.bias"]
    back = timm_to_torchvision(timm_sd)
    assert back.keys() == sd.keys()
    assert all(torch.equal(back[k], sd[k]) for k in sd)


def test_torchvision_legacy_densenet_file_imports(tmp_path: Path, images) -> None:
    """torchvision's published densenet .pth uses 'norm.1' keys and lacks num_batches_tracked."""
    import re

    ref = tvm.densenet121(weights=None).eval()
    legacy = {re.sub(r"(denselayer\d+\.(?:norm|relu|conv))(\d)\.", r"\1.\2.", k): v
              for k, v in ref.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert any(".norm.1." in k for k in legacy)
    assert torchvision_legacy_keys(legacy).keys() <= ref.state_dict().keys()
    pth = tmp_path / "densenet121-a639ec97.pth"
    torch.save(legacy, pth)
    from zoo.convert import import_file
    from zoo.plugin_manager import default_registry

    spec = default_registry().get("densenet121")
    out, lock = import_file(spec, spec.default_weights(), pth, expected=expected_state(spec))
    assert lock.original_format == "pytorch-torchvision"
    model = zoo.load("densenet121")
    x = torch.rand(1, 3, 64, 64)
    with torch.inference_mode():
        assert (model(x) - ref(x)).abs().max().item() < 1e-5


def test_pretrained_classifier_preprocessing_matches_torchvision_transform(images) -> None:
    """resize 256 + centre crop 224 + ImageNet normalisation, as torchvision's weights.transforms()."""
    from PIL import Image
    from torchvision.transforms import v2

    model = zoo.load("resnet18", pretrained=False)
    img = Image.open(images[0]).convert("RGB")
    ours, metas = model.preprocess(img)
    tv = v2.Compose([v2.PILToTensor(), v2.Resize(256, antialias=True), v2.CenterCrop(224),
                     v2.ToDtype(torch.float32, scale=True), v2.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    ref = tv(img).unsqueeze(0)
    assert ours.shape == ref.shape == (1, 3, 224, 224)
    assert (ours - ref).abs().mean().item() < 0.02  # float vs uint8 resampling; same geometry
    assert metas[0].orig_size == (img.height, img.width)


def test_googlenet_torchvision_file_with_aux_heads_imports(tmp_path: Path) -> None:
    """torchvision's googlenet-1378be20.pth keeps aux1/aux2; the zoo drops them as torchvision does."""
    full = tvm.googlenet(weights=None, aux_logits=True, transform_input=True, init_weights=True).eval()
    pth = tmp_path / "googlenet-1378be20.pth"
    torch.save(full.state_dict(), pth)
    model = zoo.load("googlenet", weights=pth)
    x = torch.rand(1, 3, 64, 64)
    with torch.inference_mode():
        assert (model(x) - full(x)).abs().max().item() < 1e-5
