"""SORT's Kalman box filter (Bewley et al. 2016, abewley/sort `KalmanBoxTracker`), in plain numpy.

State (u, v, s, r, u', v', s'): box centre, area and aspect ratio, with constant velocity for centre and
area (the aspect ratio is taken as constant). The noise settings are SORT's, on filterpy's defaults
(identity R, P, Q before scaling); the update uses the Joseph form as filterpy does.
"""

from __future__ import annotations

import numpy as np

F = np.eye(7)
F[0, 4] = F[1, 5] = F[2, 6] = 1.0
H = np.eye(4, 7)
R = np.eye(4)
R[2:, 2:] *= 10.0  # SORT: kf.R[2:, 2:] *= 10
P0 = np.eye(7)
P0[4:, 4:] *= 1000.0  # high uncertainty for the unobserved initial velocities
P0 *= 10.0
Q = np.eye(7)
Q[-1, -1] *= 0.01
Q[4:, 4:] *= 0.01


def box_to_z(box: np.ndarray) -> np.ndarray:
    """[x1, y1, x2, y2] -> (u, v, s, r) column."""
    w, h = box[2] - box[0], box[3] - box[1]
    return np.array([[box[0] + w / 2.0], [box[1] + h / 2.0], [w * h], [w / max(float(h), 1e-9)]])


def x_to_box(x: np.ndarray) -> np.ndarray:
    """State -> [x1, y1, x2, y2]."""
    s, r = max(float(x[2, 0]), 0.0), max(float(x[3, 0]), 1e-9)
    w = np.sqrt(s * r)
    h = s / w if w > 0 else 0.0
    return np.array([x[0, 0] - w / 2.0, x[1, 0] - h / 2.0, x[0, 0] + w / 2.0, x[1, 0] + h / 2.0])


class KalmanBox:
    """One tracked box: `predict()` advances a frame, `update(box)` corrects with a detection."""

    def __init__(self, box: np.ndarray):
        self.x = np.zeros((7, 1))
        self.x[:4] = box_to_z(np.asarray(box, np.float64))
        self.P = P0.copy()

    def predict(self) -> np.ndarray:
        if self.x[6, 0] + self.x[2, 0] <= 0:  # SORT: never predict a negative area
            self.x[6, 0] = 0.0
        self.x = F @ self.x
        self.P = F @ self.P @ F.T + Q
        return x_to_box(self.x)

    def update(self, box: np.ndarray) -> None:
        z = box_to_z(np.asarray(box, np.float64))
        y = z - H @ self.x
        S = H @ self.P @ H.T + R
        K = self.P @ H.T @ np.linalg.inv(S)
        self.x = self.x + K @ y
        ikh = np.eye(7) - K @ H
        self.P = ikh @ self.P @ ikh.T + K @ R @ K.T

    @property
    def box(self) -> np.ndarray:
        return x_to_box(self.x)
