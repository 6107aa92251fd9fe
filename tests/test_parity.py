"""zoo.tasks.parity: each task's answers compared by its Task, one tolerance table, raw outputs by max abs."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from zoo.errors import SpecError
from zoo.registry import Registry
from zoo.tasks.classification import ClassificationResult, Label
from zoo.tasks.detection import Detection, DetectionResult
from zoo.tasks.generation import GenerationResult
from zoo.tasks.keypoints import KeypointResult, Person
from zoo.tasks.parity import (
    TOLERANCES,
    Agreement,
    DetectionTolerance,
    compare_outputs,
    compare_results,
    psnr,
    tolerance_for,
)

TASKS = {t.name: t for t in Registry().tasks()}  # the built-in Tasks


def cls(*scores: tuple[int, float]) -> ClassificationResult:
    return ClassificationResult("x.jpg", (8, 8), [Label(f"c{i}", i, s) for i, s in scores])


def det(*boxes: tuple[int, float, list[float]], landmarks: list | None = None) -> DetectionResult:
    return DetectionResult("x.jpg", (100, 100), [Detection(b, f"c{c}", c, s, landmarks=landmarks) for c, s, b in boxes])


def test_every_builtin_task_says_how_it_is_compared() -> None:
    assert {t.name: t.answers for t in TASKS.values()} == {
        "classification": "topk", "detection": "detections", "instance-segmentation": "detections",
        "keypoints": "people", "generation": "images", "image-translation": "images"}
    assert TASKS["detection"].has_detections and not TASKS["keypoints"].has_detections
    assert TASKS["keypoints"].trackable and not TASKS["classification"].trackable
    with pytest.raises(SpecError, match="answers 'boxes' is not one of"):
        dataclasses.replace(TASKS["detection"], name="t", answers="boxes")


def test_classification_top1_and_topk() -> None:
    ref = [cls((1, 0.6), (2, 0.2), (3, 0.1)), cls((4, 0.9), (5, 0.05), (6, 0.01))]
    same = compare_results(TASKS["classification"], ref, [cls((1, 0.58), (2, 0.21), (3, 0.1)), ref[1]])
    assert same == Agreement(True, "top-1 2/2, top-3 2/2", (), same.metrics)
    changed = compare_results("classification", ref, [cls((2, 0.5), (1, 0.4), (3, 0.1)), ref[1]])
    assert not changed.same and changed.summary.startswith("top-1 1/2, top-3 2/2: image 0: top-1 c1 0.600 -> c2")
    assert changed.metrics["top1_same"] == 1.0


def test_classification_ties_are_not_changes() -> None:
    ref = [cls((1, 0.405), (2, 0.40), (3, 0.1), (7, 0.05))]
    tie = [cls((2, 0.41), (1, 0.40), (3, 0.1), (8, 0.049))]  # top-1 within 0.01; c7/c8 swap at the top-4 cut
    assert compare_results("classification", ref, tie).same
    far = [cls((1, 0.405), (2, 0.40), (9, 0.15), (3, 0.04))]  # c9 enters far above the cut
    agree = compare_results("classification", ref, far)
    assert not agree.same and "top-4 lost none, gained c9" in agree.mismatches[0]


def test_detections_match_one_to_one() -> None:
    ref = [det((0, 0.9, [0, 0, 50, 50]), (1, 0.8, [50, 50, 90, 90]))]
    near = [det((1, 0.79, [50.5, 50, 90, 90]), (0, 0.91, [0, 0, 50, 50.5]))]
    agree = compare_results("detection", ref, near)
    assert agree.same and agree.summary.startswith("2 detections match (min IoU 0.98")
    moved = [det((0, 0.9, [0, 0, 50, 50]), (1, 0.8, [60, 60, 100, 100]))]
    agree = compare_results("detection", ref, moved)
    assert not agree.same
    assert agree.summary.startswith("1 of 2 detections differ, 1 extra: image 0: c1 0.80 at [50.0, 50.0, 90.0, 90.0] missing "
                                    "(nearest: IoU 0.39, score 0.80)")
    assert agree.mismatches[1] == "image 0: extra c1 0.80 at [60.0, 60.0, 100.0, 100.0]"


def test_equal_zero_area_boxes_are_the_same_box_and_a_batch_is_a_list() -> None:
    flat = det((1, 0.7, [5, 5, 5, 20]))
    assert compare_results("detection", flat, det((1, 0.7, [5, 5, 5, 20]))).same  # one result: one input
    moved = det((1, 0.7, [6, 5, 6, 20]))
    assert not compare_results("detection", [det(), flat], [det(), moved]).same
    assert compare_results("detection", [det(), flat], [det(), moved], tolerance=DetectionTolerance(iou=0.0)).same


def test_detection_score_tolerance_depends_on_precision() -> None:
    ref = [det((0, 0.9, [0, 0, 50, 50]))]
    got = [det((0, 0.875, [0, 0, 50, 50]))]  # 0.025: beyond fp32's 0.02, within reduced precision's 0.03
    assert not compare_results("detection", ref, got).same
    assert compare_results("detection", ref, got, precision="bf16").same
    assert tolerance_for("detection", "int8") == TOLERANCES["detections"]["reduced"]
    assert compare_results("detection", ref, got, tolerance=DetectionTolerance(score=0.05)).same


def test_detections_at_the_threshold_may_come_and_go() -> None:
    ref = [det((0, 0.9, [0, 0, 50, 50]), (2, 0.26, [10, 10, 20, 20]))]
    got = [det((0, 0.9, [0, 0, 50, 50]))]
    assert compare_results("detection", ref, got, conf=0.25).same  # 0.26 is within 0.02 of the threshold
    assert not compare_results("detection", ref, got, conf=0.1).same


def test_detection_landmarks_by_pixels() -> None:
    pts = [[10.0, 10.0], [20.0, 10.0]]
    ref = [det((0, 0.9, [0, 0, 50, 50]), landmarks=pts)]
    assert compare_results("detection", ref, [det((0, 0.9, [0, 0, 50, 50]), landmarks=[[11, 10], [20, 11]])]).same
    far = compare_results("detection", ref, [det((0, 0.9, [0, 0, 50, 50]), landmarks=[[15, 10], [20, 10]])])
    assert not far.same and "landmarks moved 5.0 px" in far.summary


def person(dx: float = 0.0, score: float = 0.9, joint: float = 0.8) -> Person:
    kps = np.stack([np.arange(17) * 3.0 + dx, np.arange(17) * 2.0, np.full(17, joint)], 1)
    return Person(kps, score)


def test_people_by_joint_distance() -> None:
    ref = [KeypointResult("x", (100, 100), [person(), person(40.0, 0.7)], joint_threshold=0.2)]
    assert compare_results("keypoints", ref, [KeypointResult("x", (100, 100), [person(40.5, 0.7), person(0.5)],
                                                             joint_threshold=0.2)]).same
    agree = compare_results("keypoints", ref, [KeypointResult("x", (100, 100), [person(2.0), person(40.0, 0.7)])])
    assert not agree.same and agree.summary.startswith("1 of 2 people differ, 1 extra: image 0: person 0 (0.90) not found")
    assert compare_results("keypoints", ref, [KeypointResult("x", (100, 100), [person(2.0), person(40.0, 0.7)])],
                           precision="bf16").same  # 2 px: within reduced precision's 3


def test_images_by_psnr() -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    noisy = np.clip(img.astype(int) + rng.integers(-4, 5, img.shape), 0, 255).astype(np.uint8)
    ref = [GenerationResult(None, (16, 16), images=[img])]
    assert psnr(img, img) == math.inf
    assert 30 < psnr(img, noisy) < 40
    assert not compare_results("generation", ref, [GenerationResult(None, (16, 16), images=[noisy])]).same
    assert compare_results("generation", ref, [GenerationResult(None, (16, 16), images=[noisy])], precision="fp16").same


def test_embeddings_by_cosine_and_plugin_tasks_through_the_registry() -> None:
    from dataclasses import dataclass

    @dataclass
    class Emb:
        embedding: list[float]

    reg = Registry(tasks=[dataclasses.replace(TASKS["classification"], name="emb", answers="embedding")])
    task = reg.task("emb")
    assert compare_results(task, [Emb([1.0, 0.0])], [Emb([0.9999, 0.001])], precision="bf16").same
    agree = compare_results(task, [Emb([1.0, 0.0])], [Emb([0.8, 0.6])], precision="bf16")
    assert not agree.same and agree.summary == "1 of 1 embeddings differ: input 0: cosine 0.8000 (at least 0.99)"


def test_tasks_without_an_answers_kind_compare_their_json() -> None:
    from dataclasses import dataclass

    @dataclass
    class R:
        value: float

        def to_json(self) -> dict:
            return {"value": self.value, "label": "a"}

    task = dataclasses.replace(TASKS["classification"], name="plain", answers=None)
    assert compare_results(task, [R(1.0)], [R(1.0 + 1e-5)]).same
    agree = compare_results(task, [R(1.0)], [R(1.1)])
    assert not agree.same and agree.summary.startswith("results' JSON: max abs 0.1 at output[0]['value']")


def test_result_counts_must_agree() -> None:
    agree = compare_results("classification", [cls((1, 0.9))], [])
    assert not agree.same and agree.summary == "0 results against the reference's 1"


def test_compare_outputs_max_abs_and_structure() -> None:
    a = {"boxes": torch.ones(2, 4) * 100, "ids": torch.tensor([1, 2])}
    b = {"boxes": torch.ones(2, 4) * 100 + 0.01, "ids": torch.tensor([1, 2])}
    ok = compare_outputs(a, b, atol=1e-3, rtol=1e-4)  # allowed 1e-3 + 1e-4 * 100 = 0.011
    assert ok.same and ok.metrics["max_abs"] == pytest.approx(0.01, abs=1e-5)
    assert ok.metrics["allowed"] == pytest.approx(0.011)
    assert not compare_outputs(a, b, atol=1e-3).same
    ids = compare_outputs(a, {**b, "ids": torch.tensor([1, 3])}, atol=1.0)
    assert not ids.same and ids.summary == "output['ids']: 1 of 2 values differ (not floating: must be equal)"
    shape = compare_outputs([np.zeros(3)], [np.zeros(4)], atol=1.0)
    assert not shape.same and shape.summary == "output[0]: shape (4,) against the reference's (3,)"
    assert shape.metrics["max_abs"] == math.inf
    assert not compare_outputs(torch.tensor([1.0]), torch.tensor([float("nan")]), atol=1.0).same
    assert compare_outputs(torch.ones(2, dtype=torch.bfloat16), np.ones(2, np.float32), atol=0.0).same
    assert not compare_outputs([1, 2], (1, 2, 3), atol=1.0).same


def test_outputs_that_do_not_line_up_are_never_equal() -> None:
    a = torch.ones(2, 3)
    assert compare_outputs(a, a + 0.5, atol=0.0).metrics == {"max_abs": 0.5, "scale": 1.0, "allowed": 0.0}
    assert compare_outputs(a, np.ones((2, 3), np.float32), atol=0.0).same  # a backend's numpy output is compared
    for other in (torch.ones(3, 2), [a], None, {"x": a}):
        assert compare_outputs(a, other, atol=1.0).metrics["max_abs"] == math.inf
    assert not compare_outputs({"x": a}, {"y": a}, atol=1.0).same and not compare_outputs([a], [a, a], atol=1.0).same
