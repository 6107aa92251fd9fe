"""`same_detections`: the issue's "same detections" (same classes, IoU >= 0.9, score within 0.02), which
`zoo bench --backend` reports too."""

from __future__ import annotations

from zoo.runtimes import same_detections
from zoo.tasks.detection import Detection, DetectionResult


def det(box: list[float], score: float, cls: int = 1, label: str = "person") -> Detection:
    return Detection(box=box, label=label, class_id=cls, score=score)


def result(*dets: Detection) -> DetectionResult:
    return DetectionResult(source=None, image_size=(100, 120), detections=list(dets))


A = [det([10, 10, 50, 90], 0.9), det([60, 20, 100, 60], 0.5, 3, "car")]


def test_the_same_detections_in_any_order_match() -> None:
    ok, why = same_detections(result(*A), result(A[1], det([10.5, 10, 50, 90], 0.91)))
    assert ok and "2 detections match" in why and "min IoU 0.98" in why


def test_each_criterion_can_fail() -> None:
    moved = det([14, 10, 54, 90], 0.9)  # IoU 0.82
    assert not same_detections(result(*A), result(moved, A[1]))[0]
    assert same_detections(result(*A), result(moved, A[1]), iou=0.8)[0]
    assert "has no match" in same_detections(result(*A), result(det([10, 10, 50, 90], 0.87), A[1]))[1]
    other_class = det([10, 10, 50, 90], 0.9, 2, "bicycle")
    assert not same_detections(result(*A), result(other_class, A[1]))[0]
    assert same_detections(result(*A), result(A[0]))[1] == "2 detections against 1"
    assert same_detections([result(*A), result()], [result(*A), result()])[0]  # lists of results (a batch)


def test_a_box_at_the_threshold_on_one_side_only() -> None:
    weak = det([0, 0, 8, 8], 0.26, 5, "tie")
    assert not same_detections(result(*A, weak), result(*A))[0]  # without the threshold: a mismatch
    assert same_detections(result(*A, weak), result(*A), conf=0.25)[0]  # 0.26 is a hair above 0.25
    strong = det([0, 0, 8, 8], 0.4, 5, "tie")
    assert not same_detections(result(*A, strong), result(*A), conf=0.25)[0]  # far above it: a real difference


def test_equal_zero_area_boxes_are_the_same_box() -> None:
    flat = det([5, 5, 5, 20], 0.7)
    assert same_detections(result(flat), result(det([5, 5, 5, 20], 0.7)))[0]
