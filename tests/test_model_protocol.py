"""The ZooModel protocol and meta-device loading, independent of any family."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from zoo.errors import InputError, WeightsMismatchError
from zoo.images import load_image
from zoo.ops.resize import boxes_to_original, letterbox, resize_crop, stretch
from zoo.spec import spec_from_dict
from zoo.tasks.classification import Classifier
from zoo.weights import check_state_dict, load_into

SPEC = spec_from_dict({"name": "toy", "family": "test", "task": "classification", "builder": "x:y",
                       "input": {"size": [32, 32], "resize": "stretch"}}, "test")


class WithConstant(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.register_buffer("offset", torch.arange(2.0), persistent=False)  # lost on a meta build


def test_meta_build_loads_every_tensor(tmp_path: Path) -> None:
    src = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    with torch.device("meta"):
        dst = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    load_into(dst, src.state_dict(), "test")
    assert not any(t.is_meta for t in dst.state_dict().values())
    assert torch.equal(dst[0].weight, src[0].weight)


def test_meta_build_with_lost_constant_is_refused() -> None:
    with torch.device("meta"):
        net = WithConstant()
    with pytest.raises(WeightsMismatchError, match="offset"):
        load_into(net, WithConstant().state_dict(), "test")


def test_mismatch_message_lists_missing_unexpected_and_shapes() -> None:
    want = {"a": torch.zeros(2), "b": torch.zeros(3), "c.num_batches_tracked": torch.zeros(())}
    got = {"a": torch.zeros(5), "z": torch.zeros(1)}
    with pytest.raises(WeightsMismatchError) as err:
        check_state_dict(want, got, "f.safetensors")
    msg = str(err.value)
    assert "1 missing [b]" in msg and "1 unexpected [z]" in msg and "a: model (2,) vs file (5,)" in msg
    assert "num_batches_tracked" not in msg  # optional: files from before PyTorch 0.4 lack it


def test_fp16_file_loads_into_fp32_model(tmp_path: Path) -> None:
    src = nn.Linear(3, 2)
    path = tmp_path / "half.safetensors"
    save_file({k: v.half() for k, v in src.state_dict().items()}, str(path))
    from zoo.weights import read_safetensors

    dst = nn.Linear(3, 2)
    load_into(dst, read_safetensors(path), "half")
    assert dst.weight.dtype == torch.float32
    assert torch.allclose(dst.weight, src.weight, atol=1e-3)


def test_images_of_every_kind_and_bad_ones(tmp_path: Path) -> None:
    arr = np.random.default_rng(0).integers(0, 255, (8, 10, 3), dtype=np.uint8)
    assert load_image(arr).shape == (8, 10, 3)
    assert load_image(arr[:, :, 0]).shape == (8, 10, 3)
    assert np.array_equal(load_image(torch.from_numpy(arr).permute(2, 0, 1)), arr)
    assert np.array_equal(load_image(torch.from_numpy(arr).permute(2, 0, 1).float() / 255), arr)
    with pytest.raises(InputError, match="no such file"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(InputError, match="shape"):
        load_image(np.zeros((2, 2, 7), np.uint8))
    with pytest.raises(InputError, match="type"):
        load_image(42)


def test_letterbox_is_darknets_integer_geometry_and_boxes_map_back() -> None:
    img = np.zeros((300, 451, 3), np.uint8)
    t, meta = letterbox(img, (416, 416), fill=127.5)
    new_h = (300 * 416) // 451  # Darknet: new_w = w, new_h = (im.h * w) / im.w in integers
    top = (416 - new_h) // 2
    assert t.shape == (1, 3, 416, 416) and meta.pad == (float(top), 0.0)
    assert t[0, 0, 0, 0].item() == 127.5 and t[0, 0, top + 1, 5].item() == 0
    box = torch.tensor([[0.0, top, 416.0, top + new_h]])
    back = boxes_to_original(box, meta)
    assert torch.allclose(back, torch.tensor([[0.0, 0.0, 451.0, 300.0]]), atol=1.0)


def test_stretch_and_resize_crop_map_boxes_back() -> None:
    img = np.zeros((200, 100, 3), np.uint8)
    t, meta = stretch(img, (50, 50))
    assert torch.allclose(boxes_to_original(torch.tensor([[0.0, 0.0, 50.0, 50.0]]), meta), torch.tensor([[0.0, 0.0, 100.0, 200.0]]))
    t, meta = resize_crop(img, (64, 64), 72)
    assert t.shape == (1, 3, 64, 64) and meta.crop == (40.0, 4.0)


def test_classifier_predict_single_and_list() -> None:
    net = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 1000))
    model = Classifier(SPEC, net).eval()
    img = np.random.default_rng(1).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    one = model.predict(img, topk=3)
    many = model.predict([img, img], topk=3)
    assert len(one.topk) == 3 and len(many) == 2 and many[0].topk[0].class_id == one.topk[0].class_id
    assert one.to_json()["topk"][0]["label"] == one.topk[0].label
    with pytest.raises(InputError, match="no images"):
        model.predict([])
