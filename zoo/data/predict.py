"""The predict loop as a library: inputs (image files, folders, globs, http(s) URLs, '-' for stdin, videos) ->
batches decoded by DataLoader workers while the model runs (zoo.data.loader) -> one Prediction per image or video
frame, in input order (images first, then each video's frames).

    for p in predict_inputs(model, ["photos/", "clip.mp4", "https://example.com/cat.jpg"], batch_size=8):
        print(p.source, p.error or p.result)

An input that cannot be read is a Prediction with `error` set (one line), never an exception, so one bad file does
not stop the others; arguments out of range raise ArgumentError naming the argument. `zoo predict` and `zoo track`
run on this loop and only draw, print and write.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.errors import InputError, at_least
from zoo.images import InputFile, collect_inputs, is_video


@dataclass
class Prediction:
    """One image's (or video frame's) result, or why its input could not be read."""

    input: InputFile  # where it came from: the local file, what the caller called it, its path below the inputs
    result: Any = None  # the task's result, its `source` set to `source` below; None when `error` is set
    image: Any = None  # what the model was given (a uint8 3xHxW tensor on its device, or the file's path): draw on it
    frame: int | None = None  # a video frame's index
    fps: float | None = None  # a video frame's: its video's frames per second
    error: str | None = None  # the one-line reason this input could not be read

    @property
    def source(self) -> str:
        """What results call this input: as the caller named it, "<video>#frame=<i>" for a frame."""
        return self.input.source if self.frame is None else f"{self.input.source}#frame={self.frame}"


def predict_files(model: Any, files: Sequence[InputFile], batch_size: int = 8, every: int = 1,
                  options: dict[str, Any] | None = None, check: bool = True) -> Iterator[Prediction]:
    """Predictions for `files` (zoo.images.collect_inputs): images in batches of `batch_size`, then every
    `every`-th frame of each video. `options` are the task's predict options (conf, size, ...). `check=False`:
    models that read file paths themselves get them unread (a bad file then raises from their predict)."""
    at_least("batch_size", batch_size)
    at_least("every", every)
    options = options or {}
    videos = [f for f in files if is_video(f.path) and f.path.is_file()]
    images = [f for f in files if f not in videos]
    yield from _image_predictions(model, images, batch_size, options, check)
    for video in videos:  # a video that cannot be read is one item; the other inputs still run
        yield from _video_predictions(model, video, batch_size, every, options)


def predict_inputs(model: Any, inputs: Sequence[str | Path], batch_size: int = 8, every: int = 1,
                   recursive: bool = False, options: dict[str, Any] | None = None,
                   stdin: Any = None) -> Iterator[Prediction]:
    """predict_files over what a user would name: paths, folders (`recursive`: their sub-folders too), globs,
    URLs and '-' (stdin, or the binary file object `stdin`); downloads live in a scratch folder while it runs.
    An input naming nothing (a missing file, an empty folder, a glob matching nothing) or one that cannot be read
    raises InputError before any prediction; a file that is not an image is an item with `error`."""
    at_least("batch_size", batch_size)
    at_least("every", every)
    with tempfile.TemporaryDirectory(prefix="zoo-predict-") as tmp:
        files = collect_inputs([str(i) for i in inputs], recursive, Path(tmp), stdin)
        yield from predict_files(model, files, batch_size, every, options)


def _image_predictions(model: Any, images: list[InputFile], batch_size: int, options: dict[str, Any],
                       check: bool) -> Iterator[Prediction]:
    from zoo.data.loader import image_batches, takes_device_images

    decode = takes_device_images(model)
    for batch in image_batches([f.path for f in images], batch_size, model.device, decode=decode,
                               check=check or decode):
        preds = []
        for item in batch:
            f = images[item.index]
            error = None if item.error is None else item.error.replace(str(f.path), f.source, 1)
            preds.append(Prediction(f, image=item.image if error is None else None, error=error))
        good = [p for p in preds if p.error is None]
        if good:
            for p, r in zip(good, model.predict([p.image for p in good], **options)):
                r.source = p.source
                p.result = r
        yield from preds  # in input order, unreadable ones in their place


def _video_predictions(model: Any, video: InputFile, batch_size: int, every: int,
                       options: dict[str, Any]) -> Iterator[Prediction]:
    import numpy as np

    from zoo.data.loader import takes_device_images, video_batches

    as_arrays = not takes_device_images(model)  # families with their own preprocess get HxWx3 arrays
    try:
        fps, batches = video_batches(video.path, batch_size, model.device, every)  # a worker reads the next frames
        for batch in batches:
            frames = [np.ascontiguousarray(item.image.permute(1, 2, 0).cpu().numpy()) if as_arrays else item.image
                      for item in batch]
            for item, frame, r in zip(batch, frames, model.predict(frames, **options)):
                p = Prediction(video, image=frame, frame=item.index, fps=fps)
                r.source = p.source
                p.result = r
                yield p
    except InputError as e:
        yield Prediction(video, error=str(e).replace(str(video.path), video.source, 1))

