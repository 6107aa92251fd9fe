"""Model and weights specs (frozen dataclasses) and the schema check for registry.yaml rows.

Nothing here imports torch: listing and inspecting models must stay fast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from zoo.errors import SpecError

REPO_TYPES = ("model", "dataset", "space")
RESIZE_MODES = ("letterbox", "stretch", "resize-crop", "none")


@dataclass(frozen=True)
class Paper:
    title: str
    year: int
    url: str = ""


@dataclass(frozen=True)
class InputSpec:
    """How an image becomes the network's input tensor."""

    size: tuple[int, int] = (224, 224)  # (height, width) the network sees; images arrive as RGB
    scale: float = 1 / 255.0  # pixel values are multiplied by this first
    mean: tuple[float, ...] | None = None  # then normalised with mean/std when given
    std: tuple[float, ...] | None = None
    resize: str = "stretch"  # letterbox | stretch | resize-crop | none
    resize_size: int | None = None  # resize-crop: shorter side before the centre crop (bilinear)
    sizes: tuple[int, ...] = ()  # other square sizes the model supports (e.g. YOLO 320/608)


@dataclass(frozen=True)
class WeightsFile:
    """One file of a weights entry made of several (e.g. MTCNN's pnet.pt, rnet.pt, onet.pt)."""

    filename: str
    sha256: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class HubSource:
    """A file on the Hugging Face Hub at a pinned revision (for a multi-file entry, `filename` is the folder
    in the repo holding every file, "" for its root)."""

    repo_id: str
    filename: str | None = None
    revision: str = "main"
    repo_type: str = "model"  # model | dataset | space

    kind: ClassVar[str] = "hub"


@dataclass(frozen=True)
class UrlSource:
    """An HTTPS URL (the authors' or the framework's own download location). For a multi-file entry it is a
    prefix each file's name is appended to ("https://host/dir/" or "https://host/dir/name-")."""

    url: str

    kind: ClassVar[str] = "url"


@dataclass(frozen=True)
class TorchvisionSource:
    """A torchvision weights enum member ("KeypointRCNN_ResNet50_FPN_Weights.COCO_V1"): the URL comes from the
    installed torchvision, and the hash prefix in its file name is checked as torch.hub does."""

    weights: str

    kind: ClassVar[str] = "torchvision"


Source = HubSource | UrlSource | TorchvisionSource
SOURCE_KINDS = ("hub", "url", "torchvision")


@dataclass(frozen=True)
class WeightsSpec:
    """One set of weights for an architecture: where it lives and how it is pinned."""

    tag: str
    repo_id: str | None = None
    filename: str | None = None
    revision: str = "main"
    repo_type: str = "model"  # model | dataset | space: where on the Hub the repo lives
    sha256: str | None = None  # of the original file; None: the Hub's LFS sha256 is checked and recorded
    size: int | None = None
    format: str = "safetensors"
    default: bool = False
    description: str = ""
    license: str | None = None
    metrics: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    # several files: `filename` is then the folder inside the repo ("" for its root) and the converter gets a
    # local folder holding every file; each file's sha256 is checked
    files: tuple[WeightsFile, ...] = ()
    # further places holding the same bytes, tried in order after the Hub repo above (each checked against
    # the same sha256 and size)
    sources: tuple[Source, ...] = ()

    @property
    def all_sources(self) -> tuple[Source, ...]:
        """Every source in the order tried: the row's own Hub repo (repo_id, filename, revision) first."""
        own = (HubSource(self.repo_id, self.filename, self.revision, self.repo_type),) if self.repo_id else ()
        return own + self.sources

    @property
    def obtainable(self) -> bool:
        return bool(self.repo_id and (self.filename is not None or self.files)) or bool(self.sources)

    @property
    def pinned(self) -> bool:
        """Whether the registry gives the original's sha256 (every file's, for a multi-file entry)."""
        return all(f.sha256 for f in self.files) if self.files else bool(self.sha256)

    @property
    def multi_file(self) -> bool:
        return bool(self.files)


@dataclass(frozen=True)
class ModelSpec:
    """Everything the zoo knows about one model (a name; several may share an `arch`), without building it."""

    name: str
    family: str
    task: str
    builder: str | Callable[..., Any]  # "module:function" (imported lazily) or a callable
    description: str = ""
    arch: str = ""  # key the family's builder dispatches on; never empty: __post_init__ sets it to name
    paper: Paper | None = None
    input: InputSpec = field(default_factory=InputSpec)
    categories: str | None = None  # a label set's name: bundled (coco80, imagenet1k, ...) or a plugin's
    num_params: int | None = None
    gmacs: float | None = None
    metrics: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    metrics_source: str = ""
    license: str = ""
    weights: tuple[WeightsSpec, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)  # builder keyword arguments
    notes: str = ""
    source: str = ""  # where the spec came from (file or plugin), for error messages

    def __post_init__(self) -> None:
        if not self.arch:  # specs made in code, not only YAML rows, dispatch on their name by default
            object.__setattr__(self, "arch", self.name)

    @property
    def pretrained(self) -> bool:
        return any(w.obtainable for w in self.weights)

    def default_weights(self) -> WeightsSpec | None:
        for w in self.weights:
            if w.default:
                return w
        return self.weights[0] if self.weights else None

    def weights_for(self, tag: str | None) -> WeightsSpec | None:
        if tag is None:
            return self.default_weights()
        for w in self.weights:
            if w.tag == tag:
                return w
        return None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "builder":
                value = value if isinstance(value, str) else f"{value.__module__}:{value.__qualname__}"
            out[f.name] = _plain(value)
        out["pretrained"] = self.pretrained
        return out


def _plain(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        kind = {"kind": value.kind} if isinstance(getattr(type(value), "kind", None), str) else {}  # a source's kind
        return {**kind, **{f.name: _plain(getattr(value, f.name)) for f in fields(value)}}
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# ---------------------------------------------------------------- schema check of YAML rows

_MODEL_KEYS = {f.name for f in fields(ModelSpec)} - {"source"}
_REQUIRED = ("name", "family", "task")


def _fail(source: str, name: str, fieldname: str, problem: str) -> SpecError:
    return SpecError(f"{source}: model '{name}': field '{fieldname}': {problem}")


def _typed(source: str, name: str, key: str, value: Any, kind: type | tuple[type, ...]) -> Any:
    """`value` if it is of `kind`; YAML's true/false are not numbers here (bool is an int subclass)."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in kinds):
        want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise _fail(source, name, key, f"expected {want}, got {type(value).__name__} {value!r}")
    return value


def _fields_typed(source: str, name: str, prefix: str, row: Mapping[str, Any],
                  kinds: Mapping[str, type | tuple[type, ...]]) -> None:
    """Check the plain fields of a row against their declared types (None allowed where the kind lists it),
    so a wrong-typed YAML value fails here, naming its field, instead of deep inside a command."""
    for key, kind in kinds.items():
        if key in row:
            _typed(source, name, prefix + key, row[key], kind)


_NONE = type(None)
_MODEL_TYPES = {"family": str, "task": str, "description": str, "arch": str, "categories": (str, _NONE),
                "metrics_source": str, "license": str, "notes": str, "num_params": (int, float, _NONE),
                "gmacs": (int, float, _NONE)}
_WEIGHTS_TYPES = {"tag": str, "repo_id": (str, _NONE), "filename": (str, _NONE), "revision": (str, int),
                  "repo_type": str, "size": (int, _NONE), "format": str, "default": bool, "description": str,
                  "license": (str, _NONE)}
_FILE_TYPES = {"filename": str, "size": (int, _NONE)}
_INPUT_TYPES = {"scale": (int, float), "resize": str, "resize_size": (int, _NONE)}
_PAPER_TYPES = {"title": str, "year": int, "url": str}


def _numbers(source: str, name: str, key: str, value: Any, kind: type | tuple[type, ...]) -> list[Any]:
    """A list whose items are all of `kind`."""
    items = _typed(source, name, key, value, list)
    for i, v in enumerate(items):
        _typed(source, name, f"{key}[{i}]", v, kind)
    return items


def _metrics(source: str, name: str, key: str, value: Any) -> dict[str, dict[str, float]]:
    _typed(source, name, key, value, dict)
    out: dict[str, dict[str, float]] = {}
    for dataset, scores in value.items():
        _typed(source, name, f"{key}.{dataset}", scores, dict)
        out[str(dataset)] = {
            str(m): float(_typed(source, name, f"{key}.{dataset}.{m}", v, (int, float))) for m, v in scores.items()
        }
    return out


def _input(source: str, name: str, value: Any) -> InputSpec:
    _typed(source, name, "input", value, dict)
    known = {f.name for f in fields(InputSpec)}
    for k in value:
        if k not in known:
            raise _fail(source, name, f"input.{k}", f"unknown key (known: {', '.join(sorted(known))})")
    _fields_typed(source, name, "input.", value, _INPUT_TYPES)
    kw = dict(value)
    if "size" in kw:
        size = kw["size"]
        if isinstance(size, int):
            size = [size, size]
        if not (isinstance(size, list) and len(size) == 2
                and all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size)):
            raise _fail(source, name, "input.size", f"expected [height, width] of positive ints, got {size!r}")
        kw["size"] = tuple(size)
    for k in ("mean", "std"):
        if kw.get(k) is not None:
            kw[k] = tuple(float(x) for x in _numbers(source, name, f"input.{k}", kw[k], (int, float)))
    if "sizes" in kw:
        kw["sizes"] = tuple(_numbers(source, name, "input.sizes", kw["sizes"], int))
    if "scale" in kw:
        kw["scale"] = float(_typed(source, name, "input.scale", kw["scale"], (int, float)))
    if kw.get("resize", "stretch") not in RESIZE_MODES:
        raise _fail(source, name, "input.resize", f"{kw['resize']!r} is not one of {', '.join(RESIZE_MODES)}")
    return InputSpec(**kw)


def _sha(source: str, name: str, where: str, sha: Any) -> None:
    if sha is not None and not (isinstance(sha, str) and len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)):
        raise _fail(source, name, where, f"expected 64 lowercase hex digits, got {sha!r}")


def _files(source: str, name: str, where: str, value: Any) -> tuple[WeightsFile, ...]:
    _typed(source, name, where, value, list)
    known = {f.name for f in fields(WeightsFile)}
    out = []
    for i, row in enumerate(value):
        _typed(source, name, f"{where}[{i}]", row, dict)
        for k in row:
            if k not in known:
                raise _fail(source, name, f"{where}[{i}].{k}", f"unknown key (known: {', '.join(sorted(known))})")
        if not row.get("filename"):
            raise _fail(source, name, f"{where}[{i}].filename", "required")
        _fields_typed(source, name, f"{where}[{i}].", row, _FILE_TYPES)
        _sha(source, name, f"{where}[{i}].sha256", row.get("sha256"))
        out.append(WeightsFile(**row))
    if not out:
        raise _fail(source, name, where, "an empty list (leave 'files' out for a single file)")
    return tuple(out)


_SOURCE_TYPES = {"hub": str, "filename": (str, _NONE), "revision": (str, int), "repo_type": str, "url": str,
                 "torchvision": str}
HEX40 = set("0123456789abcdef")


def _sources(source: str, name: str, where: str, value: Any, multi_file: bool) -> tuple[Source, ...]:
    """`sources:` rows: {hub: ORG/NAME, filename, revision, repo_type}, {url: https://...} or
    {torchvision: Enum.MEMBER}; exactly one kind each."""
    _typed(source, name, where, value, list)
    out: list[Source] = []
    for i, row in enumerate(value):
        here = f"{where}[{i}]"
        _typed(source, name, here, row, dict)
        kinds = [k for k in SOURCE_KINDS if k in row]
        if len(kinds) != 1:
            raise _fail(source, name, here, f"give exactly one of {', '.join(SOURCE_KINDS)} (got {sorted(row)})")
        allowed = {"hub": {"hub", "filename", "revision", "repo_type"}, "url": {"url"},
                   "torchvision": {"torchvision"}}[kinds[0]]
        for k in row:
            if k not in allowed:
                raise _fail(source, name, f"{here}.{k}", f"unknown key for a {kinds[0]} source "
                                                          f"(known: {', '.join(sorted(allowed))})")
        _fields_typed(source, name, f"{here}.", row, _SOURCE_TYPES)
        if kinds[0] == "hub":
            revision = str(row.get("revision", ""))
            if len(revision) != 40 or not set(revision) <= HEX40:
                raise _fail(source, name, f"{here}.revision", f"a 40-hex commit is required, got {revision!r}")
            if row.get("repo_type", "model") not in REPO_TYPES:
                raise _fail(source, name, f"{here}.repo_type", f"{row['repo_type']!r} is not one of {', '.join(REPO_TYPES)}")
            if row.get("filename") is None and not multi_file:
                raise _fail(source, name, f"{here}.filename", "required")
            out.append(HubSource(row["hub"], row.get("filename"), revision, row.get("repo_type", "model")))
        elif kinds[0] == "url":
            if not row["url"].startswith("https://"):
                raise _fail(source, name, f"{here}.url", f"an https:// URL is required, got {row['url']!r}")
            out.append(UrlSource(row["url"]))
        else:
            enum, _, member = row["torchvision"].partition(".")
            if not (enum.endswith("_Weights") and member):
                raise _fail(source, name, f"{here}.torchvision", "expected a weights enum member such as "
                                                                 f"'ResNet50_Weights.IMAGENET1K_V1', got {row['torchvision']!r}")
            out.append(TorchvisionSource(row["torchvision"]))
    return tuple(out)


def _weights(source: str, name: str, value: Any) -> tuple[WeightsSpec, ...]:
    _typed(source, name, "weights", value, list)
    known = {f.name for f in fields(WeightsSpec)}
    out = []
    for i, row in enumerate(value):
        where = f"weights[{i}]"
        _typed(source, name, where, row, dict)
        for k in row:
            if k not in known:
                raise _fail(source, name, f"{where}.{k}", f"unknown key (known: {', '.join(sorted(known))})")
        if "tag" not in row:
            raise _fail(source, name, f"{where}.tag", "required")
        _fields_typed(source, name, f"{where}.", row, _WEIGHTS_TYPES)
        kw = dict(row)
        _sha(source, name, f"{where}.sha256", kw.get("sha256"))
        if kw.get("repo_type", "model") not in REPO_TYPES:
            raise _fail(source, name, f"{where}.repo_type", f"{kw['repo_type']!r} is not one of {', '.join(REPO_TYPES)}")
        if "files" in kw:
            kw["files"] = _files(source, name, f"{where}.files", kw["files"])
        if "sources" in kw:
            kw["sources"] = _sources(source, name, f"{where}.sources", kw["sources"], "files" in kw)
        if kw.get("repo_id") and not kw.get("filename") and not kw.get("files"):
            raise _fail(source, name, f"{where}.filename", "required when repo_id is given (or a files list)")
        if "metrics" in kw:
            kw["metrics"] = _metrics(source, name, f"{where}.metrics", kw["metrics"])
        if "revision" in kw:
            kw["revision"] = str(kw["revision"])
        out.append(WeightsSpec(**kw))
    tags = [w.tag for w in out]
    if len(set(tags)) != len(tags):
        raise _fail(source, name, "weights", f"duplicate tags in {tags}")
    if sum(w.default for w in out) > 1:
        raise _fail(source, name, "weights", "more than one weights entry has default: true")
    return tuple(out)


def spec_from_dict(row: Any, source: str, builder: str | Callable[..., Any] | None = None) -> ModelSpec:
    """Validate one registry row and build its ModelSpec; errors name the file, model and field."""
    if not isinstance(row, dict):
        raise SpecError(f"{source}: each entry must be a mapping, got {type(row).__name__}")
    name = str(row.get("name", "<unnamed>"))
    for key in _REQUIRED:
        if key not in row:
            raise _fail(source, name, key, "required")
    for key in row:
        if key not in _MODEL_KEYS:
            raise _fail(source, name, key, f"unknown key (known: {', '.join(sorted(_MODEL_KEYS))})")
    _typed(source, name, "name", row["name"], str)
    if name != name.lower() or not name or any(c.isspace() for c in name) or "." in name:
        raise _fail(source, name, "name", "must be lowercase with no spaces or dots ('.' separates weight tags)")
    _fields_typed(source, name, "", row, _MODEL_TYPES)  # that the task exists is checked on registration
    kw: dict[str, Any] = dict(row)
    kw["builder"] = row.get("builder", builder)
    if not kw["builder"]:
        raise _fail(source, name, "builder", "required (a 'module:function' string or a callable)")
    if isinstance(kw["builder"], str) and ":" not in kw["builder"]:
        raise _fail(source, name, "builder", f"expected 'module:function', got {kw['builder']!r}")
    if "paper" in row:
        p = _typed(source, name, "paper", row["paper"], dict)
        _fields_typed(source, name, "paper.", p, _PAPER_TYPES)
        try:
            kw["paper"] = Paper(**p)
        except TypeError as e:
            raise _fail(source, name, "paper", f"{e} (keys: title, year, url)") from None
    if "input" in row:
        kw["input"] = _input(source, name, row["input"])
    if "metrics" in row:
        kw["metrics"] = _metrics(source, name, "metrics", row["metrics"])
    if "weights" in row:
        kw["weights"] = _weights(source, name, row["weights"])
    if row.get("num_params") is not None:  # a count: an int in JSON, never 11689512.0
        kw["num_params"] = int(_typed(source, name, "num_params", row["num_params"], (int, float)))
    if row.get("gmacs") is not None:
        kw["gmacs"] = float(_typed(source, name, "gmacs", row["gmacs"], (int, float)))
    if "options" in row:
        for key in _typed(source, name, "options", row["options"], dict):
            _typed(source, name, f"options.{key}", key, str)  # they become builder keyword arguments
    kw["source"] = source
    return ModelSpec(**kw)
