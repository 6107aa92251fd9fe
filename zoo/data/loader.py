"""A DataLoader over image files (and video frames) whose workers decode while the model computes.

    for batch in image_batches(paths, batch_size=8, device=model.device):
        images = [b.image for b in batch if b.image is not None]      # uint8 3xHxW tensors on the device
        results = model.predict(images)

Workers read each file with zoo.images.load_image (EXIF, modes, one-line errors) into a uint8 3xHxW tensor;
on CUDA they hand plain JPEG files over as bytes instead, and the main process decodes each batch of them in one
nvJPEG call on the device (zoo.data.decode). Batches travel in pinned memory (`pin_memory=True`) and are copied
with `non_blocking=True`. A file that cannot be read is an item with `error` set, so one bad file does not
stop the others.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset

from zoo.data.decode import decode_file, decode_jpegs, gpu_decode_enabled, plain_jpeg, read_bytes, to_device
from zoo.errors import InputError
from zoo.images import load_image

MAX_WORKERS = 4  # decoding a batch of photos on 4 cores keeps pace with a GPU's forward for most models


@dataclass
class Loaded:
    """One input of a batch: its position in the input list, the image on the device (the file's path when the
    loader only checked it, see `decode`; None when it failed), or the one-line reason it could not be read."""

    index: int
    image: Any
    error: str | None = None
    name: str | None = None  # a video frame's "<path>#frame=<i>"; the file's path for images


def default_workers(device: torch.device | str) -> int:
    """Decoding workers for `device`: on CUDA up to MAX_WORKERS (the host decodes, the GPU computes); on the
    CPU none, because workers compete with the forward for the same cores (measured: no gain on 2 cores).
    ZOO_LOADER_WORKERS overrides."""
    env = os.environ.get("ZOO_LOADER_WORKERS")
    if env is not None:
        return max(0, int(env))
    if torch.device(device).type != "cuda":
        return 0
    return max(1, min(MAX_WORKERS, (os.cpu_count() or 2) - 1))


def takes_device_images(model: Any) -> bool:
    """Whether `model.predict` is given the loader's decoded device images (else the checked file paths):
    models on the shared ZooModel.preprocess, and families that say so with `device_images = True`. A family
    with its own preprocess may need the file itself (its name, its EXIF, a side file), so the default for
    those is the path, which every preprocess takes."""
    from zoo.model import ZooModel

    flag = getattr(model, "device_images", None)
    if flag is not None:
        return bool(flag)
    return getattr(type(model), "preprocess", None) is ZooModel.preprocess


class ImageFiles(Dataset):
    """Image files -> (index, kind, payload): kind "image" (uint8 3xHxW), "jpeg" (bytes for the device
    decoder), "path" (read and found good, handed on as the path: decode=False) or "error" (the message)."""

    def __init__(self, paths: Sequence[str | os.PathLike[str]], jpeg_bytes: bool = False, decode: bool = True,
                 check: bool = True):
        self.paths = [str(p) for p in paths]
        self.jpeg_bytes = jpeg_bytes
        self.decode = decode
        self.check = check

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[int, str, Any]:
        path = self.paths[i]
        try:
            if not self.decode and not self.check:
                return i, "path", path
            if self.decode and self.jpeg_bytes and plain_jpeg(path):
                return i, "jpeg", read_bytes(path)
            if not self.decode:
                load_image(path)
                return i, "path", path
            return i, "image", decode_file(path).contiguous()
        except InputError as e:
            return i, "error", str(e)
        except OSError as e:  # vanished or unreadable between listing and reading
            return i, "error", f"{path}: {e.strerror or e}"


class VideoFrames(IterableDataset):
    """The frames of one video (every `every`-th) -> (frame index, "image", uint8 3xHxW), read in a worker."""

    def __init__(self, path: str | os.PathLike[str], every: int = 1):
        self.path, self.every = Path(path), every

    def __iter__(self) -> Iterator[tuple[int, str, Any]]:
        from zoo.images import read_video

        info = torch.utils.data.get_worker_info()
        if info is not None and info.id > 0:  # one reader: a video is read in order
            return
        _, frames = read_video(self.path, self.every)
        for i, frame in frames:
            yield i, "image", torch.from_numpy(frame).permute(2, 0, 1).contiguous()


def _collate(items: list[tuple[int, str, Any]]) -> list[tuple[int, str, Any]]:
    return items


def _loader(dataset: Any, batch_size: int, device: torch.device, workers: int) -> DataLoader:
    return DataLoader(dataset, batch_size=batch_size, num_workers=workers, collate_fn=_collate,
                      pin_memory=device.type == "cuda", prefetch_factor=2 if workers else None,
                      persistent_workers=False)


def _to_device(batch: list[tuple[int, str, Any]], device: torch.device,
               names: Sequence[str] | None) -> list[Loaded]:
    """Worker items -> Loaded on `device`: images copied (non-blocking from pinned memory), JPEG bytes decoded
    in one nvJPEG call, files nvJPEG refuses read on the host instead (and reported if that fails too)."""
    out: list[Loaded] = []
    jpegs: list[tuple[Loaded, Any]] = []
    for index, kind, payload in batch:
        name = names[index] if names is not None else None
        if kind == "error":
            out.append(Loaded(index, None, payload, name))
        elif kind == "path":
            out.append(Loaded(index, payload, None, name))
        elif kind == "jpeg":
            item = Loaded(index, None, None, name)
            out.append(item)
            jpegs.append((item, payload))
        else:
            out.append(Loaded(index, to_device(payload, device), None, name))
    if jpegs:
        for (item, _), image in zip(jpegs, decode_jpegs([p for _, p in jpegs], device)):
            if image is None:
                try:
                    image = to_device(torch.from_numpy(load_image(item.name)).permute(2, 0, 1), device)
                except InputError as e:
                    item.error = str(e)
            item.image = image
    for item in out:
        tag(item)
    return out


def tag(item: Loaded) -> Loaded:
    """Name the image's file on the tensor itself (`zoo_source`), so results name their source as they do when
    predict is given the path (ZooModel.preprocess reads it through zoo.model.with_source)."""
    if isinstance(item.image, torch.Tensor) and item.name is not None:
        item.image.zoo_source = item.name  # type: ignore[attr-defined]
    return item


def image_batches(paths: Sequence[str | os.PathLike[str]], batch_size: int, device: torch.device | str,
                  workers: int | None = None, decode: bool = True, check: bool = True) -> Iterator[list[Loaded]]:
    """Batches of `paths` decoded by DataLoader workers, in order, as Loaded items on `device`; with
    `decode=False` (models that take paths: takes_device_images) the workers only check that each file reads,
    and the items carry the paths (`check=False`: not even that, the model's preprocess reads them)."""
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    workers = default_workers(device) if workers is None else workers
    names = [str(p) for p in paths]
    ds = ImageFiles(names, jpeg_bytes=gpu_decode_enabled(device), decode=decode, check=check)
    for batch in _loader(ds, batch_size, device, min(workers, len(names))):
        yield _to_device(batch, device, names)


def video_batches(path: str | os.PathLike[str], batch_size: int, device: torch.device | str, every: int = 1,
                  workers: int | None = None) -> tuple[float, Iterator[list[Loaded]]]:
    """(frames per second, batches of the video's frames, every `every`-th), read by one worker process while
    the model computes; each item's `index` is the frame number. A file that is not a readable video raises
    InputError here, before any batch."""
    from zoo.images import read_video

    device = torch.device(device)
    workers = min(1, default_workers(device) if workers is None else workers)
    fps, frames = read_video(path, every)

    def in_process() -> Iterator[list[Loaded]]:  # the same frames, no worker
        batch: list[Loaded] = []
        for i, frame in frames:
            image = to_device(torch.from_numpy(frame).permute(2, 0, 1), device)
            batch.append(tag(Loaded(i, image, None, f"{path}#frame={i}")))
            if len(batch) == batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def in_worker() -> Iterator[list[Loaded]]:
        frames.close()
        for batch in _loader(VideoFrames(path, every), batch_size, device, workers):
            yield [tag(Loaded(i, to_device(t, device), None, f"{path}#frame={i}")) for i, _, t in batch]

    return fps, (in_worker() if workers else in_process())
