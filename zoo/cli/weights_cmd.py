"""`zoo download`, `zoo import`, `zoo verify`, `zoo cache`, `zoo convert`: the weights cache."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from zoo.cli.output import emit_json, human_bytes, plural, table
from zoo.errors import InputError, ZooError


def _target(name: str):  # -> (spec, weights spec)
    from zoo.plugin_manager import default_registry
    from zoo.resolve import entry_of

    resolved = default_registry().resolve(name)
    return resolved.spec, entry_of(resolved)


def _expected(spec):  # -> the zero-arg callable building spec's state dict (the CLI can build nets)
    from zoo.api import expected_state

    return expected_state(spec)


def _selected(all_: bool, family: str | None, task: str | None) -> list:  # -> [(spec, weights spec)]
    """Every weights entry (all tags) of the models --all / --family / --task select; a model without any
    entry appears once, with the "local" entry, so the summary says what exists for it instead."""
    from zoo.plugin_manager import default_registry
    from zoo.resolve import LOCAL

    reg = default_registry()
    specs = [reg.get(n) for n in reg.list(None, None, task, family)]
    if (family or task) and not specs:
        raise InputError(f"no model matches{' --family ' + family if family else ''}{' --task ' + task if task else ''} "
                         "(see zoo list)")
    return [(s, w) for s in specs for w in (s.weights or (LOCAL,))]


@click.command("download")
@click.argument("names", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="every model's weights (each tag)")
@click.option("--family", help="every model of this family (each tag)")
@click.option("--task", help="every model of this task (each tag)")
@click.option("--force", is_flag=True, help="fetch and convert again even if cached")
@click.option("--json", "as_json", is_flag=True)
def download_cmd(names: tuple[str, ...], all_: bool, family: str | None, task: str | None, force: bool,
                 as_json: bool) -> None:
    """Fetch weights from their sources (Hub, URL, torchvision; tried in order), check sha256, convert, cache.

    HF_ENDPOINT points Hub sources at a mirror, ZOO_URL_MIRROR the URL and torchvision ones
    (https://HOST/PATH is fetched as $ZOO_URL_MIRROR/HOST/PATH, same checksum). A killed download resumes."""
    from zoo.cache import Lock, cached_weights
    from zoo.sources import download

    selecting = all_ or family is not None or task is not None
    if selecting == bool(names):
        raise InputError("give model NAMES, or --all / --family F / --task T (not both)")
    targets: list = _selected(all_, family, task) if selecting else [name for name in names]
    rows, codes = [], [0]
    for target in targets:
        name = target if isinstance(target, str) else f"{target[0].name}.{target[1].tag}"
        try:
            spec, w = _target(target) if isinstance(target, str) else target
            if selecting and not w.obtainable:
                from zoo.sources import what_instead

                rows.append({"model": spec.name, "tag": w.tag, "status": "no source", "path": "", "pinned_by": "",
                             "detail": what_instead(spec, w)})
                continue
            before = cached_weights(spec, w)
            path = download(spec, w, force=force, expected=_expected(spec))
            lock = Lock.read(path.parent)
            status = "cached" if before is not None and not force else "downloaded"
            rows.append({"model": spec.name, "tag": w.tag, "status": status, "path": str(path),
                         "pinned_by": lock.pinned_by if lock else "", "detail": str(path)})
        except ZooError as e:
            codes.append(e.exit_code)
            model, _, tag = name.partition(".")
            rows.append({"model": model, "tag": tag, "status": "failed", "path": "", "pinned_by": "",
                         "detail": str(e), "error": str(e)})
            if not as_json:
                click.echo(f"error: {e}", err=True)
    if as_json:
        emit_json(rows)
    elif selecting:
        counts = ", ".join(f"{sum(r['status'] == s for r in rows)} {s}"
                           for s in ("downloaded", "cached", "failed", "no source") if any(r["status"] == s for r in rows))
        table(f"{plural(len(rows), 'weights entry', 'weights entries')}: {counts}",
              ["model", "tag", "status", "pinned by", "detail"],
              [[r["model"], r["tag"], r["status"], r["pinned_by"], r["detail"]] for r in rows])
    else:
        ok = [r for r in rows if r["status"] != "failed"]
        if ok:
            table(None, ["model", "tag", "status", "pinned by", "path"],
                  [[r["model"], r["tag"], r["status"], r["pinned_by"], r["path"]] for r in ok])
    if max(codes):
        sys.exit(max(codes))  # the worst item's code (unknown model: 2, a failed download: 1)


@click.command("import")
@click.argument("name")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--format", "fmt", help="original format (default: guessed from the file and the model's weights entry)")
@click.option("--force", is_flag=True, help="replace cached weights verified against the registry with this file")
@click.option("--json", "as_json", is_flag=True)
def import_cmd(name: str, file: Path, fmt: str | None, force: bool, as_json: bool) -> None:
    """Bring a local original checkpoint (Darknet .weights, torchvision .pth, safetensors) into the cache."""
    from zoo.convert import converted_from, import_entry

    spec, w = _target(name)
    done = import_entry(spec, w, file, fmt, force=force, expected=_expected(spec))
    path, lock = done.path, done.lock
    if as_json:
        emit_json({"model": spec.name, "tag": w.tag, "path": str(path), "format": lock.original_format,
                   "original_sha256": lock.original_sha256, "pinned_by": lock.pinned_by, "converted": done.converted})
        return
    if not done.converted and lock.original_sha256 == done.original_sha256:
        click.echo(f"{spec.name}.{w.tag} already holds {file} (same sha256, intact): nothing to convert\n  -> {path}")
        return
    if lock.pinned_by in ("registry", "hub-etag") and lock.original != str(file.resolve()):
        how = f"the same tensors as the cached entry, verified ({lock.pinned_by}) from {lock.original}: kept as is"
    elif lock.pinned_by == "registry":
        how = "matches the registry's sha256"
    elif w.sha256 and converted_from(file) == w.sha256:  # the zoo's own converted file, brought back
        how = ("hash recorded locally; the file says the zoo converted it from the registry's original "
               f"(sha256 {w.sha256[:12]}…), which a converted file cannot prove")
    else:
        how = "hash recorded locally (not the registry's file)"
    click.echo(f"imported {file} as {spec.name}.{w.tag} ({lock.original_format}; {how})\n  -> {path}")


@click.command("verify")
@click.argument("names", nargs=-1)
@click.option("--json", "as_json", is_flag=True)
def verify_cmd(names: tuple[str, ...], as_json: bool) -> None:
    """Re-hash cached weights against their lock files and the registry; exit 1 on any mismatch."""
    from zoo.cache import cache_entries, verify
    from zoo.plugin_manager import default_registry
    from zoo.resolve import LOCAL, entry_for_tag

    reg = default_registry()
    targets = []
    if names:
        for n in names:
            r = reg.resolve(n)
            if r.tag_given and r.weights is not None:
                targets.append((r.spec, r.weights))
            else:
                targets.extend((r.spec, w) for w in (r.spec.weights or (LOCAL,)))
    else:
        for entry in cache_entries():
            if entry.model in reg:
                spec = reg.get(entry.model)
                targets.append((spec, entry_for_tag(spec, entry.tag)))
    rows = [verify(s, w) for s, w in targets]
    if names:
        rows = [r for r in rows if not (r.status == "missing" and r.tag == LOCAL.tag)]
    if as_json:
        emit_json([r.__dict__ for r in rows])
    else:
        table(plural(len(rows), "weights entry", "weights entries"), ["model", "tag", "status", "pinned by", "detail"],
              [[r.model, r.tag, r.status, r.pinned_by, r.detail] for r in rows])
    if any(r.status in ("modified", "no-lock") for r in rows) or (names and any(r.status == "missing" for r in rows)):
        sys.exit(1)


@click.group("cache")
def cache_cmd() -> None:
    """Inspect or clean the zoo cache (ZOO_HOME)."""


@cache_cmd.command("path")
def cache_path() -> None:
    """Print the cache folder."""
    from zoo.paths import zoo_home

    click.echo(str(zoo_home()))


@cache_cmd.command("ls")
@click.option("--json", "as_json", is_flag=True)
@click.option("--exports", is_flag=True, help="list the exported artefacts (zoo export, --backend) instead")
def cache_ls(as_json: bool, exports: bool) -> None:
    """List cached weights (or, with --exports, the exported artefacts in ZOO_HOME/exports)."""
    from zoo.runtimes.cache import export_entries, export_extras

    if exports:
        found, extras = export_entries(), export_extras()
        if as_json:
            emit_json([e.__dict__ for e in found] + [{"model": None, "format": None, "precision": None, "weights": None,
                                                      "batch": None, **x.__dict__} for x in extras])
            return
        table(plural(len(found), "cached export"), ["model", "format", "precision", "batch", "weights", "size", "path"],
              [[e.model, e.format, e.precision, e.batch, e.weights, human_bytes(e.size), e.path] for e in found]
              + [["", x.what, "", "", "", human_bytes(x.size), x.path] for x in extras])
        total = sum(e.size for e in found) + sum(x.size for x in extras)
        click.echo(f"{human_bytes(total)} in all; 'zoo cache rm --exports NAME' removes NAME's exports and the "
                   "OpenVINO compiled-model cache", err=True)
        return
    from zoo.cache import cache_entries

    entries = cache_entries()
    if as_json:
        emit_json([e.__dict__ for e in entries])
        return
    table(plural(len(entries), "cached weights entry", "cached weights entries"), ["model", "tag", "size", "from", "path"],
          [[e.model, e.tag, human_bytes(e.size), e.origin, e.path] for e in entries])
    found, extras = export_entries(), export_extras()
    if found or extras:
        total = sum(e.size for e in found) + sum(x.size for x in extras)
        click.echo(f"and {plural(len(found), 'exported artefact')} ({human_bytes(total)} with the runtimes' caches): "
                   "zoo cache ls --exports")


@cache_cmd.command("rm")
@click.argument("names", nargs=-1, required=True)
@click.option("--exports", is_flag=True, help="remove NAME's exported artefacts (ZOO_HOME/exports/NAME) instead")
def cache_rm(names: tuple[str, ...], exports: bool) -> None:
    """Remove cached weights of NAME (every tag) or NAME.TAG: registered names and tags only (or entries
    listed by 'zoo cache ls'; a typo gets a did-you-mean and exit 2); nothing outside ZOO_HOME/weights is
    ever touched. With --exports: NAME's exported artefacts, nothing outside ZOO_HOME/exports."""
    if exports:
        from zoo.runtimes.cache import export_entries, remove_exports

        exported = {e.model for e in export_entries()}
        models = [n if n in exported else _rm_target(n, set())[0] for n in names]  # all checked first
        for n, model in zip(names, models):
            removed = remove_exports(model)
            click.echo(f"removed {', '.join(removed)}" if removed else f"{n}: nothing exported")
        return
    from zoo.cache import cache_entries, cache_remove

    targets = [_rm_target(n, {(e.model, e.tag) for e in cache_entries()}) for n in names]  # all checked first
    for n, (arch, tag) in zip(names, targets):
        removed = cache_remove(arch, tag)
        click.echo(f"removed {', '.join(removed)}" if removed else f"{n}: nothing cached")


def _rm_target(name: str, cached: set[tuple[str, str]]) -> tuple[str, str | None]:
    """(model, tag or None) for `zoo cache rm NAME`: a cached entry as listed, else a registered name or
    NAME.TAG (UnknownModelError / UnknownTagError with did-you-mean otherwise)."""
    from zoo.plugin_manager import default_registry

    arch, _, tag = name.partition(".")
    if (arch, tag) in cached or (not tag and any(m == arch for m, _ in cached)):
        return arch, tag or None
    resolved = default_registry().resolve(name)
    return resolved.spec.name, (resolved.weights.tag if resolved.tag_given and resolved.weights else None)


@click.command("convert")
@click.argument("fmt", metavar="FORMAT")
@click.argument("src", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("dst", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--model", "name", required=True, help="the model whose layout to convert into")
@click.option("--force", is_flag=True, help="overwrite DST if it exists")
def convert_cmd(fmt: str, src: Path, dst: Path, name: str, force: bool) -> None:
    """Convert an original checkpoint to a safetensors file in the zoo's layout for --model."""
    from zoo.convert import convert_file
    from zoo.fsutil import sha256_file
    from zoo.plugin_manager import default_registry
    from zoo.weights import save_safetensors

    spec = default_registry().get(name)
    if dst.exists() and dst.resolve() == src.resolve():
        raise InputError(f"{dst}: is the source file; write the converted weights to another path")
    if dst.is_dir():
        raise InputError(f"{dst}: is a folder; give DST as a file name (e.g. {dst / (src.stem + '.safetensors')})")
    if not force:
        from zoo.fsutil import refuse_existing

        refuse_existing([dst])
    from zoo.convert.formats import check_kind

    check_kind(src, fmt)
    state = convert_file(spec, src, fmt, expected=_expected(spec))
    save_safetensors(state, dst, metadata={"model": spec.name, "original_sha256": sha256_file(src)})
    click.echo(f"wrote {dst} ({len(state)} tensors, {human_bytes(dst.stat().st_size)})")
