"""`zoo track`: run a model over a video or an image folder, give each object a track id, and optionally
write the drawn frames (a video for a video, images for a folder) with ids and trails."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from zoo.errors import InputError
from zoo.images import InputFile
from zoo.track.tracker import Tracker, TrackerConfig

if TYPE_CHECKING:
    from zoo.taskspec import Task


@dataclass
class TrackRun:
    """What a tracking run produced: per-frame results (with track ids) and where the time went."""

    results: list[Any] = field(default_factory=list)
    tracks: int = 0
    seconds: float = 0.0
    association_seconds: float = 0.0
    output: str | None = None

    @property
    def fps(self) -> float:
        return len(self.results) / self.seconds if self.seconds > 0 else 0.0


def objects(result: Any, task: Task, joint_threshold: float | None = None) -> tuple[list[Any], np.ndarray,
                                                                                      np.ndarray | None,
                                                                                      np.ndarray | None]:
    """A result of `task` (detections or people: Task.trackable) -> (its objects, boxes (N, 4), keypoints
    (N, 17, 2) | None, visible (N, 17) | None). People without a box use the box around their joints; people
    with no joint at all are left untracked."""
    _check_trackable(task)
    if task.answers == "detections":
        items = list(result.detections)
        return items, np.array([d.box for d in items], np.float64).reshape(-1, 4), None, None
    thr = getattr(result, "joint_threshold", 0.0) if joint_threshold is None else joint_threshold
    items, boxes = [], []
    for p in result.people:
        box = p.box if p.box is not None else p.joint_box(thr)
        if box is not None:
            items.append(p)
            boxes.append(box)
    kps = np.stack([p.keypoints[:, :2] for p in items]).astype(np.float64) if items else np.zeros((0, 17, 2))
    vis = np.stack([p.visible(thr) for p in items]) if items else np.zeros((0, 17), bool)
    return items, np.array(boxes, np.float64).reshape(-1, 4), kps, vis


def _check_trackable(task: Task, name: str = "") -> None:
    if not task.trackable:
        who = f"{name} is a {task.name} model" if name else f"{task.name} results have no objects to track"
        raise InputError(f"{who}: zoo track follows the boxes of detection and the skeletons of keypoint models")


def track_inputs(source: str | Path, every: int = 1) -> list[InputFile]:
    """The frames `track` runs on: a video file, or a folder's images (sorted; every `every`-th). A missing,
    unreadable or empty source raises InputError here, before any model runs."""
    from zoo.errors import at_least
    from zoo.images import collect_inputs, is_video, read_video

    at_least("every", every)
    path = Path(source)
    if path.is_dir():
        return collect_inputs([str(path)])[::every]  # raises for a folder without images
    if not path.exists():
        raise InputError(f"{path}: no such video or folder")
    if not is_video(path):
        raise InputError(f"{path}: not a video file or a folder of images")
    _, frames = read_video(path)  # raises for a file that is not a readable video
    frames.close()
    return collect_inputs([str(path)])


def draw_tracks(result: Any, frame: np.ndarray, trails: dict[int, list[tuple[float, float]]]) -> Any:
    """The result drawn on its frame, plus each live track's trail of box centres."""
    from PIL import ImageDraw

    from zoo.tasks.results import color

    canvas = result.draw(frame)
    d = ImageDraw.Draw(canvas)
    width = max(2, round(max(canvas.size) / 400))
    for tid, pts in trails.items():
        if len(pts) > 1:
            d.line([(float(x), float(y)) for x, y in pts], fill=color(tid), width=width)
    return canvas


def check_trackable(spec: Any) -> None:
    """Tracking follows boxes or skeletons: a model whose task's results hold neither is refused up front,
    named by its task (before it is built or any frame is read)."""
    from zoo.plugin_manager import default_registry

    _check_trackable(default_registry().task(spec.task), spec.name)


def track_outputs(files: list[InputFile], source: str | Path, out_dir: str | Path, model_name: str) -> dict[int, Path]:
    """id(frame file) -> the file its drawing goes to: one '<stem>.<model>.mp4' for a video, a
    '<stem>.<model>.jpg' per image of a folder ('a.png' and 'a.jpg' would share one name: the second gets
    'a-2.<model>.jpg')."""
    from zoo.images import distinct_rels

    out = Path(out_dir)
    if Path(source).is_file():  # track_inputs let only a video file through
        return {id(f): out / f"{Path(source).stem}.{model_name}.mp4" for f in files}
    rels = distinct_rels(files, lambda rel: Path(f"{rel.stem}.{model_name}.jpg"))
    return {id(f): out / f"{rel.stem}.{model_name}.jpg" for f, rel in zip(files, rels)}


def track(model: Any, source: str | Path, out_dir: str | Path | None = None, every: int = 1,
          config: TrackerConfig | None = None, batch_size: int = 1, force: bool = False,
          **predict_options: Any) -> TrackRun:
    """Run `model` (a ZooModel) over `source`'s frames (the library's predict loop, zoo.data.predict: decoded by
    a DataLoader while the model runs, `batch_size` frames at a time) and assign track ids in place, in order.
    A drawing that would replace a file already in `out_dir` is refused (InputError) unless `force`."""
    from zoo.data.predict import predict_files
    from zoo.fsutil import refuse_existing
    from zoo.tasks.parity import task_of

    task = task_of(model)
    _check_trackable(task, model.spec.name)  # before any frame is read
    files = track_inputs(source, every)
    video = Path(source).is_file()  # track_inputs let only a video file through
    outputs = track_outputs(files, source, out_dir, model.spec.name) if out_dir is not None else {}
    if not force:
        refuse_existing(outputs.values())
    tracker = Tracker(config)
    run = TrackRun()
    writer = None
    start = time.perf_counter()
    done = False
    try:
        for p in predict_files(model, files, batch_size, every, predict_options):
            if p.error is not None:
                raise InputError(p.error)
            result = p.result
            t0 = time.perf_counter()
            items, boxes, kps, vis = objects(result, task)
            for item, tid in zip(items, tracker.update(boxes, kps, vis)):
                item.track_id = tid
            run.association_seconds += time.perf_counter() - t0
            run.results.append(result)
            if outputs:
                drawn = np.asarray(draw_tracks(result, p.image, tracker.trails()))
                writer = _write(outputs[id(p.input)], drawn, video, (p.fps or 10.0) / max(1, every), writer)
        done = True
    finally:
        if writer is not None:
            writer.close(keep=done)
    if not run.results:
        raise InputError(f"{source}: no frames to track")
    run.seconds = time.perf_counter() - start
    run.tracks = tracker.next_id - 1
    if out_dir is not None:
        run.output = str(next(iter(outputs.values()))) if video else str(out_dir)
    return run


def _write(dst: Path, drawn: np.ndarray, video: bool, fps: float, writer: Any) -> Any:
    """One drawn frame: into the video (zoo.images.VideoOut, opened at the first frame), or as its own image;
    both written atomically."""
    from PIL import Image

    from zoo.fsutil import atomic_path
    from zoo.images import VideoOut

    if not video:
        with atomic_path(dst) as tmp:
            Image.fromarray(drawn).save(tmp, quality=92)
        return None
    writer = writer or VideoOut(dst, fps)
    writer.write(drawn)
    return writer
