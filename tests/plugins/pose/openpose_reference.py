"""Reference implementations for the OpenPose tests, written after Hzzone/pytorch-openpose (src/model.py,
src/body.py): the network in the reference's module layout and names, and the grouping as straightforward
loops over parts, candidate pairs and people."""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import torch
from scipy.ndimage import gaussian_filter
from torch import nn


def make_layers(block: OrderedDict, no_relu_layers: list[str]) -> nn.Sequential:
    layers = []
    for name, v in block.items():
        if "pool" in name:
            layers.append((name, nn.MaxPool2d(kernel_size=v[0], stride=v[1], padding=v[2])))
        else:
            layers.append((name, nn.Conv2d(v[0], v[1], kernel_size=v[2], stride=v[3], padding=v[4])))
            if name not in no_relu_layers:
                layers.append(("relu_" + name, nn.ReLU(inplace=True)))
    return nn.Sequential(OrderedDict(layers))


class ReferenceBodyPose(nn.Module):
    """bodypose_model: model0 (VGG front), model{1..6}_{1,2} (L1 PAF, L2 heatmap branches)."""

    def __init__(self) -> None:
        super().__init__()
        no_relu = ["conv5_5_CPM_L1", "conv5_5_CPM_L2"] + [f"Mconv7_stage{i}_L{b}" for i in range(2, 6) for b in (1, 2)]
        no_relu += ["Mconv7_stage6_L1", "Mconv7_stage6_L1"]  # sic: the reference never lists ..._stage6_L2
        block0 = OrderedDict([
            ("conv1_1", [3, 64, 3, 1, 1]), ("conv1_2", [64, 64, 3, 1, 1]), ("pool1_stage1", [2, 2, 0]),
            ("conv2_1", [64, 128, 3, 1, 1]), ("conv2_2", [128, 128, 3, 1, 1]), ("pool2_stage1", [2, 2, 0]),
            ("conv3_1", [128, 256, 3, 1, 1]), ("conv3_2", [256, 256, 3, 1, 1]), ("conv3_3", [256, 256, 3, 1, 1]),
            ("conv3_4", [256, 256, 3, 1, 1]), ("pool3_stage1", [2, 2, 0]), ("conv4_1", [256, 512, 3, 1, 1]),
            ("conv4_2", [512, 512, 3, 1, 1]), ("conv4_3_CPM", [512, 256, 3, 1, 1]), ("conv4_4_CPM", [256, 128, 3, 1, 1])])
        blocks = {}
        for b, out in ((1, 38), (2, 19)):
            blocks[f"block1_{b}"] = OrderedDict([
                (f"conv5_1_CPM_L{b}", [128, 128, 3, 1, 1]), (f"conv5_2_CPM_L{b}", [128, 128, 3, 1, 1]),
                (f"conv5_3_CPM_L{b}", [128, 128, 3, 1, 1]), (f"conv5_4_CPM_L{b}", [128, 512, 1, 1, 0]),
                (f"conv5_5_CPM_L{b}", [512, out, 1, 1, 0])])
            for i in range(2, 7):
                blocks[f"block{i}_{b}"] = OrderedDict(
                    [(f"Mconv1_stage{i}_L{b}", [185, 128, 7, 1, 3])]
                    + [(f"Mconv{j}_stage{i}_L{b}", [128, 128, 7, 1, 3]) for j in range(2, 6)]
                    + [(f"Mconv6_stage{i}_L{b}", [128, 128, 1, 1, 0]), (f"Mconv7_stage{i}_L{b}", [128, out, 1, 1, 0])])
        self.model0 = make_layers(block0, no_relu)
        for k, v in blocks.items():
            setattr(self, "model" + k[5:], make_layers(v, no_relu))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out1 = self.model0(x)
        o1, o2 = self.model1_1(out1), self.model1_2(out1)
        for i in range(2, 7):
            cat = torch.cat([o1, o2, out1], 1)
            o1, o2 = getattr(self, f"model{i}_1")(cat), getattr(self, f"model{i}_2")(cat)
        return o1, o2


LIMB_SEQ = [[2, 3], [2, 6], [3, 4], [4, 5], [6, 7], [7, 8], [2, 9], [9, 10], [10, 11], [2, 12], [12, 13], [13, 14],
            [2, 1], [1, 15], [15, 17], [1, 16], [16, 18], [3, 17], [6, 18]]
MAP_IDX = [[31, 32], [39, 40], [33, 34], [35, 36], [41, 42], [43, 44], [19, 20], [21, 22], [23, 24], [25, 26],
           [27, 28], [29, 30], [47, 48], [49, 50], [53, 54], [51, 52], [55, 56], [37, 38], [45, 46]]


def reference_group(heatmap_avg: np.ndarray, paf_avg: np.ndarray, height: int, thre1: float = 0.1,
                    thre2: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Body.__call__ after the maps are averaged: heatmap_avg (H, W, 19), paf_avg (H, W, 38), float64."""
    all_peaks = []
    peak_counter = 0
    for part in range(18):
        map_ori = heatmap_avg[:, :, part]
        one = gaussian_filter(map_ori, sigma=3)
        left = np.zeros(one.shape)
        left[1:, :] = one[:-1, :]
        right = np.zeros(one.shape)
        right[:-1, :] = one[1:, :]
        up = np.zeros(one.shape)
        up[:, 1:] = one[:, :-1]
        down = np.zeros(one.shape)
        down[:, :-1] = one[:, 1:]
        binary = np.logical_and.reduce((one >= left, one >= right, one >= up, one >= down, one > thre1))
        peaks = list(zip(np.nonzero(binary)[1], np.nonzero(binary)[0]))
        with_score = [x + (map_ori[x[1], x[0]],) for x in peaks]
        ids = range(peak_counter, peak_counter + len(peaks))
        all_peaks.append([with_score[i] + (ids[i],) for i in range(len(ids))])
        peak_counter += len(peaks)

    connection_all, special_k, mid_num = [], [], 10
    for k in range(len(MAP_IDX)):
        score_mid = paf_avg[:, :, [x - 19 for x in MAP_IDX[k]]]
        cand_a, cand_b = all_peaks[LIMB_SEQ[k][0] - 1], all_peaks[LIMB_SEQ[k][1] - 1]
        na, nb = len(cand_a), len(cand_b)
        if na != 0 and nb != 0:
            candidates = []
            for i in range(na):
                for j in range(nb):
                    vec = np.subtract(cand_b[j][:2], cand_a[i][:2])
                    norm = max(0.001, math.sqrt(vec[0] * vec[0] + vec[1] * vec[1]))
                    vec = np.divide(vec, norm)
                    pts = list(zip(np.linspace(cand_a[i][0], cand_b[j][0], num=mid_num),
                                   np.linspace(cand_a[i][1], cand_b[j][1], num=mid_num)))
                    vx = np.array([score_mid[int(round(p[1])), int(round(p[0])), 0] for p in pts])
                    vy = np.array([score_mid[int(round(p[1])), int(round(p[0])), 1] for p in pts])
                    mid = np.multiply(vx, vec[0]) + np.multiply(vy, vec[1])
                    prior = sum(mid) / len(mid) + min(0.5 * height / norm - 1, 0)
                    if len(np.nonzero(mid > thre2)[0]) > 0.8 * len(mid) and prior > 0:
                        candidates.append([i, j, prior, prior + cand_a[i][2] + cand_b[j][2]])
            candidates = sorted(candidates, key=lambda x: x[2], reverse=True)
            connection = np.zeros((0, 5))
            for c in candidates:
                i, j, s = c[0:3]
                if i not in connection[:, 3] and j not in connection[:, 4]:
                    connection = np.vstack([connection, [cand_a[i][3], cand_b[j][3], s, i, j]])
                    if len(connection) >= min(na, nb):
                        break
            connection_all.append(connection)
        else:
            special_k.append(k)
            connection_all.append([])

    subset = -1 * np.ones((0, 20))
    candidate = np.array([item for sub in all_peaks for item in sub])
    for k in range(len(MAP_IDX)):
        if k in special_k:
            continue
        part_as, part_bs = connection_all[k][:, 0], connection_all[k][:, 1]
        index_a, index_b = np.array(LIMB_SEQ[k]) - 1
        for i in range(len(connection_all[k])):
            found = 0
            idx = [-1, -1]
            for j in range(len(subset)):
                if subset[j][index_a] == part_as[i] or subset[j][index_b] == part_bs[i]:
                    idx[found] = j
                    found += 1
            if found == 1:
                j = idx[0]
                if subset[j][index_b] != part_bs[i]:
                    subset[j][index_b] = part_bs[i]
                    subset[j][-1] += 1
                    subset[j][-2] += candidate[part_bs[i].astype(int), 2] + connection_all[k][i][2]
            elif found == 2:
                j1, j2 = idx
                membership = ((subset[j1] >= 0).astype(int) + (subset[j2] >= 0).astype(int))[:-2]
                if len(np.nonzero(membership == 2)[0]) == 0:
                    subset[j1][:-2] += subset[j2][:-2] + 1
                    subset[j1][-2:] += subset[j2][-2:]
                    subset[j1][-2] += connection_all[k][i][2]
                    subset = np.delete(subset, j2, 0)
                else:
                    subset[j1][index_b] = part_bs[i]
                    subset[j1][-1] += 1
                    subset[j1][-2] += candidate[part_bs[i].astype(int), 2] + connection_all[k][i][2]
            elif not found and k < 17:
                row = -1 * np.ones(20)
                row[index_a] = part_as[i]
                row[index_b] = part_bs[i]
                row[-1] = 2
                row[-2] = sum(candidate[connection_all[k][i, :2].astype(int), 2]) + connection_all[k][i][2]
                subset = np.vstack([subset, row])
    delete = [i for i in range(len(subset)) if subset[i][-1] < 4 or subset[i][-2] / subset[i][-1] < 0.4]
    return candidate, np.delete(subset, delete, axis=0)
