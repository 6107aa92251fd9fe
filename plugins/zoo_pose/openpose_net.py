"""The CMU OpenPose COCO-18 body network (Cao et al. 2017), as the widely used PyTorch port builds it.

VGG-19 front (conv1_1 .. conv4_2) plus conv4_3_CPM (256) and conv4_4_CPM (128) gives 128-channel features at
stride 8. Stage 1 has two branches of three 3x3 convs, a 1x1 to 512 and a 1x1 out: part affinity fields (38
channels = 19 limbs x (x, y)) and part heatmaps (19 = 18 parts + background). Stages 2-6 take the previous
stage's two outputs and the features (38 + 19 + 128 = 185 channels) through five 7x7 convs, a 1x1 to 128 and
a 1x1 out. `forward` returns stage 6's (pafs, heatmaps).

Module names are the zoo's (features / stages.N.paf / stages.N.heat); zoo_pose.convert maps the reference's
flat Caffe-derived names onto them.
"""

from __future__ import annotations

from torch import Tensor, nn

# VGG-19 front: (out channels, kernel) per conv, "M" for a 2x2 max-pool (Hzzone/pytorch-openpose src/model.py block0)
FRONT = ((64, 3), (64, 3), "M", (128, 3), (128, 3), "M", (256, 3), (256, 3), (256, 3), (256, 3), "M",
         (512, 3), (512, 3), (256, 3), (128, 3))
FEATURES = 128
NUM_PAF = 38
NUM_HEAT = 19
NUM_STAGES = 6


def _conv(cin: int, cout: int, k: int, relu: bool = True) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, 1, k // 2)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return layers


def _branch(cin: int, cout: int, first: bool, relu_out: bool) -> nn.Sequential:
    """Stage 1: 3 x (3x3, 128), 1x1 512, 1x1 out. Stages 2-6: 5 x (7x7, 128), 1x1 128, 1x1 out."""
    layers: list[nn.Module] = []
    if first:
        widths = ((cin, 128, 3), (128, 128, 3), (128, 128, 3), (128, 512, 1))
    else:
        widths = ((cin, 128, 7),) + ((128, 128, 7),) * 4 + ((128, 128, 1),)
    for a, b, k in widths:
        layers += _conv(a, b, k)
    layers += _conv(widths[-1][1], cout, 1, relu=relu_out)
    return nn.Sequential(*layers)


class Stage(nn.Module):
    def __init__(self, cin: int, first: bool, relu_heat: bool = False):
        super().__init__()
        self.paf = _branch(cin, NUM_PAF, first, relu_out=False)
        self.heat = _branch(cin, NUM_HEAT, first, relu_out=relu_heat)


class OpenPoseBody(nn.Module):
    """`final_relu`: the PyTorch port (Hzzone/pytorch-openpose, and controlnet_aux which copies it) lists
    Mconv7_stage6_L1 twice in its no-ReLU list instead of ..._L2, so its last heatmap output goes through a
    ReLU. True (default) reproduces that port and the numbers computed with it; False is the Caffe graph."""

    def __init__(self, final_relu: bool = True):
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for item in FRONT:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                cout, k = item
                layers += _conv(cin, cout, k)
                cin = cout
        self.features = nn.Sequential(*layers)
        cat = NUM_PAF + NUM_HEAT + FEATURES
        self.stages = nn.ModuleList(
            [Stage(FEATURES, True)]
            + [Stage(cat, False, relu_heat=final_relu and i == NUM_STAGES) for i in range(2, NUM_STAGES + 1)])

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        import torch

        feats = self.features(x)
        out = feats
        paf = heat = feats  # bound in the first iteration
        for i, stage in enumerate(self.stages):
            if i:
                out = torch.cat([paf, heat, feats], 1)
            paf, heat = stage.paf(out), stage.heat(out)
        return paf, heat


def reference_names() -> list[str]:
    """The reference checkpoint's conv names (body_pose_model.pth: `conv1_1`, `Mconv7_stage6_L2`, ...), in the
    order of the zoo network's convolutions (model.named_modules() order)."""
    names = []
    block, idx = 1, 1
    for item in FRONT:
        if item == "M":
            block, idx = block + 1, 1
            continue
        names.append(f"conv{block}_{idx}" if (block, idx) < (4, 3) else f"conv4_{idx}_CPM")
        idx += 1
    for stage in range(1, NUM_STAGES + 1):
        for branch in (1, 2):  # L1: PAFs (the zoo's `paf`), L2: heatmaps (`heat`)
            if stage == 1:
                names += [f"conv5_{j}_CPM_L{branch}" for j in range(1, 6)]
            else:
                names += [f"Mconv{j}_stage{stage}_L{branch}" for j in range(1, 8)]
    return names
