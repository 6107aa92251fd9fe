"""COCO person keypoints: names and skeleton (torch-free, so plugin hooks can register label sets with them)."""

from __future__ import annotations

# COCO person keypoints, in order (zoo/data/coco17-keypoints.txt holds the same names).
COCO_KEYPOINTS = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
                  "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
                  "right_knee", "left_ankle", "right_ankle")

# The skeleton of COCO's person category (person_keypoints_*.json "skeleton", 1-based there, 0-based here).
COCO_SKELETON = ((15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8),
                 (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6))

# The label set pose models name as their categories: one class (person) with these keypoints and skeleton.
LABEL_SET = "coco-person-keypoints"
