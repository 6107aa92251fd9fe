"""The shared keypoint result type: JSON round trip, table rows, drawing on a real image, and COCO records
through zoo.eval.coco.to_coco without an adapter."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zoo.eval.coco import to_coco
from zoo.tasks.keypoints import COCO_KEYPOINTS, COCO_SKELETON, KeypointResult, Person

IMAGE = Path("/work/shared/data/images/astronaut.png")
if not IMAGE.is_file():  # a clean clone without the shared data folder: any RGB image does
    IMAGE = None


def person(seed: int, box: bool = True, track_id: int | None = None) -> Person:
    g = np.random.default_rng(seed)
    kps = np.stack([40 + g.random(17) * 120, 30 + g.random(17) * 200, g.random(17)], 1)
    kps[3] = 0  # a joint the model did not find
    return Person(kps, 0.5 + 0.5 * g.random(), [35.0, 25.0, 170.0, 240.0] if box else None, track_id,
                  {"openpose18": [[1.0, 2.0, 0.5]] * 18} if not box else {})


def result() -> KeypointResult:
    return KeypointResult("x.png", (512, 512), [person(0), person(1, box=False, track_id=7)], joint_threshold=0.1)


def test_names_and_skeleton_follow_coco() -> None:
    from zoo.categories import categories

    assert COCO_KEYPOINTS == categories("coco17-keypoints")
    assert len(COCO_SKELETON) == 19 and all(0 <= a < 17 and 0 <= b < 17 for a, b in COCO_SKELETON)


def test_json_round_trip() -> None:
    r = result()
    doc = json.loads(json.dumps(r.to_json()))
    back = KeypointResult.from_json(doc)
    assert back.image_size == (512, 512) and back.joint_threshold == 0.1
    assert [p.track_id for p in back.people] == [None, 7]
    assert back.people[0].box == pytest.approx(r.people[0].box) and back.people[1].box is None
    for a, b in zip(back.people, r.people):
        np.testing.assert_allclose(a.keypoints, b.keypoints, atol=0.006)
        assert a.score == pytest.approx(b.score, abs=1e-6)
    assert back.people[1].extra == {"openpose18": [[1.0, 2.0, 0.5]] * 18}
    assert "track_id" not in doc["people"][0] and doc["keypoint_names"][0] == "nose"


def test_rows_count_joints_above_threshold() -> None:
    r = result()
    cols, rows = r.rows()
    assert cols == ["person", "track", "score", "joints", "box x1,y1,x2,y2"]
    assert rows[1][1] == 7 and rows[1][4] == ""
    want = int((r.people[0].keypoints[:, 2] > 0.1).sum())
    assert rows[0][3] == f"{want}/17"


def test_bad_keypoint_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="17 x 3"):
        Person(np.zeros((18, 3)), 1.0)


def test_draw_on_a_real_image_marks_joints_and_skips_low_ones(tmp_path: Path) -> None:
    if IMAGE is None:
        src = tmp_path / "plain.png"
        Image.fromarray(np.full((512, 512, 3), 90, np.uint8)).save(src)
    else:
        src = IMAGE
    base = np.asarray(Image.open(src).convert("RGB")).astype(int)
    kps = np.zeros((17, 3), np.float32)
    kps[5] = [100, 100, 0.9]   # left shoulder
    kps[7] = [100, 200, 0.9]   # left elbow: the limb 5-7 is drawn
    kps[6] = [300, 100, 0.05]  # right shoulder below the threshold: not drawn
    kps[8] = [300, 200, 0.9]   # right elbow: its limb to 6 is skipped
    r = KeypointResult(str(src), base.shape[:2], [Person(kps, 0.9, [80, 80, 320, 220], track_id=3)], 0.1)
    out = np.asarray(r.draw()).astype(int)
    assert out.shape == base.shape
    changed = np.abs(out - base).sum(-1) > 0
    assert changed[150, 99:102].any()          # on the left upper arm
    assert not changed[150, 298:303].any()     # no right upper arm (shoulder below threshold)
    assert changed[200, 298:303].any()         # the right elbow itself is drawn
    assert not changed[100, 297:304].any()     # the low-score right shoulder is not
    assert changed[80, 150:250].any()          # the box's top edge


def test_to_coco_reads_the_type_without_adapter() -> None:
    r = result()
    recs = to_coco(r, 5, {0: 1}, Counter(), answers="people")
    assert len(recs) == 2 and all(rec["category_id"] == 1 and rec["image_id"] == 5 for rec in recs)
    assert len(recs[0]["keypoints"]) == 51
    np.testing.assert_allclose(np.reshape(recs[0]["keypoints"], (17, 3)), r.people[0].keypoints, rtol=1e-6)
    assert recs[0]["bbox"] == pytest.approx([35.0, 25.0, 135.0, 215.0]) and "bbox" not in recs[1]
