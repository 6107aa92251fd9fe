"""`zoo publish NAME --repo-id ORG/NAME`: a model's cached weights as a Hub repository the zoo can pin.

The folder holds the safetensors file, a model card (front matter the Hub reads: library, tags, license,
pipeline tag; a body from the spec), a sha256 manifest and the registry row a plugin author pastes. Upload is
huggingface_hub's create_repo + upload_folder; the commit id it returns is the revision to pin. `dry_run`
writes the folder and touches no network.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.errors import (
    ArgumentError,
    InputError,
    OfflineError,
    SpecError,
    WeightsNotFoundError,
    ZooError,
    first_line,
)

# Licence identifiers the Hub accepts in front matter; anything else is published as "other" with its name.
HUB_LICENSES = {"apache-2.0", "mit", "bsd-3-clause", "bsd-2-clause", "cc-by-4.0", "cc-by-nc-4.0", "cc0-1.0",
                "gpl-3.0", "agpl-3.0", "openrail", "unlicense", "cc-by-sa-4.0", "cc-by-nc-sa-4.0"}
WEIGHTS_NAME = "model.safetensors"
# every file publish writes into its folder: the only ones it may overwrite (the folder is uploaded whole)
PUBLISH_FILES = (WEIGHTS_NAME, "README.md", "SHA256SUMS", "registry-row.yaml")


@dataclass
class Published:
    folder: Path
    repo_id: str
    sha256: str
    size: int
    revision: str | None = None  # the Hub commit id (None on a dry run)
    files: dict[str, str] = field(default_factory=dict)  # file -> sha256

    def registry_row(self, tag: str) -> dict[str, Any]:
        return {"tag": tag, "default": True, "repo_id": self.repo_id, "filename": WEIGHTS_NAME,
                "revision": self.revision or "REVISION (printed by zoo publish after the upload)",
                "sha256": self.sha256, "size": self.size, "format": "safetensors"}


def publish(name: str, repo_id: str, dry_run: bool = False, private: bool = False, bench: str | Path | None = None,
            out: str | Path | None = None, token: str | None = None) -> Published:
    """Write the repository folder for `name` (its cached weights) and upload it unless `dry_run`."""
    import yaml

    from zoo.fsutil import atomic_path, make_out_dir, sha256_file, write_text_atomic
    from zoo.plugin_manager import default_registry
    from zoo.resolve import resolve_weights

    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise ArgumentError("repo_id", f"{{}} must be ORG/NAME, got '{repo_id}'")
    resolved = default_registry().resolve(name)
    spec = resolved.spec
    source = resolve_weights(resolved, download=False)
    if source.path is None:
        raise WeightsNotFoundError(f"{spec.name}: no weights in the cache to publish; bring them first with "
                                   f"'zoo import {spec.name} FILE'")
    if source.kind == "cache":  # never publish a cached file that no longer matches its lock
        from zoo.cache import check_cached

        check_cached(source.path, spec.name, source.entry.tag)
    report = _read_bench(bench, spec.name) if bench is not None else None
    folder = Path(out) if out is not None else source.path.parent / "publish"
    _check_folder(folder, spec.name)
    token = token if dry_run else _token(token)  # before writing anything: no partial repo
    if out is not None:
        make_out_dir(folder, "--out")
    else:
        folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / WEIGHTS_NAME) as tmp:  # every file whole or absent: the folder is uploaded as it is
        shutil.copyfile(source.path, tmp)
    digest = sha256_file(folder / WEIGHTS_NAME)
    result = Published(folder, repo_id, digest, (folder / WEIGHTS_NAME).stat().st_size)
    write_text_atomic(folder / "README.md", model_card(spec, repo_id, digest, report))
    (folder / "registry-row.yaml").unlink(missing_ok=True)  # an earlier publish's row: rewritten after the upload
    result.files = {n: sha256_file(folder / n) for n in sorted(("README.md", WEIGHTS_NAME))}
    write_text_atomic(folder / "SHA256SUMS", "".join(f"{h}  {n}\n" for n, h in result.files.items()))
    if not dry_run:
        result.revision = _upload(folder, repo_id, private, token, spec.name)
    row = {"name": spec.name, "weights": [result.registry_row(source.entry.tag)]}
    write_text_atomic(folder / "registry-row.yaml", yaml.safe_dump(row, sort_keys=False))
    return result


def _check_folder(folder: Path, name: str) -> None:
    """The folder is new, empty, or an earlier publish folder of `name` holding only publish's own files (those
    are overwritten); anything else is refused: the folder is uploaded whole and nothing of the user's is removed."""
    import yaml

    if not folder.is_dir():
        return
    present = sorted(p.name for p in folder.iterdir())
    if not present:
        return
    foreign = [n for n in present if n not in PUBLISH_FILES]
    try:
        row = yaml.safe_load((folder / "registry-row.yaml").read_text(encoding="utf-8"))
        earlier = row.get("name") if isinstance(row, dict) else None
    except (OSError, yaml.YAMLError):
        earlier = None
    if foreign or earlier != name:
        what = f"holds {', '.join(foreign[:3])}{', ...' if len(foreign) > 3 else ''}" if foreign else \
            f"is not an earlier publish folder of {name}"
        raise ArgumentError("out", f"{{}} {folder}: {what}; publish writes (and uploads) a folder of its own: give a "
                            "new or empty folder")


def _read_bench(path: str | Path, name: str) -> Any:
    from zoo.bench.report import BenchReport

    try:
        report = BenchReport.from_json(Path(path))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"{path}: not a bench report written by 'zoo bench --json' ({e})") from None
    if not any(r.model == name and r.ok for r in report.rows):
        models = sorted({r.model for r in report.rows}) or ["none"]
        raise ArgumentError("bench", f"{{}} {path}: no successful rows for {name} (the report has {', '.join(models)}); "
                         f"run 'zoo bench {name} --json FILE'")
    return report


def _token(token: str | None) -> str:
    from huggingface_hub import get_token

    token = token or get_token()
    if not token:
        raise ZooError("no Hugging Face token: set HF_TOKEN (a write token) or run 'hf auth login'; "
                       "or use --dry-run to write the folder only")
    return token


def _upload(folder: Path, repo_id: str, private: bool, token: str, name: str) -> str:
    """create_repo + upload_folder; returns the new commit id. Offline fails before any call."""
    from zoo.hub import _endpoint, _reachable
    from zoo.settings import is_offline

    if is_offline() or not _reachable(_endpoint()):
        raise OfflineError(f"cannot reach {_endpoint()} to publish {name}; nothing was uploaded "
                           "(try --dry-run to write the folder)")
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        info = api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="model",
                                 commit_message=f"cvzoo: publish {name}")
    except Exception as e:
        raise ZooError(f"upload of {name} to {repo_id} failed: {first_line(e)}") from None
    return str(getattr(info, "oid", "") or "")


def model_card(spec: Any, repo_id: str, sha256: str, report: Any = None, registry: Any = None) -> str:
    """README.md for the Hub: YAML front matter (the pipeline tag is the spec's Task's `hub_tag`), then what the
    spec says, then how to load it."""
    import yaml

    from zoo.plugin_manager import default_registry

    license_id = spec.license.strip().lower()
    front: dict[str, Any] = {"library_name": "cvzoo", "tags": ["cvzoo", spec.task, spec.family, "safetensors"],
                             "license": license_id if license_id in HUB_LICENSES else "other"}
    if front["license"] == "other":
        front["license_name"] = spec.license or "unknown"
    try:
        hub_tag = (registry or default_registry()).task(spec.task).hub_tag
    except SpecError:  # a task the registry lacks: no tag
        hub_tag = None
    if hub_tag:
        front["pipeline_tag"] = hub_tag
    lines = ["---", yaml.safe_dump(front, sort_keys=False).strip(), "---", "", f"# {spec.name}", "",
             spec.description or "", "", f"- task: {spec.task}"]
    if spec.paper is not None:
        lines.append(f"- paper: {spec.paper.title} ({spec.paper.year}) {spec.paper.url}".rstrip())
    if spec.num_params:
        lines.append(f"- parameters: {int(spec.num_params):,}")
    if spec.gmacs:
        lines.append(f"- GMACs at {spec.input.size[0]}x{spec.input.size[1]}: {spec.gmacs:g}")
    if spec.categories:
        lines.append(f"- labels: {spec.categories}")
    lines.append(f"- weights: `{WEIGHTS_NAME}`, sha256 `{sha256}`")
    if spec.metrics:
        lines += ["", "## Published metrics", "", "| dataset | metric | value |", "|---|---|---|"]
        lines += [f"| {ds} | {m} | {v:g} |" for ds, ms in spec.metrics.items() for m, v in ms.items()]
        if spec.metrics_source:
            lines.append(f"\nSource: {spec.metrics_source}")
    if report is not None:
        lines += ["", "## Benchmark (zoo bench)", "", "| kind | batch | device | precision | p50 ms | images/s |",
                  "|---|---|---|---|---|---|"]
        for r in report.rows:
            if r.model == spec.name and r.ok:
                lines.append(f"| {r.kind} | {r.batch_size} | {r.device} | {r.precision} | {r.p50_ms:.2f} | "
                             f"{r.throughput:.1f} |")
    lines += ["", "## Use with cvzoo", "", "```python", "import zoo", f'model = zoo.load("{spec.name}")',
              'result = model.predict("image.jpg")' if spec.task != "generation" else "result = model.predict(...)",
              "```", "", f"Pin it in a plugin's registry row with `repo_id: {repo_id}`, the revision `zoo publish` "
              "printed and the sha256 above.", ""]
    return "\n".join(lines)
