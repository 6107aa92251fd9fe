"""princeton-vl CornerNet / CornerNet-Lite checkpoints (`CornerNet_500000.pkl`, `CornerNet_Squeeze_500000.pkl`)
-> the zoo's layout (zoo_cornernet.hourglass names).

The `.pkl` files are `torch.save(model.state_dict())` of the reference's `DummyModule` wrapper, so every key
starts with `module.`. Two layouts exist for the same Hourglass-104 network: the original CornerNet repository
(`kp`: pre, kps, cnvs, tl_cnvs, tl_regrs, ...) and CornerNet-Lite (`hg_net`: hg.pre, hg.hgs, hg.cnvs,
tl_modules, tl_offs, ...); both are read. The mapping is by name only: the core then checks keys and shapes
strictly against the network, so a checkpoint of another variant fails with the keys that differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from zoo.convert.formats import load_tensors
from zoo.errors import ConversionError, WeightsMismatchError

TOP = {  # first name (after `module.` and Lite's `hg.`) -> zoo module list
    "pre": "stem", "kps": "hourglasses", "hgs": "hourglasses", "cnvs": "necks",
    "inters": "link_residual", "inters_": "link_input", "cnvs_": "link_feature",
    "tl_cnvs": "tl_pools", "br_cnvs": "br_pools", "tl_modules": "tl_pools", "br_modules": "br_pools",
    "tl_heats": "tl_heatmaps", "br_heats": "br_heatmaps", "tl_tags": "tl_embeddings", "br_tags": "br_embeddings",
    "tl_regrs": "tl_offsets", "br_regrs": "br_offsets", "tl_offs": "tl_offsets", "br_offs": "br_offsets",
}
HOURGLASS = {"up1": "upper", "low1": "down", "low2": "inner", "low3": "up", "up2": "unpool"}
POOL = {"p1_conv1": "pool1", "p2_conv1": "pool2", "p_conv1": "merge_conv", "p_bn1": "merge_bn",
        "conv1": "skip_conv", "bn1": "skip_bn", "conv2": "out"}
FIRE = {"conv1": "squeeze", "bn1": "squeeze_bn", "conv_1x1": "expand1x1", "conv_3x3": "expand3x3", "bn2": "expand_bn"}
SEQ_CONV_BN = {"0": "conv", "1": "bn"}  # nn.Sequential(Conv2d, BatchNorm2d): residual skips and stack links
HEAD = {"0": "conv", "1": "out"}  # nn.Sequential(convolution, Conv2d)


def zoo_key(key: str, fire: bool = False) -> str:
    """One reference state-dict key -> the zoo's key. `fire`: hourglass blocks are CornerNet-Squeeze fire
    modules (whose conv1/bn1/bn2 mean something else than a residual's)."""
    parts = key.split(".")
    if parts[0] == "module":
        parts = parts[1:]
    if parts and parts[0] == "hg":
        parts = parts[1:]
    if len(parts) < 3 or parts[0] not in TOP:
        return ".".join(parts)
    top = TOP[parts[0]]
    out = [top, parts[1]]
    rest = parts[2:]
    if top in ("link_input", "link_feature"):
        return ".".join(out + [SEQ_CONV_BN.get(rest[0], rest[0])] + rest[1:])
    if top.endswith(("heatmaps", "embeddings", "offsets")):
        return ".".join(out + [HEAD.get(rest[0], rest[0])] + rest[1:])
    if top.endswith("pools"):
        return ".".join(out + [POOL.get(rest[0], rest[0])] + rest[1:])
    in_hourglass = top == "hourglasses"
    i = 0
    while i < len(rest):
        p = rest[i]
        if in_hourglass and p in HOURGLASS:
            out.append(HOURGLASS[p])
        elif p == "skip" and i + 1 < len(rest) and rest[i + 1] in SEQ_CONV_BN:
            out += ["shortcut", SEQ_CONV_BN[rest[i + 1]]]
            i += 1
        elif fire and in_hourglass and p in FIRE:
            out.append(FIRE[p])
        else:
            out.append(p)
        i += 1
    return ".".join(out)


def convert_state_dict(state: Mapping[str, torch.Tensor], fire: bool = False) -> dict[str, torch.Tensor]:
    """A reference state dict (with or without `module.`) -> the zoo's keys, tensors unchanged."""
    out: dict[str, torch.Tensor] = {}
    for k, v in state.items():
        new = zoo_key(k, fire)
        if new in out:
            raise ConversionError(f"two checkpoint keys map to '{new}' (the second is '{k}')")
        out[new] = v
    return out


def guess_variant(keys: Any) -> str:
    """Which reference network a key set comes from (for error messages)."""
    keys = list(keys)
    if any("conv_1x1" in k for k in keys):
        return "CornerNet-Squeeze (fire modules)"
    if any(k.split(".")[1 if k.startswith("module.") else 0] == "hg" for k in keys):
        return "a CornerNet-Lite hg_net (CornerNet or CornerNet-Saccade)"
    if any(".kps." in f".{k}" for k in keys):
        return "CornerNet (original repository)"
    return "unknown"


def read_pkl(path: str | Path) -> dict[str, torch.Tensor]:
    """A reference checkpoint (read with weights_only=True): a flat dict of tensors."""
    path = Path(path)
    state = load_tensors(path)
    if isinstance(state, Mapping) and "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConversionError(f"{path.name}: expected a state dict of tensors, got {type(state).__name__}")
    return dict(state)


def read_cornernet_pkl(path: str | Path, spec: Any, target: Mapping[str, Any] | None = None) -> dict[str, torch.Tensor]:
    """Converter registered as format `pytorch-cornernet`. `target` ({key: shape} of the zoo network) is built
    here when the core does not pass it, so a checkpoint of the wrong variant is named as such."""
    from zoo_cornernet.hourglass import arch_from_options

    options = spec.options or {}
    arch_name = options.get("arch", "hourglass104")
    arch = arch_from_options(arch_name, options.get("arch_overrides"))
    raw = read_pkl(path)
    state = convert_state_dict(raw, fire=arch.block == "fire")
    if target is None:
        from zoo_cornernet.hourglass import CornerNet

        with torch.device("meta"):
            target = {k: v.shape for k, v in CornerNet(arch).state_dict().items()}
    missing = [k for k in target if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in target]
    if missing or unexpected:
        def few(items: list[str]) -> str:
            return ", ".join(items[:4]) + (f" (+{len(items) - 4} more)" if len(items) > 4 else "")

        diff = "; ".join(x for x in (f"{len(missing)} missing [{few(missing)}]" if missing else "",
                                     f"{len(unexpected)} unexpected [{few(unexpected)}]" if unexpected else "") if x)
        raise WeightsMismatchError(f"{Path(path).name} looks like {guess_variant(raw)}, not {spec.name} "
                                   f"({arch_name}): {diff}")
    return state
