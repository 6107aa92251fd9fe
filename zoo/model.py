"""ZooModel: the nn.Module every builder returns, with one pre/forward/post/predict protocol."""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from zoo.errors import ArgumentError, InputError, first_line
from zoo.ops.resize import ImageMeta
from zoo.spec import ModelSpec


class ZooModel(nn.Module):
    """Wraps the raw network `net` (whose state_dict is the zoo's weights layout) with its spec.

    `forward(batch)` is the raw network call the benchmark harness times; `preprocess` and
    `postprocess` are task code, and `predict` runs all three under inference mode.
    """

    supports_meta_init = True  # False when building on the meta device would lose constants
    inputs: ClassVar[str] = "images"  # what preprocess takes: "images", or "latents" (a generator's request)

    def __init__(self, spec: ModelSpec, net: nn.Module):
        super().__init__()
        self.spec = spec
        self.net = net
        self.weights_source = "random init"  # set by zoo.load: what weights this instance holds
        self.registry: Any = None  # set by zoo.build: the Registry the spec came from (None: the default one)

    def label_set(self) -> Any:
        """The spec's label set (names, and keypoint names and skeleton for pose sets), from the registry the
        model was built from, so plugin label sets resolve in any registry; None when the spec names none."""
        from zoo.categories import label_set

        return label_set(self.spec.categories, self.registry) if self.spec.categories else None

    # ------------------------------------------------------------------ protocol
    def forward(self, batch: Any) -> Any:
        return self.net(batch)

    @property
    def device(self) -> torch.device:
        for t in self.parameters():
            return t.device
        for t in self.buffers():
            return t.device
        return torch.device("cpu")

    @property
    def input_size(self) -> tuple[int, int]:
        return tuple(self.spec.input.size)  # type: ignore[return-value]

    def preprocess(self, images: Any, resize: str | None = None,
                   size: int | tuple[int, int] | None = None) -> tuple[torch.Tensor, list[ImageMeta]]:
        """Images -> (NCHW float batch on the model's device, per-image metas).

        The images travel to the device as uint8 (JPEG files decoded there on CUDA) and are resized and
        normalised there in batches (zoo.ops.batch): on the CPU the same kernels as the per-image functions of
        zoo.ops.resize, so the same values."""
        from zoo.data.decode import load_images
        from zoo.ops.batch import MODES, resize_batch

        inp = self.spec.input
        mode = resize or inp.resize
        if mode not in MODES:
            raise InputError(f"unknown resize mode '{mode}' (letterbox, stretch, resize-crop, none)")
        hw = square_size(size) if size is not None else self.input_size
        items = as_image_list(images)
        resize_size = None
        if mode == "resize-crop":  # the shorter side keeps the spec's crop ratio (256/224) at any requested size
            ratio = (inp.resize_size / inp.size[0]) if inp.resize_size else 1 / 0.875
            resize_size = int(round(hw[0] * ratio))
        batch, metas = resize_batch(load_images(items, self.device), mode, hw, fill=0.5 / inp.scale,
                                    resize_size=resize_size)
        metas = [with_source(m, item) for m, item in zip(metas, items)]
        return self.normalize(batch, inplace=True), metas

    def normalize(self, batch: Any, inplace: bool = False) -> Any:
        """Scale pixel values and apply mean/std as the spec says, on the model's device (`inplace`: reuse
        `batch`'s memory when it is already there)."""
        from zoo.data.decode import to_device
        from zoo.ops.batch import normalize_

        if isinstance(batch, list):
            return [self.normalize(b, inplace) for b in batch]
        inp = self.spec.input
        moved = to_device(batch, self.device)
        if not moved.is_floating_point():
            moved = moved.float()
        elif moved is batch and not inplace:
            moved = moved.clone()  # the caller's tensor stays as it was
        return normalize_(moved, inp.scale, inp.mean, inp.std)

    def postprocess(self, raw: Any, metas: list[ImageMeta]) -> list[Any]:
        raise NotImplementedError(f"{type(self).__name__} does not implement postprocess")

    def predict(self, images: Any, **opts: Any) -> Any:
        """One image -> one result; a list -> a list of results.

        Each option goes to the stage whose signature names it (preprocess or postprocess); an option neither
        takes raises InputError naming the valid ones, so a typo never runs silently at the default.
        """
        pre, post = self.split_options(opts)
        single = not isinstance(images, (list, tuple))
        with torch.inference_mode():
            batch, metas = self.preprocess(images, **pre)
            try:
                raw = self(batch)
            except RuntimeError as e:
                err = size_error(self.spec.name, batch, e)
                if err is None:
                    raise
                raise err from None
            results = self.postprocess(raw, metas, **post)
        return results[0] if single else results

    def options(self) -> list[str]:
        """The predict options this model takes (keyword parameters of preprocess and postprocess)."""
        return sorted(set(_keywords(self.preprocess, 1)) | set(_keywords(self.postprocess, 2)))

    def split_options(self, opts: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Options -> (preprocess kwargs, postprocess kwargs); unknown ones raise InputError."""
        pre_names, post_names = _keywords(self.preprocess, 1), _keywords(self.postprocess, 2)
        unknown = [k for k in opts if k not in pre_names and k not in post_names]
        if unknown:
            valid = self.options()
            hints = [m for k in unknown for m in difflib.get_close_matches(k, valid, n=1)]
            raise InputError(f"{self.spec.name} does not take option{'s' if len(unknown) > 1 else ''} "
                             f"{', '.join(repr(k) for k in unknown)} (it takes: {', '.join(valid) or 'none'})"
                             + (f"; did you mean {', '.join(repr(h) for h in hints)}?" if hints else ""))
        task = self._task()
        if task is not None:
            task.check_options(opts)  # conf 1.5, topk -1, size 0: one line, not a raw torch error
        return ({k: v for k, v in opts.items() if k in pre_names},
                {k: v for k, v in opts.items() if k in post_names})

    def _task(self) -> Any:
        """This model's Task from the registry it was built from (None when that registry lacks it)."""
        from zoo.errors import SpecError
        from zoo.plugin_manager import default_registry

        try:
            return (self.registry or default_registry()).task(self.spec.task)
        except SpecError:
            return None

    def example_request(self, batch_size: int = 1, input_size: int | tuple[int, int] | None = None) -> Any:
        """What `preprocess` takes, with random content: the end-to-end benchmark row times
        preprocess(example_request) -> forward -> postprocess. Images here; generators return a request."""
        return self.example_images(batch_size, input_size)

    def input_label(self, input_size: int | tuple[int, int] | None = None) -> str:
        """How benchmark rows name this model's input (e.g. "416x416"; generators say what they sample)."""
        h, w = square_size(input_size) if input_size is not None else self.input_size
        return f"{h}x{w}"

    def example_inputs(self, batch_size: int = 1, input_size: int | tuple[int, int] | None = None) -> tuple[Any, ...]:
        """Arguments for `forward` with random data (what the benchmark harness feeds)."""
        h, w = square_size(input_size) if input_size is not None else self.input_size
        return (torch.rand(batch_size, 3, h, w, device=self.device),)

    def example_images(self, batch_size: int = 1, input_size: int | tuple[int, int] | None = None) -> list[np.ndarray]:
        """Random uint8 images for end-to-end (pre + forward + post) timing."""
        h, w = square_size(input_size) if input_size is not None else self.input_size
        gen = np.random.default_rng(0)
        return [gen.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(batch_size)]

    def extra_repr(self) -> str:
        return f"name={self.spec.name}, weights={self.weights_source}"


# What torch says when a network is fed a size its layers cannot take (pooling to nothing, skip connections
# of unequal sizes, kernels larger than the feature map).
SIZE_ERRORS = ("Output size is too small", "Sizes of tensors must match", "Kernel size can't be greater",
               "Calculated padded input size", "smaller than kernel", "must match the size of tensor")


def size_error(name: str, batch: Any, exc: BaseException, hw: tuple[int, int] | None = None) -> InputError | None:
    """An InputError naming the input size when `exc` is torch refusing that size; None for other errors."""
    text = str(exc)
    if not any(p in text for p in SIZE_ERRORS):
        return None
    if hw is None:
        first = batch[0] if isinstance(batch, (list, tuple)) and batch else batch
        shape = getattr(first, "shape", None)
        hw = (int(shape[-2]), int(shape[-1])) if shape is not None and len(shape) >= 2 else None
    size = f"a {hw[0]}x{hw[1]} input" if hw else "this input size"
    return ArgumentError("size", f"{name} cannot take {size} (torch: {first_line(exc)}); use a larger {{}}, or the model's own")


def square_size(size: int | Sequence[int]) -> tuple[int, int]:
    """An int or (height, width) -> (height, width)."""
    if isinstance(size, int):
        return (size, size)
    h, w = size
    return (int(h), int(w))


def as_image_list(images: Any) -> list[Any]:
    """One image or a list/tuple of them -> a non-empty list (families' preprocess uses it too)."""
    items = list(images) if isinstance(images, (list, tuple)) else [images]
    if not items:
        raise InputError("no images given")
    return items


def source_of(item: Any) -> str | None:
    """The file an input image came from: a path, or a device image that the loader tagged with its file
    (`image.zoo_source`, see zoo.data.loader); None for arrays and untagged tensors."""
    import os

    if isinstance(item, (str, os.PathLike)):
        return str(item)
    source = getattr(item, "zoo_source", None) if isinstance(item, torch.Tensor) else None
    return source if isinstance(source, str) else None


def with_source(meta: ImageMeta, item: Any) -> ImageMeta:
    """Record the file an image came from, so results name their source."""
    import dataclasses

    source = source_of(item)
    return dataclasses.replace(meta, source=source) if source is not None else meta


def _keywords(method: Callable[..., Any], positional: int) -> tuple[str, ...]:
    """Names of the keyword options a stage takes (past its `positional` data arguments).

    A stage with **kwargs is a family bug here: it would swallow typos; it is reported as such. Every predict
    asks twice, so the answer is kept per function (inspect.signature is ~0.1 ms of a 13 ms int8 predict)."""
    if inspect.ismethod(method):
        return _function_keywords(method.__func__, positional + 1)  # the bound instance is one more argument
    return _function_keywords(method, positional)


@functools.lru_cache(maxsize=512)
def _function_keywords(function: Callable[..., Any], positional: int) -> tuple[str, ...]:
    params = list(inspect.signature(function).parameters.values())
    if any(p.kind is p.VAR_KEYWORD for p in params):
        raise TypeError(f"{function.__qualname__} takes **kwargs: name its options so unknown ones can be refused")
    return tuple(p.name for p in params[positional:] if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
