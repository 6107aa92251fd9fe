"""End-to-end smoke: the registry lists built-in models and a classifier predicts on a real image."""

from __future__ import annotations

import zoo


def test_list_has_classic_models() -> None:
    names = zoo.list_models("resnet*")
    assert names == ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]


def test_random_init_classifier_predicts_topk(images) -> None:
    model = zoo.load("resnet18", pretrained=False)
    result = model.predict(str(images[0]))
    assert len(result.topk) == 5
    assert all(0 <= p.score <= 1 for p in result.topk)
    assert result.topk[0].score >= result.topk[-1].score
