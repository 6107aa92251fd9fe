"""Original GAN checkpoints -> the zoo's layouts. Every file is read with torch.load(weights_only=True).

- pytorch-dcgan: a bare generator state dict (pytorch/examples dcgan/main.py saves `netG_epoch_N.pth` this way)
  or the tutorial's dict holding `netG_state_dict` / `netD_state_dict`; the zoo keeps the generator.
- pytorch-biggan: pytorch-pretrained-biggan's `pytorch_model.bin` (+ `config.json` beside it), spectral norm
  folded into plain weights.
- pytorch-cyclegan: junyanz/pytorch-CycleGAN-and-pix2pix `latest_net_G.pth` (ResnetGenerator), InstanceNorm
  running statistics of pre-0.4 checkpoints dropped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from zoo.errors import ConversionError, WeightsMismatchError

DCGAN_WRAPPERS = ("netG_state_dict", "netG", "generator", "state_dict")


def load_tensors(path: Path) -> Any:
    """torch.load with weights_only=True: checkpoints that need code to unpickle are refused."""
    from zoo.convert.formats import torch_load_reason

    try:
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:  # pickle errors come in many types; the core's wording, so `zoo import` reports one reason
        raise ConversionError(f"{path}: not a PyTorch checkpoint of plain tensors ({torch_load_reason(e)}; "
                              "files that need code to unpickle are refused)") from None


def _tensors_only(obj: Any, path: Path, what: str) -> dict[str, torch.Tensor]:
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ConversionError(f"{path}: holds no {what} state dict of tensors")
    if all(k.startswith("module.") for k in obj):  # saved from nn.DataParallel (the tutorial with ngpu > 1)
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return dict(obj)


# ------------------------------------------------------------------ DCGAN


def dcgan_state(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    """The generator's state dict out of whatever the tutorial / examples saved."""
    if isinstance(obj, dict):
        for key in DCGAN_WRAPPERS:
            if isinstance(obj.get(key), dict):
                return _tensors_only(obj[key], path, "generator")
        if "netD_state_dict" in obj:
            raise ConversionError(f"{path}: holds only a discriminator (netD_state_dict); the zoo needs the generator")
    state = _tensors_only(obj, path, "DCGAN")
    first = state.get("main.0.weight")
    if first is not None and first.ndim == 4 and first.shape[1] in (1, 3) and "main.12.weight" not in state:
        raise ConversionError(f"{path}: this is a DCGAN discriminator (main.0 is a {tuple(first.shape)} conv); "
                              "the zoo needs the generator (netG)")
    return state


def read_dcgan(path: Path, spec: Any = None) -> dict[str, torch.Tensor]:
    """pytorch-dcgan: a bare netG state dict or {'netG_state_dict': ..., 'netD_state_dict': ...}."""
    return dcgan_state(load_tensors(path), path)


# ------------------------------------------------------------------ BigGAN (pytorch-pretrained-biggan)

BIGGAN_WEIGHTS = "pytorch_model.bin"
BIGGAN_CONFIG = "config.json"


def biggan_files(path: Path) -> tuple[Path, Path | None]:
    """A folder holding pytorch_model.bin + config.json, or the .bin itself (config.json beside it, if any)."""
    path = Path(path)
    if path.is_dir():
        weights = path / BIGGAN_WEIGHTS
        if not weights.is_file():
            raise ConversionError(f"{path}: no {BIGGAN_WEIGHTS} in this folder")
        cfg = path / BIGGAN_CONFIG
        return weights, cfg if cfg.is_file() else None
    cfg = path.with_name(BIGGAN_CONFIG)
    return path, cfg if cfg.is_file() else None


def read_biggan_config(path: Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConversionError(f"{path}: not a BigGAN config.json ({e})") from None


def fold_spectral_norm(state: dict[str, torch.Tensor], path: Path | str = "") -> dict[str, torch.Tensor]:
    """`weight_orig`, `weight_u`, `weight_v` -> `weight = weight_orig / sigma`, sigma = u . (W v): exactly what
    torch.nn.utils.spectral_norm computes in eval mode, done once here instead of at every forward."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key.endswith(".weight_u") or key.endswith(".weight_v"):
            continue
        if key.endswith(".weight_orig"):
            stem = key[: -len("_orig")]
            u, v = state.get(stem + "_u"), state.get(stem + "_v")
            if u is None or v is None:
                raise ConversionError(f"{path}: {key} has no {stem}_u / {stem}_v (spectral-norm vectors)")
            w = value.double()
            mat = w.reshape(w.shape[0], -1)
            sigma = torch.dot(u.double(), torch.mv(mat, v.double()))
            out[stem] = (w / sigma).to(value.dtype)
        else:
            out[key] = value
    return out


def read_biggan(path: Path, spec: Any = None) -> dict[str, torch.Tensor]:
    """pytorch-biggan: pytorch-pretrained-biggan's state dict with spectral norm folded in."""
    weights, cfg = biggan_files(Path(path))
    state = _tensors_only(load_tensors(weights), weights, "BigGAN")
    if cfg is not None and spec is not None:
        _check_biggan_config(read_biggan_config(cfg), spec, cfg)
    if "embeddings.weight" not in state:
        raise ConversionError(f"{weights}: not a pytorch-pretrained-biggan checkpoint (no embeddings.weight)")
    return fold_spectral_norm(state, weights)


def _check_biggan_config(cfg: dict[str, Any], spec: Any, where: Path) -> None:
    """The file's config must describe the spec's architecture (a 256 checkpoint is not a 128 model)."""
    want = dict(spec.options)
    for key in ("output_dim", "z_dim", "channel_width", "num_classes", "attention_layer_position", "n_stats"):
        if key in want and key in cfg and int(cfg[key]) != int(want[key]):
            raise WeightsMismatchError(f"{where}: {key} is {cfg[key]} but {spec.name} expects {want[key]}")
    if "layers" in want and "layers" in cfg:
        ours = [[bool(a), int(b), int(c)] for a, b, c in want["layers"]]
        theirs = [[bool(a), int(b), int(c)] for a, b, c in cfg["layers"]]
        if ours != theirs:
            raise WeightsMismatchError(f"{where}: layers {theirs} differ from {spec.name}'s {ours}")


# ------------------------------------------------------------------ CycleGAN ResnetGenerator

INSTANCE_NORM_STATS = ("running_mean", "running_var", "num_batches_tracked")


def patch_instance_norm(state: dict[str, torch.Tensor], norm_keys: set[str]) -> dict[str, torch.Tensor]:
    """Drop InstanceNorm running statistics that checkpoints saved before PyTorch 0.4 carry (what
    __patch_instance_norm_state_dict in junyanz/pytorch-CycleGAN-and-pix2pix models/base_model.py does):
    InstanceNorm2d(affine=False, track_running_stats=False) has no state, so its keys must go."""
    out = {}
    for key, value in state.items():
        module, _, leaf = key.rpartition(".")
        if leaf in INSTANCE_NORM_STATS and module in norm_keys:
            continue
        out[key] = value
    return out


def read_cyclegan(path: Path, spec: Any = None, target: dict[str, Any] | None = None) -> dict[str, torch.Tensor]:
    """pytorch-cyclegan: `latest_net_G.pth` / `<name>.pth` (a ResnetGenerator state dict)."""
    from zoo_gan.cyclegan import instance_norm_modules

    state = _tensors_only(load_tensors(path), Path(path), "CycleGAN generator")
    n_blocks = int(spec.options.get("n_blocks", 9)) if spec is not None else 9
    return patch_instance_norm(state, instance_norm_modules(n_blocks))
