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

    reg = default_registry()
    names = reg.list(list(patterns) or None, list(exclude) or None, task, family, license_, pretrained)
    specs = [reg.get(n) for n in names]
    if as_json:
        emit_json([{"name": s.name, "family": s.family, "task": s.task, "pretrained": s.pretrained,
                    "cached": [w.tag for w in s.weights if cached_weights(s, w)],
                    "tags": [w.tag for w in s.weights], "num_params": s.num_params, "gmacs": s.gmacs,
                    "license": s.license} for s in specs])
        return
    rows = []
    for s in specs:
        cached = [w.tag for w in s.weights if cached_weights(s, w)]
        if cached:
            weights = "cached: " + ",".join(cached)
        elif s.pretrained:
            weights = "hub"
        elif s.weights:
            weights = "not on the Hub (see zoo info)"
        else:
            weights = "no pretrained weights"
        rows.append([s.name, s.family, s.task, human_count(s.num_params), f"{s.gmacs:g}" if s.gmacs else "", weights])
    table(plural(len(rows), "model"), ["name", "family", "task", "params", "GMACs", "weights"], rows)


@click.command("info")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="one JSON document on stdout")
def info_cmd(name: str, as_json: bool) -> None:
    """Everything the zoo knows about NAME (or NAME.TAG)."""
    from zoo.cache import cached_weights
    from zoo.plugin_manager import default_registry

    resolved = default_registry().resolve(name)
    spec = resolved.spec
    if as_json:
        data = spec.to_dict()
        data["cached"] = [w.tag for w in spec.weights if cached_weights(spec, w)]
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
    for w in spec.weights:
        kind = "" if w.repo_type == "model" else f"{w.repo_type}s/"
        where = f"{kind}{w.repo_id}/{w.filename}@{w.revision}" if w.obtainable else "not on the Hub (zoo import FILE)"
        if w.sha256:
            pin = f"sha256 {w.sha256[:16]}…"
        elif w.obtainable:
            pin = "sha256 from the Hub's LFS metadata (recorded on download)"
        else:
            pin = "hash recorded locally on import"
        state = "cached" if cached_weights(spec, w) else "not cached"
        default = " (default)" if w is spec.default_weights() else ""
        desc = f" — {w.description}" if w.description else ""
        rows.append([f"weights {w.tag}{default}", f"{where} [{w.format}] {pin}, {state}{desc}"])
    from zoo.settings import verify_mode

    if verify_mode() == "never":
        rows.append(["verification", "OFF (ZOO_VERIFY=never): cached weights are loaded without checking their sha256"])
    table(None, ["field", "value"], rows)
