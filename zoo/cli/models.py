"""`zoo list` and `zoo info`: read specs only (no torch import)."""

from __future__ import annotations

import click

from zoo.cli.output import emit_json, human_count, plural, table


@click.command("list")
@click.argument("patterns", nargs=-1)
@click.option("--exclude", multiple=True, help="fnmatch pattern to leave out (repeatable)")
@click.option("--task", help="classification, detection, instance-segmentation, keypoints, generation")
@click.option("--family", help="plugin family, e.g. classic, yolo, rcnn")
@click.option("--license", "license_", help="substring of the license")
@click.option("--pretrained", is_flag=True, help="only models with published weights")
@click.option("--json", "as_json", is_flag=True, help="one JSON document on stdout")
def list_cmd(patterns: tuple[str, ...], exclude: tuple[str, ...], task: str | None, family: str | None,
             license_: str | None, pretrained: bool, as_json: bool) -> None:
    """List models, optionally filtered by fnmatch PATTERNS (e.g. 'resnet*')."""
    from zoo.cache import cached_weights
    from zoo.plugin_manager import default_registry
    from zoo.sources import FIRST_USE_TEXT, how_pinned, kinds

    reg = default_registry()
    names = reg.list(list(patterns) or None, list(exclude) or None, task, family, license_, pretrained)
    specs = [reg.get(n) for n in names]
    if as_json:
        models = [{"name": s.name, "family": s.family, "task": s.task, "pretrained": s.pretrained,
                   "cached": [w.tag for w in s.weights if cached_weights(s, w)],
                   "tags": [w.tag for w in s.weights], "num_params": s.num_params, "gmacs": s.gmacs,
                   "license": s.license,
                   "sources": {w.tag: kinds(w) for w in s.weights if w.obtainable},
                   "pinned": {w.tag: how_pinned(w) for w in s.weights if w.obtainable}} for s in specs]
        emit_json(models)  # a list, as before; `sources` empty = no download source
        return
    rows = []
    for s in specs:
        cached = [w.tag for w in s.weights if cached_weights(s, w)]
        w = s.default_weights()
        if cached:
            weights = "cached: " + ",".join(cached)
        elif w is not None and w.obtainable:
            weights = kinds(w) + (f" ({FIRST_USE_TEXT})" if how_pinned(w).startswith(FIRST_USE_TEXT) else "")
        elif s.pretrained:
            weights = "other tags: " + ", ".join(x.tag for x in s.weights if x.obtainable)
        elif s.weights:
            weights = "no download (see zoo info)"
        else:
            weights = "no pretrained weights"
        rows.append([s.name, s.family, s.task, human_count(s.num_params), f"{s.gmacs:g}" if s.gmacs else "", weights])
    table(f"{plural(len(rows), 'model')}, {sum(s.pretrained for s in specs)} with a weights source",
          ["name", "family", "task", "params", "GMACs", "weights"], rows)


@click.command("info")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="one JSON document on stdout")
def info_cmd(name: str, as_json: bool) -> None:
    """Everything the zoo knows about NAME (or NAME.TAG)."""
    from zoo.cache import cached_weights
    from zoo.plugin_manager import default_registry
    from zoo.sources import describe, how_pinned, kinds

    resolved = default_registry().resolve(name)
    spec = resolved.spec
    if as_json:
        data = spec.to_dict()
        data["cached"] = [w.tag for w in spec.weights if cached_weights(spec, w)]
        for w, row in zip(spec.weights, data["weights"]):  # every source with the URLs it fetches (mirrors applied)
            row["resolved_sources"] = describe(w)
            row["pinned_by"] = how_pinned(w)
        from zoo.settings import verify_mode

        data["verify"] = verify_mode()
        emit_json(data)
        return
    inp = spec.input
    rows = [
        ["name", spec.name], ["family", spec.family], ["task", spec.task], ["description", spec.description],
        ["paper", f"{spec.paper.title} ({spec.paper.year}) {spec.paper.url}" if spec.paper else ""],
        ["input", f"{inp.size[0]}x{inp.size[1]}, resize {inp.resize}"
                  + (f" (shorter side {inp.resize_size})" if inp.resize_size else "")
                  + (f", mean {inp.mean} std {inp.std}" if inp.mean else f", scale {inp.scale:.6g}")],
        ["categories", spec.categories or ""], ["params", human_count(spec.num_params)],
        ["GMACs", f"{spec.gmacs:g}" if spec.gmacs else ""],
        ["metrics", "; ".join(f"{ds}: " + ", ".join(f"{k} {v:g}" for k, v in m.items()) for ds, m in spec.metrics.items())
         + (f" (source: {spec.metrics_source})" if spec.metrics_source else "")],
        ["license", spec.license], ["source", spec.source],
    ]
    if spec.notes:
        rows.append(["notes", spec.notes])
    if not spec.weights:
        rows.append(["weights", "no pretrained weights: builds with random init (benchmarks, training)"])
    from zoo.sources import label

    for w in spec.weights:
        where = kinds(w) or "no download source (zoo import FILE)"
        pin = how_pinned(w) or "hash recorded locally on import"
        state = "cached" if cached_weights(spec, w) else "not cached"
        default = " (default)" if w is spec.default_weights() else ""
        desc = f" — {w.description}" if w.description else ""
        rows.append([f"weights {w.tag}{default}", f"{where} [{w.format}], checked by {pin}, {state}{desc}"])
        for i, src in enumerate(w.all_sources, 1):
            rows.append([f"  source {i}", label(src)])
    from zoo.settings import verify_mode

    if verify_mode() == "never":
        rows.append(["verification", "OFF (ZOO_VERIFY=never): cached weights are loaded without checking their sha256"])
    table(None, ["field", "value"], rows)
