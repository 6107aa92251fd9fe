"""Tracking (zoo.track): SORT's Kalman box filter, Hungarian assignment on IoU and OKS, ids through
crossings and missed frames on synthetic sequences (id switches counted), and `zoo track` end to end on a
generated video and folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch

from zoo.cli import main
from zoo.model import as_image_list
from zoo.ops.resize import ImageMeta
from zoo.registry import Registry
from zoo.spec import ModelSpec
from zoo.tasks.detection import Detection, DetectionResult, Detector
from zoo.tasks.keypoints import KeypointResult, Person
from zoo.track import Tracker, TrackerConfig
from zoo.track.associate import assign, iou_matrix, oks_matrix
from zoo.track.kalman import KalmanBox
from zoo.track.run import objects, track

TASKS = {t.name: t for t in Registry().tasks()}


def id_switches(truth: list[list[int]], ids: list[list[int]]) -> int:
    """MOT-style count: a ground-truth object whose track id differs from its previous one."""
    last: dict[int, int] = {}
    switches = 0
    for gts, tids in zip(truth, ids):
        for g, t in zip(gts, tids):
            if g in last and last[g] != t:
                switches += 1
            last[g] = t
    return switches


def test_kalman_learns_constant_velocity() -> None:
    kf = KalmanBox(np.array([10, 20, 50, 100.0]))
    for k in range(1, 12):
        kf.predict()
        kf.update(np.array([10 + 4 * k, 20 + 2 * k, 50 + 4 * k, 100.0 + 2 * k]))
    pred = kf.predict()
    np.testing.assert_allclose(pred, [10 + 48, 20 + 24, 50 + 48, 100 + 24], atol=0.5)


def test_iou_oks_and_assignment() -> None:
    a = np.array([[0, 0, 10, 10], [20, 20, 30, 30.0]])
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30.0], [100, 100, 110, 110.0]])
    np.testing.assert_allclose(iou_matrix(a, b), [[50 / 150, 0, 0], [0, 1, 0]])
    g = np.random.default_rng(0)
    kp = g.random((2, 17, 2)) * 50
    vis = np.ones((2, 17), bool)
    oks = oks_matrix(kp, kp, np.array([2500.0, 2500.0]), vis, vis)
    assert oks[0, 0] == pytest.approx(1.0) and oks[0, 1] < 0.5
    matched, rows, cols = assign(np.array([[0.9, 0.8], [0.85, 0.1], [0.0, 0.0]]), 0.3)
    assert matched == [(0, 1), (1, 0)] and rows == [2] and cols == []


def crossing(frames: int = 40) -> list[list[tuple[int, np.ndarray]]]:
    """Two boxes moving through each other horizontally (half a box apart vertically) and a third, still one."""
    out = []
    for f in range(frames):
        a = np.array([10 + 5 * f, 50, 50 + 5 * f, 130.0])
        b = np.array([210 - 5 * f, 90, 250 - 5 * f, 170.0])
        c = np.array([300, 10, 330, 60.0])
        out.append([(0, a), (1, b), (2, c)])
    return out


def test_boxes_keep_ids_through_a_crossing_and_two_missed_frames() -> None:
    tracker = Tracker(TrackerConfig(max_age=3))
    truth, ids = [], []
    rng = np.random.default_rng(0)
    for f, objs in enumerate(crossing()):
        if f in (19, 20):
            objs = [o for o in objs if o[0] != 0]  # object 0 is missed for two frames, right at the crossing
        if f in (5, 6):
            objs = [o for o in objs if o[0] != 2]
        objs = [objs[i] for i in rng.permutation(len(objs))]  # detection order means nothing
        truth.append([g for g, _ in objs])
        ids.append(tracker.update(np.stack([b for _, b in objs])))
    assert id_switches(truth, ids) == 0
    assert sorted({i for row in ids for i in row}) == [1, 2, 3]


def skeleton(center: np.ndarray, arms_up: bool) -> np.ndarray:
    g = np.random.default_rng(int(arms_up))
    pts = g.random((17, 2)) * [40, 80] - [20, 40]
    pts[9:11, 1] = -45 if arms_up else 35  # wrists
    return pts + center


def test_skeletons_crossing_on_the_same_line_keep_ids_with_oks() -> None:
    """Equal boxes meeting head on: IoU alone cannot tell them apart where they coincide; OKS can."""
    tracker = Tracker()
    truth, ids = [], []
    for f in range(30):
        centers = {0: np.array([40.0 + 6 * f, 100.0]), 1: np.array([214.0 - 6 * f, 100.0])}
        order = [1, 0] if f % 2 else [0, 1]
        kps = np.stack([skeleton(centers[g], g == 0) for g in order])
        boxes = np.stack([np.r_[centers[g] - [25, 50], centers[g] + [25, 50]] for g in order])
        truth.append(order)
        ids.append(tracker.update(boxes, kps, np.ones((2, 17), bool)))
    assert id_switches(truth, ids) == 0


def test_ids_are_never_reused() -> None:
    tracker = Tracker(TrackerConfig(max_age=1))
    first = tracker.update(np.array([[0, 0, 10, 10.0]]))
    for _ in range(3):
        assert tracker.update(np.zeros((0, 4))) == []
    again = tracker.update(np.array([[0, 0, 10, 10.0]]))
    assert first == [1] and again == [2]


def test_objects_of_keypoint_results_use_joint_boxes() -> None:
    kps = np.zeros((17, 3), np.float32)
    kps[:5] = [[10, 20, 0.9], [30, 25, 0.8], [20, 60, 0.7], [0, 0, 0.0], [15, 40, 0.5]]
    r = KeypointResult(None, (100, 100), [Person(kps, 0.9), Person(np.zeros((17, 3)), 0.5)])
    items, boxes, k, vis = objects(r, TASKS["keypoints"])
    assert len(items) == 1 and boxes.tolist() == [[10, 20, 30, 60]] and vis[0, :5].tolist() == [1, 1, 1, 0, 1]


# ----------------------------------------------------------------------------------- zoo track end to end

class BlobDetector(Detector):
    """Finds the bright rectangles of `write_video`'s frames: a stand-in detector with exact boxes."""

    def __init__(self) -> None:
        super().__init__(ModelSpec(name="blobs", family="test", task="detection", builder="x:y"), torch.nn.Identity())

    def preprocess(self, images: Any) -> tuple[list[np.ndarray], list[ImageMeta]]:
        from zoo.images import load_image

        arrays = [load_image(i) for i in as_image_list(images)]
        return arrays, [ImageMeta(a.shape[:2], a.shape[:2]) for a in arrays]

    def forward(self, batch: Any) -> Any:
        return batch

    def postprocess(self, raw: list[np.ndarray], metas: list[ImageMeta]) -> list[DetectionResult]:
        out = []
        for a, meta in zip(raw, metas):
            dets = []
            for ch in range(3):
                others = np.delete(a, ch, axis=2)
                ys, xs = np.nonzero((a[:, :, ch] > 150) & (others < 100).all(-1))
                if len(xs) > 20:
                    dets.append(Detection([float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)],
                                          "blob", ch, 0.9))
            out.append(DetectionResult(None, meta.orig_size, dets))
        return out


def write_frames(n: int = 24) -> list[np.ndarray]:
    frames = []
    for f in range(n):
        im = np.zeros((96, 160, 3), np.uint8)
        im[20:50, 5 + 5 * f:35 + 5 * f, 0] = 220  # red, moving right
        im[40:70, 125 - 5 * f:155 - 5 * f, 1] = 220  # green, moving left: they cross
        frames.append(im)
    return frames


def test_track_runs_over_a_video_and_a_folder(tmp_path: Path) -> None:
    frames = write_frames()
    video = tmp_path / "clip.avi"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 96))
    for im in frames:
        w.write(im[:, :, ::-1])
    w.release()
    run = track(BlobDetector(), video, tmp_path / "out")
    assert len(run.results) == len(frames) and run.tracks == 2
    by_label = {}
    for r in run.results:
        for d in r.detections:
            by_label.setdefault(d.class_id, set()).add(d.track_id)
    assert by_label == {0: {1}, 1: {2}} or by_label == {0: {2}, 1: {1}}
    assert Path(run.output).is_file() and run.results[3].source == f"{video}#frame=3"
    assert run.results[0].to_json()["detections"][0]["track_id"] in (1, 2)

    folder = tmp_path / "frames"
    folder.mkdir()
    from PIL import Image

    for i, im in enumerate(frames[:6]):
        Image.fromarray(im).save(folder / f"{i:04d}.png")
    run = track(BlobDetector(), folder, tmp_path / "out2")
    assert run.tracks == 2 and len(list((tmp_path / "out2").glob("*.jpg"))) == 6


def test_classification_results_cannot_be_tracked() -> None:
    from zoo.errors import InputError
    from zoo.tasks.classification import ClassificationResult

    with pytest.raises(InputError, match="no objects to track"):
        objects(ClassificationResult(None, (8, 8), []), TASKS["classification"])


def test_track_cli_bad_inputs_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    for src, msg in ((empty, "holds no images"), (broken, "not a readable video"), (tmp_path / "nope", "no such")):
        with pytest.raises(SystemExit) as e:
            main(["track", "yolov3-tiny", str(src), "--random-init"])
        assert e.value.code != 0
        err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
        assert len(err) == 1 and msg in err[0] and "Traceback" not in err[0]


class BlobPose(BlobDetector):
    """The same blobs as skeletons without boxes (a bottom-up pose model's results)."""

    def __init__(self) -> None:
        super().__init__()
        self.spec = ModelSpec(name="blob-pose", family="test", task="keypoints", builder="x:y")

    def postprocess(self, raw: list[np.ndarray], metas: list[ImageMeta]) -> list[Any]:
        out = []
        for r in super().postprocess(raw, metas):
            people = []
            for d in r.detections:
                x1, y1, x2, y2 = d.box
                g = np.random.default_rng(d.class_id)
                kps = np.c_[x1 + g.random(17) * (x2 - x1), y1 + g.random(17) * (y2 - y1), np.full(17, 0.8)]
                people.append(Person(kps, 0.9))
            out.append(KeypointResult(None, r.image_size, people))
        return out


def test_track_keypoint_results_through_a_crossing(tmp_path: Path) -> None:
    from PIL import Image

    folder = tmp_path / "frames"
    folder.mkdir()
    for i, im in enumerate(write_frames()):
        Image.fromarray(im).save(folder / f"{i:04d}.png")
    run = track(BlobPose(), folder)
    assert run.tracks == 2 and all(len(r.people) == 2 for r in run.results)
    ids = [[p.track_id for p in r.people] for r in run.results]
    assert all(sorted(row) == [1, 2] for row in ids) and len({tuple(row) for row in ids}) == 1  # red first, always
    assert run.results[0].to_json()["people"][0]["track_id"] == ids[0][0]
