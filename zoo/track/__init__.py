"""Multi-object tracking shared by detectors and pose models: SORT's constant-velocity Kalman box filter,
Hungarian assignment on IoU (plus OKS for keypoints), and a runner over videos and image folders.
Nothing here imports torch."""

from zoo.track.tracker import Tracker, TrackerConfig

__all__ = ["Tracker", "TrackerConfig"]
