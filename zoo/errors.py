"""Error types the CLI turns into one-line messages and exit codes."""

from __future__ import annotations

import errno
import os
from pathlib import Path


class ZooError(Exception):
    """Base of every error cvzoo raises on purpose; `exit_code` is what the CLI exits with."""

    exit_code = 1


class SpecError(ZooError):
    """A model spec (registry.yaml row or plugin spec) is malformed."""


class UnknownModelError(ZooError):
    """No model of that name; carries close matches for a did-you-mean."""

    exit_code = 2

    def __init__(self, name: str, suggestions: list[str] | None = None):
        self.name = name
        self.suggestions = suggestions or []
        msg = f"unknown model '{name}'"
        if self.suggestions:
            msg += f"; did you mean {', '.join(repr(s) for s in self.suggestions)}?"
        else:
            msg += "; see 'zoo list'"
        super().__init__(msg)


class UnknownTagError(UnknownModelError):
    """The model exists but has no weights of that tag; names the tags it has."""

    def __init__(self, arch: str, tag: str, tags: list[str]):
        self.arch, self.tag, self.tags = arch, tag, tags
        ZooError.__init__(self, f"{arch} has no weights tagged '{tag}' (its tags: {', '.join(tags) or 'none'}); "
                                f"see 'zoo info {arch}'")
        self.name, self.suggestions = f"{arch}.{tag}", [f"{arch}.{t}" for t in tags]


class DuplicateNameError(ZooError):
    """Two sources (a registry file, a plugin) claim one name of the same kind; the message names both."""

    kind = "name"

    def __init__(self, name: str, first: str, second: str):
        self.name, self.first, self.second = name, first, second
        super().__init__(f"{self.kind} '{name}' is claimed twice: by {first} and by {second}")


class DuplicateModelError(DuplicateNameError):
    kind = "model"


class DuplicateTaskError(DuplicateNameError):
    kind = "task"


class DuplicateLabelSetError(DuplicateNameError):
    kind = "label set"


class DuplicateTrainerError(DuplicateNameError):
    """Two plugins register a trainer for the same model."""

    kind = "trainer for"


class DuplicateConverterError(DuplicateNameError):
    """Two plugins register a converter for the same original format."""

    kind = "converter"


class WeightsError(ZooError):
    """Weights are missing, unobtainable or unusable."""


class WeightsNotFoundError(WeightsError):
    """The weights are not in the cache (and could not be fetched)."""


class WeightsMismatchError(WeightsError):
    """A file's hash, or a state dict's keys/shapes, do not match what was expected."""


class WeightsAccessError(WeightsError):
    """The Hub refused the download (HTTP 401/403: a private or gated repo, or a bad token)."""


class OfflineError(WeightsError):
    """A download was needed while offline; the message names the fixing command."""


class ConversionError(WeightsError):
    """An original checkpoint could not be converted (bad format, truncated, wrong layout)."""


class InputError(ZooError):
    """A user input (image, file, option) cannot be used."""

    exit_code = 2


class WeightsFileNotFoundError(WeightsNotFoundError, InputError):
    """A weights file the user named (`--weights`, `zoo import`) is not there: a typo, exit 2 like any input."""


class ArgumentError(InputError):
    """A library argument out of range, or two contradicting each other. The message names each argument as the
    library calls it (`batch_size`); the CLI shows the flags they came from instead (`--batch-size`): `message`
    holds one `{}` per argument, in the order of `arguments`."""

    def __init__(self, arguments: str | tuple[str, ...], message: str):
        self.arguments = (arguments,) if isinstance(arguments, str) else tuple(arguments)
        self.message = message
        super().__init__(message.format(*self.arguments))

    def named(self, names: dict[str, str] | None = None) -> str:
        """The message with each argument called by its CLI flag: `names` maps arguments whose flag is not the
        default (batch_size -> --batch-size)."""
        names = names or {}
        return self.message.format(*(names.get(a, "--" + a.replace("_", "-")) for a in self.arguments))


def at_least(argument: str, value: int | None, low: int = 1) -> None:
    """Counts (batch sizes, strides, limits) below `low` are refused instead of silently meaning something else."""
    if value is not None and value < low:
        raise ArgumentError(argument, f"{{}} must be at least {low}, got {value}")


class ExportError(ZooError):
    """A network cannot be exported to a format (the op or reason named), or the export disagrees with PyTorch."""


class RuntimeMissingError(ZooError):
    """An inference runtime (onnxruntime, openvino, onnx) is not installed; the message names the pip install."""


class StorageError(ZooError):
    """A cache folder cannot be written (disk full, read-only file system)."""


FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
UNWRITABLE_ERRNOS = (errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR)  # read-only, not ours, not a folder
DISK_ERRNOS = FULL_ERRNOS + UNWRITABLE_ERRNOS


def disk_error(exc: OSError, folder: str | Path, fix: str) -> StorageError | None:
    """A one-line StorageError naming `folder` and the fix when `exc` is a full, read-only or otherwise
    unwritable place, else None."""
    if exc.errno not in DISK_ERRNOS:
        return None
    room = "free some space or " if exc.errno in FULL_ERRNOS else ""
    return StorageError(f"cannot write to {folder}: {os.strerror(exc.errno)}; {room}{fix}")


def first_line(exc: BaseException, with_type: bool = False) -> str:
    """The first non-empty line of an exception's message (its type name when it has none): what the zoo
    shows of errors it did not raise itself (tracebacks stay behind ZOO_DEBUG). `with_type` puts the type
    name first for errors that are not ZooErrors (whose messages are written for users as they are)."""
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    if with_type and not isinstance(exc, ZooError):
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text or type(exc).__name__
