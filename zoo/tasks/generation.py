"""Generation results and the Generator base class, shared by every generative family.

A generator's input is a *request* (how many images, the seed, class ids, truncation, or explicit latents);
`preprocess` turns it into the latent batch, `forward` maps latents (and class vectors) to images in [-1, 1],
and `postprocess` gives one GenerationResult holding the uint8 images *and every input used*, so that
`result.to_json()` alone regenerates the same pixels (`Generator.predict(GenerationRequest.from_json(...))`).
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from zoo.errors import ArgumentError, InputError
from zoo.model import ZooModel
from zoo.tasks.results import Result

TRUNCNORM_BOUND = 2.0  # truncated-normal latents live in [-2, 2] before scaling (BigGAN's truncation trick)


# ------------------------------------------------------------------ the request


@dataclass
class GenerationRequest:
    """What to generate. Explicit `latents` win over `n`/`seed`; `classes` are ids or label names, one for all
    images or one per image; `class_weights` (one {class id: weight} dict per image) mixes class vectors, as
    class interpolation does."""

    n: int = 1
    seed: int | None = None  # None: 0 when sampling; not recorded when explicit latents were given
    classes: Any = None
    truncation: float | None = None
    latents: Any = None
    class_weights: list[dict[int, float]] | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GenerationRequest:
        """The inputs recorded by `GenerationResult.to_json()` -> a request that regenerates the same images."""
        weights = data.get("class_weights")
        if weights is not None:
            weights = [{int(k): float(v) for k, v in w.items()} for w in weights]
        latents = data.get("latents")
        seed = data.get("seed")
        return cls(n=len(latents) if latents is not None else int(data.get("n", 1)),
                   seed=None if seed is None else int(seed),
                   classes=data.get("class_ids") if weights is None else None, truncation=data.get("truncation"),
                   latents=np.asarray(latents, dtype=np.float32) if latents is not None else None,
                   class_weights=weights)


@dataclass
class GenerationMeta:
    """Per-batch record of the inputs `preprocess` produced (CPU copies, for the result)."""

    seed: int | None
    truncation: float | None
    latents: np.ndarray  # [N, latent_dim] float32
    class_weights: list[dict[int, float]] | None = None  # one sparse class vector per image (None: unconditional)
    sources: list[str | None] = field(default_factory=list)  # image-to-image models: the input images


# ------------------------------------------------------------------ the result


@dataclass
class GenerationResult(Result):
    """Generated images (uint8 HxWx3) plus the inputs that produced them."""

    model: str = ""
    images: list[np.ndarray] = field(default_factory=list)
    latents: np.ndarray | None = None  # [N, latent_dim] float32, exactly what the network saw
    seed: int | None = None
    truncation: float | None = None
    class_ids: list[int] | None = None  # the dominant class of each image
    labels: list[str] | None = None
    class_weights: list[dict[int, float]] | None = None  # only when classes were mixed (interpolation)
    sources: list[str | None] | None = None  # image-to-image translation: the image each output came from

    def __len__(self) -> int:
        return len(self.images)

    def to_json(self) -> dict[str, Any]:
        """The inputs, losslessly: float32 latents written as Python floats round-trip exactly."""
        out: dict[str, Any] = {"model": self.model, "n": len(self.images),
                               "image_size": list(self.image_size), "seed": self.seed, "truncation": self.truncation}
        if self.class_ids is not None:
            out["class_ids"] = list(self.class_ids)
            out["labels"] = list(self.labels) if self.labels is not None else None
        if self.class_weights is not None:
            out["class_weights"] = [{str(k): float(v) for k, v in w.items()} for w in self.class_weights]
        if self.sources is not None:
            out["sources"] = list(self.sources)
        if self.latents is not None:
            out["latents"] = [[float(v) for v in row] for row in np.asarray(self.latents, dtype=np.float32)]
        return out

    def request(self) -> GenerationRequest:
        """A request that regenerates these images."""
        return GenerationRequest.from_json(self.to_json())

    def rows(self) -> tuple[list[str], list[list[Any]]]:
        if self.sources is not None:  # a translation: what came from where
            return ["#", "size", "source"], [[i, f"{img.shape[1]}x{img.shape[0]}", src or ""]
                                             for i, (img, src) in enumerate(zip(self.images, self.sources))]
        cols = ["#", "size", "class", "seed", "truncation"]
        out = []
        for i, img in enumerate(self.images):
            cls = "" if self.class_ids is None else f"{self.class_ids[i]} {self.labels[i] if self.labels else ''}".strip()
            out.append([i, f"{img.shape[1]}x{img.shape[0]}", cls, "" if self.seed is None else self.seed,
                        "" if self.truncation is None else self.truncation])
        return cols, out

    def grid(self, cols: int | None = None, pad: int = 2, background: int = 255) -> Any:
        """All images in one PIL image, row-major, `cols` per row (default: a near-square grid)."""
        from PIL import Image

        return Image.fromarray(image_grid(self.images, cols, pad, background))

    def draw(self, image: Any = None) -> Any:
        """The image itself when there is one (a translation), else the grid; generated images are drawn as they
        are, never onto a source."""
        return self.grid(pad=0) if len(self.images) == 1 else self.grid()

    def pil(self) -> list[Any]:
        from PIL import Image

        return [Image.fromarray(img) for img in self.images]


def image_grid(images: Sequence[np.ndarray], cols: int | None = None, pad: int = 2, background: int = 255) -> np.ndarray:
    """HxWx3 uint8 images (same size) -> one uint8 grid image."""
    if not images:
        raise InputError("no images to put in a grid")
    n = len(images)
    cols = max(1, min(n, cols or math.ceil(math.sqrt(n))))
    rows = math.ceil(n / cols)
    h, w = images[0].shape[:2]
    out = np.full((rows * h + (rows + 1) * pad, cols * w + (cols + 1) * pad, 3), background, dtype=np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        out[y:y + h, x:x + w] = img
    return out


def to_uint8(images: torch.Tensor) -> list[np.ndarray]:
    """NCHW in [-1, 1] (tanh outputs) -> HxWx3 uint8 arrays: round((x + 1) * 127.5), clamped."""
    x = ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return list(x.permute(0, 2, 3, 1).cpu().numpy())


# ------------------------------------------------------------------ latent sampling and interpolation


def _row_generator(seed: int) -> torch.Generator:
    return torch.Generator(device="cpu").manual_seed(int(seed))


def gaussian_latents(n: int, dim: int, seed: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """[n, dim] standard normal latents; row i depends only on (seed, i), not on n, so a larger batch from the same
    seed starts with the same images (`generator`: go on from where an earlier call stopped)."""
    g = generator if generator is not None else _row_generator(seed)
    return torch.stack([torch.randn(dim, generator=g) for _ in range(n)])


def truncated_latents(n: int, dim: int, seed: int, truncation: float,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """[n, dim] latents from a normal truncated to [-2, 2], times `truncation` (BigGAN's truncation trick, as
    pytorch-pretrained-biggan's truncated_noise_sample). Inverse-CDF sampling in float64, row by row."""
    g = generator if generator is not None else _row_generator(seed)
    lo = 0.5 * (1 + math.erf(-TRUNCNORM_BOUND / math.sqrt(2)))
    hi = 1 - lo
    rows = []
    for _ in range(n):
        u = lo + (hi - lo) * torch.rand(dim, generator=g, dtype=torch.float64)
        rows.append((math.sqrt(2) * torch.erfinv(2 * u - 1)).clamp(-TRUNCNORM_BOUND, TRUNCNORM_BOUND))
    return (torch.stack(rows) * truncation).float()


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between latent rows a and b ([D] each) at fractions t ([S]) -> [S, D].
    Gaussian latents concentrate near a sphere; a straight line between two of them passes through low-norm
    points the generator never saw, a great-circle path does not (White, "Sampling Generative Networks", 2016)."""
    a64, b64, t64 = a.double(), b.double(), t.double()[:, None]
    cos = (a64 @ b64) / (a64.norm() * b64.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if float(omega) < 1e-6:  # parallel: the line is the arc
        return lerp(a, b, t)
    so = torch.sin(omega)
    out = torch.sin((1 - t64) * omega) / so * a64 + torch.sin(t64 * omega) / so * b64
    return out.to(a.dtype)


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Linear interpolation between rows a and b at fractions t ([S]) -> [S, D] (class vectors: a mix of two
    one-hot vectors is a mix of their embeddings, because the embedding is linear)."""
    t = t.to(a.dtype)[:, None]
    return (1 - t) * a + t * b


# ------------------------------------------------------------------ class names


def resolve_class(value: Any, labels: Sequence[str] | None, num_classes: int) -> int:
    """A class id or label name -> id; unknown names get a did-you-mean."""
    if isinstance(value, (int, np.integer)) or (isinstance(value, str) and value.strip().lstrip("-").isdigit()):
        cid = int(value)
        if not 0 <= cid < num_classes:
            raise InputError(f"class id {cid} is out of range (0..{num_classes - 1})")
        return cid
    if not isinstance(value, str):
        raise InputError(f"a class must be an id or a label name, got {type(value).__name__} {value!r}")
    if not labels:
        raise InputError(f"class '{value}': this model has no label names; give a class id (0..{num_classes - 1})")
    key = _norm(value)
    normed = [_norm(lbl) for lbl in labels]
    if key in normed:
        return normed.index(key)
    # ImageNet labels are "tench, Tinca tinca": any comma-separated synonym names the class too
    for i, lbl in enumerate(labels):
        if key in (_norm(s) for s in lbl.split(",")):
            return i
    parts = {_norm(s): i for i, lbl in enumerate(labels) for s in lbl.split(",")}
    # whole words first ('golden' -> 'golden retriever', which edit distance misses), then close spellings
    words = set(key.split())
    ids = [i for p, i in parts.items() if words <= set(p.split())]
    ids += [parts[c] for c in difflib.get_close_matches(key, list(parts), n=3, cutoff=0.6)]
    names = list(dict.fromkeys(labels[i].split(",")[0].strip() for i in ids))[:3]
    hint = f"; did you mean {', '.join(repr(n) for n in names)}?" if names else ""
    raise InputError(f"unknown class '{value}'{hint}")


def _as_int(value: Any, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be an integer, got {value!r}") from None


def _norm(s: str) -> str:
    return " ".join(s.lower().replace("_", " ").split())


def check_truncation(truncation: Any) -> float | None:
    if truncation is None:
        return None
    try:
        t = float(truncation)
    except (TypeError, ValueError):
        raise InputError(f"truncation must be a number in (0, 1], got {truncation!r}") from None
    if not 0.0 < t <= 1.0:
        raise InputError(f"truncation must be in (0, 1], got {t}")
    return t


# ------------------------------------------------------------------ the Generator protocol


class Generator(ZooModel):
    """Base of latent -> image models. Families set `latent_dim`, `num_classes` (0: unconditional), the default
    truncation and implement `forward(latents, classes=None, truncation=None)` returning NCHW in [-1, 1].

    `latent_kind` "gaussian" samples N(0, 1) (truncation then means: a truncated normal scaled by it);
    "truncated" always samples the truncated normal (BigGAN's trained-with-truncation convention).
    """

    inputs = "latents"
    latent_dim = 100
    num_classes = 0
    latent_kind = "gaussian"
    default_truncation: float | None = None
    uses_truncation = False  # True when `forward` needs the truncation itself (BigGAN's batch-norm statistics)

    @property
    def labels(self) -> tuple[str, ...] | None:
        if not self.spec.categories:
            return None
        return tuple(self.label_set().labels)

    # ---------------------------------------------------------------- request -> batch
    def preprocess(self, request: Any = None, n: int | None = None, seed: int | None = None, classes: Any = None,
                   truncation: float | None = None, latents: Any = None,
                   class_weights: list[dict[int, float]] | None = None) -> tuple[tuple[Any, ...], GenerationMeta]:
        """A request (GenerationRequest, dict, an int n, a latent array, or None) plus keyword overrides ->
        ((latents, class vectors or None, truncation), meta)."""
        req = self._as_request(request)
        for key, value in (("n", n), ("seed", seed), ("classes", classes), ("truncation", truncation),
                           ("latents", latents), ("class_weights", class_weights)):
            if value is not None:
                setattr(req, key, value)
        trunc = check_truncation(req.truncation)
        if trunc is None:
            trunc = self.default_truncation
        if req.latents is not None:
            z = torch.as_tensor(np.asarray(req.latents, dtype=np.float32))
            if z.ndim == 1:
                z = z[None]
            z = z.reshape(z.shape[0], -1)
            if z.shape[1] != self.latent_dim:
                raise InputError(f"{self.spec.name}: latents must have {self.latent_dim} values per image, got {z.shape[1]}")
            if not bool(torch.isfinite(z).all()):  # a NaN latent draws a black tile, silently
                raise InputError(f"{self.spec.name}: latents hold NaN or infinite values")
            count = z.shape[0]
        else:
            count = _as_int(req.n, "n")
            if count < 1:
                raise InputError(f"n must be at least 1, got {req.n}")
            if self.latent_kind == "truncated" or (req.truncation is not None and trunc is not None):
                z = truncated_latents(count, self.latent_dim, int(req.seed or 0), trunc if trunc is not None else 1.0)
            else:
                z = gaussian_latents(count, self.latent_dim, int(req.seed or 0))
        if req.seed is not None:
            req.seed = _as_int(req.seed, "seed")
        weights = self._class_weights(req, count)
        seed_used = req.seed if req.latents is not None else int(req.seed or 0)
        meta = GenerationMeta(seed_used, trunc, z.numpy().astype(np.float32), weights)
        cls = None
        if weights is not None:
            cls = torch.zeros(count, self.num_classes)
            for i, w in enumerate(weights):
                for cid, v in w.items():
                    cls[i, cid] = v
            cls = cls.to(self.device)
        return (z.to(self.device), cls, trunc), meta

    def _as_request(self, request: Any) -> GenerationRequest:
        if request is None:
            return GenerationRequest()
        if isinstance(request, GenerationRequest):
            return GenerationRequest(**vars(request))
        if isinstance(request, dict):
            if "latents" in request and ("image_size" in request or "class_ids" in request):
                return GenerationRequest.from_json(request)  # a saved result's inputs
            known = set(vars(GenerationRequest()))
            unknown = sorted(set(request) - known)
            if unknown:
                raise InputError(f"unknown request field(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
            return GenerationRequest(**request)
        if isinstance(request, (bool, str)):
            raise InputError(f"a generation request is a count, a GenerationRequest or latents, got {request!r}")
        if isinstance(request, (int, np.integer)):
            return GenerationRequest(n=int(request))
        if isinstance(request, (np.ndarray, torch.Tensor, list, tuple)):
            return GenerationRequest(latents=np.asarray(request.cpu() if isinstance(request, torch.Tensor) else request,
                                                        dtype=np.float32))
        raise InputError(f"cannot use a {type(request).__name__} as a generation request")

    def _class_weights(self, req: GenerationRequest, count: int) -> list[dict[int, float]] | None:
        if not self.num_classes:
            if req.classes is not None or req.class_weights is not None:
                raise InputError(f"{self.spec.name} is unconditional: it takes no classes")
            return None
        if req.class_weights is not None:
            if len(req.class_weights) != count:
                raise InputError(f"class_weights has {len(req.class_weights)} entries for {count} images")
            for w in req.class_weights:
                for cid in w:
                    if not 0 <= int(cid) < self.num_classes:
                        raise InputError(f"class id {cid} is out of range (0..{self.num_classes - 1})")
            return [{int(k): float(v) for k, v in w.items()} for w in req.class_weights]
        if req.classes is None:  # random classes, from their own stream so the latents do not change
            g = _row_generator(int(req.seed or 0) + 0x5EED)
            ids = torch.randint(0, self.num_classes, (count,), generator=g).tolist()
        else:
            values = list(req.classes) if isinstance(req.classes, (list, tuple, np.ndarray)) else [req.classes]
            ids = [resolve_class(v, self.labels, self.num_classes) for v in values]
            if len(ids) == 1:
                ids = ids * count
            elif len(ids) != count:
                raise InputError(f"{len(ids)} classes for {count} images: give one class, or one per image")
        return [{cid: 1.0} for cid in ids]

    # ---------------------------------------------------------------- batch -> images
    def forward(self, latents: Any, classes: torch.Tensor | None = None, truncation: float | None = None) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # `predict` and the harness's end-to-end row pass preprocess's batch tuple as one argument
        if len(args) == 1 and not kwargs and isinstance(args[0], tuple):
            args = args[0]
        if not kwargs and 1 <= len(args) <= 3:
            args = self.network_args(*args)
        return super().__call__(*args, **kwargs)

    def network_args(self, latents: Any, classes: Any = None, truncation: Any = None) -> tuple[Any, ...]:
        """preprocess's (latents, classes, truncation) -> what `forward` takes, in the shape `example_inputs`
        gives (and an export records): an exported network (--backend) takes tensors only, so the truncation
        goes in only where `forward` uses it, and the class vectors only for a conditional model."""
        if self.uses_truncation:
            return (latents, classes, truncation)
        return (latents, classes) if self.num_classes else (latents,)

    def postprocess(self, raw: torch.Tensor, metas: GenerationMeta) -> list[GenerationResult]:
        images = to_uint8(raw)
        labels = self.labels
        ids = None
        if metas.class_weights is not None:
            ids = [max(w, key=lambda k: w[k]) for w in metas.class_weights]
        mixed = metas.class_weights is not None and any(len(w) > 1 or next(iter(w.values())) != 1.0
                                                        for w in metas.class_weights)
        h, w = images[0].shape[:2]
        return [GenerationResult(source=None, image_size=(h, w), model=self.spec.name, images=images,
                                 latents=metas.latents, seed=metas.seed, truncation=metas.truncation, class_ids=ids,
                                 labels=[labels[i] for i in ids] if (ids is not None and labels) else None,
                                 class_weights=metas.class_weights if mixed else None)]

    def predict(self, request: Any = None, **opts: Any) -> GenerationResult:
        """One request -> one GenerationResult holding all its images (options checked as ZooModel.predict does)."""
        pre, post = self.split_options(opts)
        with torch.inference_mode():
            batch, meta = self.preprocess(request, **pre)
            raw = self(*batch)
            return self.postprocess(raw, meta, **post)[0]

    def predict_batches(self, request: Any = None, batch_size: int = 64) -> Iterator[GenerationResult]:
        """The request's images `batch_size` at a time, one GenerationResult each (its JSON regenerates that
        batch): the same latents and classes as one `predict` call (row i of a seeded request depends only on
        (seed, i)), with memory bound by the batch instead of n."""
        req = self._as_request(request)
        count = len(np.asarray(req.latents).reshape(-1, self.latent_dim)) if req.latents is not None \
            else _as_int(req.n, "n")
        if count <= batch_size:
            yield self.predict(req)
            return
        seed = _as_int(req.seed or 0, "seed")
        trunc = check_truncation(req.truncation)
        scale = trunc if trunc is not None else self.default_truncation
        g = _row_generator(seed)
        per_image = isinstance(req.classes, (list, tuple, np.ndarray)) and len(req.classes) == count
        ids = None
        if self.num_classes and req.classes is None and req.class_weights is None:  # _class_weights' stream
            ids = torch.randint(0, self.num_classes, (count,), generator=_row_generator(seed + 0x5EED))
        for start in range(0, count, batch_size):
            stop = min(count, start + batch_size)
            if req.latents is not None:
                z = np.asarray(req.latents, dtype=np.float32).reshape(-1, self.latent_dim)[start:stop]
            elif self.latent_kind == "truncated" or req.truncation is not None:
                z = truncated_latents(stop - start, self.latent_dim, seed, scale if scale is not None else 1.0, g).numpy()
            else:
                z = gaussian_latents(stop - start, self.latent_dim, seed, g).numpy()
            part = GenerationRequest(n=stop - start, latents=z, truncation=req.truncation,
                                     classes=(ids[start:stop].tolist() if ids is not None
                                              else list(req.classes[start:stop]) if per_image else req.classes),
                                     class_weights=req.class_weights[start:stop] if req.class_weights else None)
            result = self.predict(part)
            result.seed = req.seed if req.latents is not None else seed  # what the batch was drawn from
            yield result

    # ---------------------------------------------------------------- harness
    def example_inputs(self, batch_size: int = 1, input_size: Any = None) -> tuple[Any, ...]:
        """Latents (and one-hot classes, truncation) for `forward`: what `zoo bench` times."""
        (z, cls, trunc), _ = self.preprocess(GenerationRequest(n=batch_size, seed=0))
        return self.network_args(z, cls, trunc)

    def example_request(self, batch_size: int = 1, input_size: Any = None) -> GenerationRequest:
        """What `preprocess` takes, for the end-to-end row."""
        return GenerationRequest(n=batch_size, seed=0)

    def input_label(self, input_size: Any = None) -> str:
        """Bench rows name what the generator samples: latent size (and classes)."""
        return f"z={self.latent_dim}" + (f",c={self.num_classes}" if self.num_classes else "")



# ------------------------------------------------------------------ interpolation and files


def interpolation_request(model: Generator, steps: int, seed: int = 0, classes: Any = None,
                          truncation: float | None = None) -> GenerationRequest:
    """A walk of `steps` frames from the seed's first latent to its second: slerp for the latents, lerp for the
    class vectors (one class: fixed; two classes: from the first to the second; none, for a conditional
    model: the seed's two random classes). The request carries explicit latents and class weights, so the
    result's JSON regenerates every frame."""
    if int(steps) < 2:
        raise ArgumentError("steps", f"{{}} needs at least 2 steps, got {steps}")
    (z, _, _), meta = model.preprocess(GenerationRequest(n=2, seed=seed, classes=_endpoint_classes(classes),
                                                             truncation=truncation))
    t = torch.linspace(0, 1, int(steps), dtype=torch.float64)
    zs = slerp(z[0].cpu(), z[1].cpu(), t)
    weights = None
    if meta.class_weights is not None:
        (a,), (b,) = (list(w) for w in meta.class_weights)
        weights = []
        for tv in t.tolist():
            w = {a: 1.0 - tv, b: tv} if a != b else {a: 1.0}
            weights.append({k: v for k, v in w.items() if v > 0.0})
    return GenerationRequest(n=int(steps), seed=seed, latents=zs.numpy().astype(np.float32), class_weights=weights,
                             truncation=meta.truncation)  # the float (a batch may carry it as a tensor)


def _endpoint_classes(classes: Any) -> Any:
    if classes is None:
        return None
    values = list(classes) if isinstance(classes, (list, tuple)) else [classes]
    if len(values) > 2:
        raise InputError(f"interpolation takes one class or two (from, to), got {len(values)}")
    return values


def write_generation(result: GenerationResult, out_dir: str | Any, stem: str, interpolation: bool = False) -> list[Any]:
    """The grid as `<stem>.png` and its inputs as `<stem>.json` (what regenerates it); an interpolation also as
    a one-row strip `<stem>.strip.png` and an animated `<stem>.gif`. Returns the paths written."""

    from PIL import Image

    from zoo.fsutil import atomic_path, write_text_atomic

    paths = generation_paths(out_dir, stem, interpolation)
    with atomic_path(paths[0]) as tmp:
        result.grid().save(tmp)
    write_text_atomic(paths[1], json.dumps(result.to_json()) + "\n")
    if interpolation:
        with atomic_path(paths[2]) as tmp:
            Image.fromarray(image_grid(result.images, cols=len(result.images))).save(tmp)
        frames = result.pil()
        with atomic_path(paths[3]) as tmp:
            frames[0].save(tmp, save_all=True, append_images=frames[1:] + frames[-2:0:-1], duration=GIF_FRAME_MS,
                           loop=0)
    return paths


def generation_paths(out_dir: str | Any, stem: str, interpolation: bool = False) -> list[Any]:
    """The files write_generation writes: `<stem>.png` and `<stem>.json`; a walk's `<stem>.strip.png` and
    `<stem>.gif` too."""
    from pathlib import Path

    out = Path(out_dir)
    return [out / f"{stem}.{ext}" for ext in ("png", "json") + (("strip.png", "gif") if interpolation else ())]


GIF_FRAME_MS = 80  # per frame; the GIF plays the walk forward then back
