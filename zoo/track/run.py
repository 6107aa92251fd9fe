"""`zoo track`: run a model over a video or an image folder, give each object a track id, and optionally
write the drawn frames (a video for a video, images for a folder) with ids and trails."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import InputError
from zoo.track.tracker import Tracker, TrackerConfig


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


def objects(result: Any, joint_threshold: float | None = None) -> tuple[list[Any], np.ndarray, np.ndarray | None,
                                                                          np.ndarray | None]:
    """A detection or keypoint result -> (its objects, boxes (N, 4), keypoints (N, 17, 2) | None,
    visible (N, 17) | None). People without a box use the box around their joints; people with no joint
    at all are left untracked."""
    if not hasattr(result, "detections") and not hasattr(result, "people"):
        raise InputError(f"{type(result).__name__} has no objects to track (detection and keypoint models only)")
    if hasattr(result, "detections"):
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


def frames_of(source: str | Path, every: int = 1) -> tuple[float, Iterator[tuple[str, np.ndarray]], bool]:
    """(fps, iterator of (frame name, RGB frame), is_video) for a video file or a folder of images."""
    from zoo.images import expand_inputs, is_video, load_image, read_video

    path = Path(source)
    if path.is_dir():
        files = expand_inputs([str(path)])  # raises for a folder without images

        def images() -> Iterator[tuple[str, np.ndarray]]:
            for i, f in enumerate(files):
                if i % max(1, every) == 0:
                    yield str(f), load_image(f)

        return 10.0, images(), False
    if not path.exists():
        raise InputError(f"{path}: no such video or folder")
    if not is_video(path):
        raise InputError(f"{path}: not a video file or a folder of images")
    fps, frames = read_video(path, every)
    return fps, ((f"{path}#frame={i}", frame) for i, frame in frames), True


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
    named by its task (not by an internal result class, after the first frame)."""
    import dataclasses

    from zoo.plugin_manager import default_registry
    from zoo.refs import resolve_ref

    task = default_registry().task(spec.task)
    result = resolve_ref(task.result, "result type")
    fields = {f.name for f in dataclasses.fields(result)} if dataclasses.is_dataclass(result) else set()
    if not fields & {"detections", "people"}:
        raise InputError(f"{spec.name} is a {spec.task} model: zoo track follows the boxes of detection and the "
                         "skeletons of keypoint models")


def track(model: Any, source: str | Path, out_dir: str | Path | None = None, every: int = 1,
          config: TrackerConfig | None = None, **predict_options: Any) -> TrackRun:
    """Run `model` (a ZooModel) frame by frame over `source` and assign track ids in place."""
    from zoo.data.loader import takes_device_images

    check_trackable(model.spec)
    fps, frames, video = frames_of(source, every)
    if getattr(model, "device", None) is not None and model.device.type == "cuda" and takes_device_images(model):
        frames = _device_frames(source, every, model.device, video, frames)
    tracker = Tracker(config)
    run = TrackRun()
    writer, out = None, Path(out_dir) if out_dir is not None else None
    start = time.perf_counter()
    try:
        for name, frame in frames:
            result = model.predict(frame, **predict_options)
            result.source = name
            t0 = time.perf_counter()
            items, boxes, kps, vis = objects(result)
            for item, tid in zip(items, tracker.update(boxes, kps, vis)):
                item.track_id = tid
            run.association_seconds += time.perf_counter() - t0
            run.results.append(result)
            if out is not None:
                drawn = np.asarray(draw_tracks(result, frame, tracker.trails()))
                writer = _write(out, source, name, drawn, video, fps / max(1, every), writer, model.spec.name)
    finally:
        if writer is not None:
            writer.release()
    if not run.results:
        raise InputError(f"{source}: no frames to track")
    run.seconds = time.perf_counter() - start
    run.tracks = tracker.next_id - 1
    if out is not None:
        run.output = str(out / f"{Path(source).stem}.{model.spec.name}.mp4") if video else str(out)
    return run


def _device_frames(source: str | Path, every: int, device: Any, video: bool,
                   frames: Iterator[tuple[str, np.ndarray]]) -> Iterator[tuple[str, Any]]:
    """The frames of frames_of, decoded by a DataLoader worker while the GPU runs the previous one and handed
    over as uint8 3xHxW images on the device (zoo.data.loader)."""
    from zoo.data.loader import image_batches, video_batches
    from zoo.images import expand_inputs

    if hasattr(frames, "close"):
        frames.close()  # replaced by the loader's own reader
    if video:
        _, batches = video_batches(source, 1, device, every)
    else:
        files = expand_inputs([str(source)])
        batches = image_batches(files[::max(1, every)], 1, device)
    for batch in batches:
        for item in batch:
            if item.error is not None:
                raise InputError(item.error)
            yield str(item.name), item.image  # predict takes it as it is; drawing reads it back (load_image)


def _write(out: Path, source: str | Path, name: str, drawn: np.ndarray, video: bool, fps: float, writer: Any,
           model_name: str) -> Any:
    import cv2
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    if not video:
        Image.fromarray(drawn).save(out / f"{Path(name).stem}.{model_name}.jpg", quality=92)
        return None
    if writer is None:
        h, w = drawn.shape[:2]
        writer = cv2.VideoWriter(str(out / f"{Path(source).stem}.{model_name}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"),
                                 fps, (w, h))
    writer.write(np.ascontiguousarray(drawn[:, :, ::-1]))
    return writer
