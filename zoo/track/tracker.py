"""The tracker: SORT (Kalman-predicted boxes, Hungarian assignment on IoU) with OKS for skeletons.

Each frame, every live track predicts its box; the similarity of a track and a detection is their IoU, or,
when both carry keypoints, the mean of IoU and OKS (the track's last skeleton moved with its predicted box),
which keeps crossing people apart better than boxes alone. Matched tracks are corrected, unmatched
detections start new tracks, and tracks unmatched for more than `max_age` frames end. Ids count up from 1
per tracker and are never reused.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from zoo.track.associate import assign, iou_matrix, oks_matrix
from zoo.track.kalman import KalmanBox


@dataclass(frozen=True)
class TrackerConfig:
    max_age: int = 5  # frames a track survives without a match (SORT's default is 1, for detections every frame)
    threshold: float = 0.3  # minimum similarity to match (SORT's iou_threshold)
    trail: int = 30  # box centres kept per track for drawing

    def __post_init__(self) -> None:
        from zoo.errors import InputError

        # threshold is an IoU (or IoU/OKS mean): above 1 nothing ever matches, every detection a new track
        if not 0.0 <= self.threshold <= 1.0:
            raise InputError(f"threshold must be in [0, 1] (an IoU), got {self.threshold}")
        if self.max_age < 0 or self.trail < 0:
            raise InputError(f"max_age and trail must be at least 0, got {self.max_age} and {self.trail}")


@dataclass
class Track:
    id: int
    kf: KalmanBox
    box: np.ndarray  # last matched box
    keypoints: np.ndarray | None = None  # last matched skeleton (17, 2) and its visible joints
    visible: np.ndarray | None = None
    since_update: int = 0
    hits: int = 1
    trail: deque = field(default_factory=deque)


class Tracker:
    """`update(boxes, keypoints=None, visible=None)` once per frame -> a track id per detection."""

    def __init__(self, config: TrackerConfig | None = None):
        self.config = config or TrackerConfig()
        self.tracks: list[Track] = []
        self.next_id = 1
        self.frames = 0

    def update(self, boxes: np.ndarray, keypoints: np.ndarray | None = None,
               visible: np.ndarray | None = None) -> list[int]:
        """boxes (N, 4) xyxy; keypoints (N, 17, 2) and visible (N, 17) bool, or None -> N track ids."""
        self.frames += 1
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        for t in self.tracks:
            t.kf.predict()
            t.since_update += 1
        predicted = np.array([t.kf.box for t in self.tracks]).reshape(-1, 4)
        finite = np.isfinite(predicted).all(1)
        if not finite.all():  # SORT drops tracks whose prediction went NaN
            self.tracks = [t for t, ok in zip(self.tracks, finite) if ok]
            predicted = predicted[finite]
        sim = self.similarity(predicted, boxes, keypoints, visible)
        matched, _, new = assign(sim, self.config.threshold)
        ids = [0] * len(boxes)
        for r, c in matched:
            t = self.tracks[r]
            t.kf.update(boxes[c])
            t.box, t.since_update, t.hits = boxes[c], 0, t.hits + 1
            if keypoints is not None:
                t.keypoints, t.visible = keypoints[c], visible[c] if visible is not None else None
            ids[c] = t.id
        for c in new:
            t = Track(self.next_id, KalmanBox(boxes[c]), boxes[c],
                      keypoints[c] if keypoints is not None else None,
                      visible[c] if (keypoints is not None and visible is not None) else None)
            self.next_id += 1
            self.tracks.append(t)
            ids[c] = t.id
        for t in self.tracks:
            if t.since_update == 0:
                t.trail.append(((t.box[0] + t.box[2]) / 2, (t.box[1] + t.box[3]) / 2))
                while len(t.trail) > self.config.trail:
                    t.trail.popleft()
        self.tracks = [t for t in self.tracks if t.since_update <= self.config.max_age]
        return ids

    def similarity(self, predicted: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray | None,
                   visible: np.ndarray | None) -> np.ndarray:
        sim = iou_matrix(predicted, boxes)
        if keypoints is None or not len(self.tracks) or not len(boxes):
            return sim
        vis_b = visible if visible is not None else np.ones(keypoints.shape[:2], bool)
        rows = [i for i, t in enumerate(self.tracks) if t.keypoints is not None]
        if not rows:
            return sim
        shift = np.array([((predicted[i, :2] + predicted[i, 2:]) - (self.tracks[i].box[:2] + self.tracks[i].box[2:])) / 2
                          for i in rows])
        moved = np.stack([self.tracks[i].keypoints for i in rows]) + shift[:, None, :]
        vis_a = np.stack([self.tracks[i].visible if self.tracks[i].visible is not None else np.ones(17, bool)
                          for i in rows])
        pb = predicted[rows]
        areas = (pb[:, 2] - pb[:, 0]) * (pb[:, 3] - pb[:, 1])
        sim[rows] = 0.5 * (sim[rows] + oks_matrix(moved, keypoints, areas, vis_a, vis_b))
        return sim

    def trails(self) -> dict[int, list[tuple[float, float]]]:
        """Recent box centres of the live tracks (for drawing)."""
        return {t.id: list(t.trail) for t in self.tracks}
