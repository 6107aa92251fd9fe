"""Error types the CLI turns into one-line messages and exit codes."""

from __future__ import annotations


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


class DuplicateModelError(ZooError):
    """Two sources claim the same model name."""


class WeightsError(ZooError):
    """Weights are missing, unobtainable or unusable."""


class WeightsNotFoundError(WeightsError):
    """The weights are not in the cache (and could not be fetched)."""


class WeightsMismatchError(WeightsError):
    """A file's hash, or a state dict's keys/shapes, do not match what was expected."""


class OfflineError(WeightsError):
    """A download was needed while offline; the message names the fixing command."""


class ConversionError(WeightsError):
    """An original checkpoint could not be converted (bad format, truncated, wrong layout)."""


class InputError(ZooError):
    """A user input (image, file, option) cannot be used."""

    exit_code = 2
